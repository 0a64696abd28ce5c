"""Memory for arrays of millions of rows: large arrays in small pages, work in blocks of rows.

numpy asks the kernel for 2 MiB pages (madvise MADV_HUGEPAGE) for every array from 4 MiB on. On a
virtual machine that backs guest memory lazily and hands free memory back to its host, as ours
does, each fresh huge page is a new host allocation: 800 MB of new arrays took 1.2–2.3 s of
kernel time with huge pages and 0.3 s with small ones, and touching them was about 6 times slower
per byte. The engine's large output and work arrays are written once, in full, so `empty` maps
them without the huge-page hint and asks the kernel to fill them in one go (MAP_POPULATE, ~40%
less than one fault per page). Everything per row is computed in `blocks` of `BLOCK` rows, so
temporaries stay below 4 MiB and the allocator recycles them.

    >>> [(b.start, b.stop) for b in blocks(5, size=2)]
    [(0, 2), (2, 4), (4, 5)]
    >>> empty(3, np.int32).shape, empty(1 << 21, np.float64).shape
    ((3,), (2097152,))
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator

import numpy as np

__all__ = ["BLOCK", "blocks", "empty", "small_uint"]

BLOCK = 1 << 18  # rows per block: 2 MiB per 8-byte temporary
_MIN_BYTES = 1 << 22  # below this numpy gives small pages itself
_NO_HUGE_PAGES = getattr(mmap, "MADV_NOHUGEPAGE", None)  # Linux only


def blocks(n: int, size: int | None = None) -> Iterator[slice]:
    """Consecutive slices covering range(n), `size` (default `BLOCK`) rows each."""
    step = BLOCK if size is None else size
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def empty(n: int, dtype: type | np.dtype) -> np.ndarray:
    """An uninitialised 1-d array of `n` items, in small pages when it is large (then zero-filled)."""
    dtype = np.dtype(dtype)
    nbytes = n * dtype.itemsize
    if nbytes < _MIN_BYTES or _NO_HUGE_PAGES is None:
        return np.empty(n, dtype=dtype)
    # anonymous, private, zero-filled, unmapped with the array
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)
    buffer = mmap.mmap(-1, nbytes, flags=flags)
    buffer.madvise(_NO_HUGE_PAGES)
    return np.frombuffer(buffer, dtype=dtype, count=n)


def small_uint(n: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer type for codes 0..n-1 (numpy sorts it by radix)."""
    return np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.uint32
