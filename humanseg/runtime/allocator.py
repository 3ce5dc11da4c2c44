"""Keep frame-sized buffers in the heap between frames (glibc only).

A 720p frame pipeline allocates and frees several 2-4 MB arrays per frame. glibc serves each one
with a fresh mmap() and returns it with munmap(), so every frame pays page faults for ~20 MB of new
pages. Raising the mmap and trim thresholds lets freed buffers be reused: the 720p segment + blur
loop went from 16-18 ms to 12 ms a frame on our 2-core machine (benchmarks/RESULTS.md). The cost
is that up to `threshold` bytes of freed memory may stay with the process, and the setting holds
for the whole process, not just humanseg's arrays. So it is opt-in: `Segmenter(reuse_buffers=True)`
(the `humanseg` command does that for its video, webcam and folder loops), never a side effect of
importing humanseg or of a default `Segmenter()`.
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
_done = False


def is_tuned() -> bool:
    """Whether reuse_large_buffers() has changed this process's allocator."""
    return _done


def reuse_large_buffers(threshold: int = 256 * 1024 * 1024) -> bool:
    """Returns True when the allocator was tuned (Linux with glibc), False elsewhere."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _done = bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * threshold))
    return _done
