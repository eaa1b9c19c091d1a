"""Element-wise work done block by block, so that it runs in the cache.

A pass of NumPy over a whole array reads it from memory and writes it back. Work made of many
passes — Adam's twelve, the error function's two dozen — over arrays of a megabyte or more
streams every array through memory again at each pass: the arithmetic waits for the memory.
Done on one block at a time, the same passes find the block's arrays still in the cache from
the pass before. GELU and Adam go by blocks of elements; batch norm and pooling by groups of
whole channels (a channel's statistics, or windows, need only its own values). The values
are the same, bit for bit: each element meets the same operations in the same order::

    for block in cache_blocks(values.size):
        update(values[block], gradient[block])   # the passes, on one block of each array
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BLOCK_SIZE = 262_144
"""The length of a block, 1 MiB of float32: the five or six arrays a pass touches (5-6 MiB of
blocks) stay together in the last-level cache, and each NumPy call has enough work that its
fixed cost hardly counts. The best size depends on the processor's caches, and
``benchmarks/bench_blocks.py`` measures it. On a 2-core AMD EPYC (1 MiB of L2 a core, 32 MiB
of L3 shared) this size beat L2-sized blocks of 32,768 (Adam's step 7-19 % faster over five
runs, GELU's 3-13 % in nine of ten); whole arrays were as fast or faster up to about a
million elements (Adam on the GPT's 818,241 weights 4-16 %, GELU 2-11 %) but took half as
long again on 6,000,000. On a 2-core Intel Xeon, blocks of 32,768 beat whole arrays (the
GPT's Adam step in 0.64 of the time); that machine never ran 262,144. Any size gives the
same values, bit for bit."""


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
