"""Keep freed memory in the process: the training step allocates the same large arrays every
batch, and handing them back to the operating system costs more than the arithmetic.

A training step makes many temporaries of a megabyte or more (a layer's output, its
gradient, attention scores). glibc's ``malloc`` serves blocks that large with fresh pages
from the kernel, or trims them off its heap when they are freed, so the next step's arrays
start on pages the kernel must zero and map again: a page fault per 4 KiB, on every batch.
:func:`reuse_freed_memory` asks glibc to keep freed blocks for reuse instead. The arithmetic is
unchanged — results are bit for bit the same — and a step of the baby GPT takes about a third
less CPU time. The process keeps the memory it has used at its peak, which it would use
again at the next step anyway.

The ``barenet`` command calls it once at start; call it yourself in a script that trains. On
systems without glibc (macOS, Windows, musl) it does nothing and returns False.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc's <malloc.h>
SETTINGS = {
    M_MMAP_THRESHOLD: 32 << 20,  # blocks below 32 MiB come from the heap, not from fresh pages
    M_TRIM_THRESHOLD: 1 << 30,  # keep up to 1 GiB of freed heap instead of returning it at once
    M_TOP_PAD: 64 << 20,  # grow the heap in steps of 64 MiB
}


def reuse_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory for the next allocations; True if it agreed."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(option, value) == 1 for option, value in SETTINGS.items())
