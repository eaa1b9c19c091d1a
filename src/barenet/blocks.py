"""Element-wise work done block by block, so that it runs in the cache.

A pass of NumPy over a whole array reads it from memory and writes it back. Work made of many
passes — Adam's twelve, the error function's two dozen — over arrays of a megabyte or more
streams every array through memory again at each pass: the arithmetic waits for the memory.
Done on one block at a time, the same passes find the block's arrays still in the core's own
cache (its L2, a megabyte or two) from the pass before. GELU and Adam go by blocks of elements;
batch norm by groups of whole channels, whose statistics need only their own values. The
values are the same, bit for bit: each element meets the same operations in the same order::

    for block in cache_blocks(values.size):
        update(values[block], gradient[block])   # the passes, on one block of each array
"""

from __future__ import annotations

from collections.abc import Iterator

BLOCK_SIZE = 32_768
"""The length of a block, 128 KiB of float32, so that the five or six arrays a pass touches
fit together in an L2 cache with room to spare, and each NumPy call still has enough work to
hide its overhead (about a microsecond)."""


def cache_blocks(size: int, block_size: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering ``range(size)``, each ``block_size`` long (default
    :data:`BLOCK_SIZE`, read at each call) but the last."""
    block_size = block_size or BLOCK_SIZE
    for start in range(0, size, block_size):
        yield slice(start, min(start + block_size, size))


def items_per_block(item_size: int) -> int:
    """How many whole items of ``item_size`` elements make a block (at least one), for work
    that must keep items together, as batch norm keeps each channel's values."""
    return max(1, BLOCK_SIZE // item_size)
