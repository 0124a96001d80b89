"""Handing freed memory back to the operating system after a large build."""

from __future__ import annotations

import ctypes

import pyarrow as pa


def release_memory() -> None:
    """Hand memory freed by a build back to the OS: Arrow's allocator keeps what Parquet reads
    and conversions used (hundreds of MB on a large run) and glibc keeps freed heap pages."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
