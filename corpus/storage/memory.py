"""Giving freed memory back to the operating system between the stages of a long run."""

from __future__ import annotations

import ctypes
import gc
import sys

import pyarrow as pa


def trim_heap(collect: bool = True) -> None:
    """Return free heap pages to the OS (Arrow's pool, glibc ``malloc_trim``); with
    ``collect``, after a garbage collection. Buffers of a few MB (pickled batches, Arrow
    columns) come and go; without this the heap keeps their high-water mark."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass
