"""Element-wise work done block by block, so that it runs in the cache.

A pass of NumPy over a whole array reads it from memory and writes it back. Work made of many
passes — Adam's twelve, the error function's two dozen — over arrays of a megabyte or more
streams every array through memory again at each pass: the arithmetic waits for the memory.
Done on one block at a time, the same passes find the block's arrays still in the core's own
cache (its L2, a megabyte or two) from the pass before. GELU and Adam go by blocks of elements;
batch norm and pooling by groups of whole channels (a channel's statistics, or windows, need
only its own values). The values are the same, bit for bit: each element meets the same
operations in the same order::

    for block in cache_blocks(values.size):
        update(values[block], gradient[block])   # the passes, on one block of each array
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

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


def channel_blocks(*images: np.ndarray, block_size: int | None = None) -> list[slice]:
    """Groups of whole channels (axis 1) of images ``(n, c, ...)``, about ``block_size``
    elements each (default :data:`BLOCK_SIZE`) and at least one channel, when every array holds
    each channel's values in one stretch of memory, as barenet's images laid out
    ``(C, H, W, N)`` do; otherwise one group of all the channels."""
    first = images[0]
    if first.size == 0 or any(array.ndim < 3 or array.strides[0] != array.itemsize for array in images):
        return [slice(None)]
    per_channel = first.size // first.shape[1]
    return list(cache_blocks(first.shape[1], max(1, (block_size or BLOCK_SIZE) // per_channel)))
