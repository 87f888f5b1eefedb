"""The C allocator's settings for a process that projects cascades.

glibc hands a freed block above its mmap threshold (128 KiB at first, raised as large blocks are freed) straight
back to the kernel, and gives heap memory back once more than the trim threshold is free at its top. A
projection's temporaries are megabytes each (one float64 per account and reserve), so most of them were mapped
afresh and faulted in page by page: about 7,700 minor faults per WETH -20% projection at 1,000,000 accounts,
up to 10% of its CPU depending on what the process allocated before. With the threshold fixed at 32 MiB and the
heap trimmed only past 64 MiB free, they are reused from the heap instead; each of the allocator's arenas (one
per thread that allocates, at most eight per CPU) keeps at most that much freed memory.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Blocks of at least this size are mapped on their own (and unmapped when freed).
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Free memory at the top of the heap beyond this is given back to the kernel.
TRIM_THRESHOLD_BYTES = 64 * 2**20
#: glibc's own knobs: when the environment sets any of them, the user's choice stands.
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Apply the thresholds above (Linux with glibc; left alone when the environment sets the allocator's
    knobs). True when they were set."""
    if sys.platform != "linux" or any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # both or neither: mallopt answers 1 when it took the value (musl's stub answers 0)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
