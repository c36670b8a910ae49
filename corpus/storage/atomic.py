"""Atomic file writes: temporary file in the same folder, fsync, ``os.replace``.

A crash at any point leaves either the old file or the new one, never a
half-written one. Temporary names start with ``.tmp-`` so readers can ignore
and cleaners can remove leftovers.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.workspace import NOT_WRITABLE, not_writable

TMP_PREFIX = ".tmp-"


def current_umask() -> int:
    """The process umask, read without changing it where /proc tells it (Linux >= 4.7)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask (mkstemp gives 0600)."""
    return 0o666 & ~current_umask()


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename survives power loss (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale(target: Path | str) -> int:
    """Delete temporary files a killed writer of ``target`` left behind; call under its lock."""
    target = Path(target)
    removed = 0
    for leftover in target.parent.glob(f"{TMP_PREFIX}{target.name}.*"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(target: Path | str, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    The file gets ``mode``, or else what a plain ``open()`` would give it (0666 less
    the umask), so other users can read tables the umask lets them read.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
    except OSError as exc:
        if exc.errno in NOT_WRITABLE:
            raise not_writable(target.parent, exc) from None
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, default_file_mode() if mode is None else mode)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:                   # e.g. an immutable (chattr +i) target
            if exc.errno in NOT_WRITABLE:
                raise not_writable(target, exc) from None
            raise
        fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(target: Path | str, data: bytes, *, mode: int | None = None) -> None:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target, mode=mode) as tmp:
        tmp.write_bytes(data)


def write_text(target: Path | str, text: str, *, mode: int | None = None) -> None:
    """Atomically write UTF-8 ``text`` to ``target``."""
    write_bytes(target, text.encode("utf-8"), mode=mode)


def write_json(target: Path | str, obj: Any, *, mode: int | None = None) -> None:
    """Atomically write ``obj`` as pretty, key-sorted UTF-8 JSON."""
    write_text(target, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
               mode=mode)


def write_table(target: Path | str, table: pa.Table, *, row_group_size: int = 65536) -> None:
    """Atomically write a whole Arrow table as Parquet (zstd)."""
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)


def write_batches(
    target: Path | str, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]
) -> int:
    """Atomically stream record batches into one Parquet file, a row group per batch.

    Returns the number of rows written. Memory stays bounded by one batch.
    """
    rows = 0
    with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in batches:
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            if table.num_rows:
                writer.write_table(table.cast(schema) if table.schema != schema else table)
                rows += table.num_rows
    return rows
