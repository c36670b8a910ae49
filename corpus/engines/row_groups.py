"""A Parquet file as Ray Data read tasks of consecutive row groups (imports Ray: only
``corpus.engines.ray_engine`` imports it, once Ray is known to be installed)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from ray.data import Datasource
from ray.data.block import BlockMetadata
from ray.data.datasource import ReadTask

from corpus.engines import ARTICLE_COLUMNS


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if "://" in uri:
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, str(path)
    return pafs.LocalFileSystem(), str(Path(uri).resolve())


def _read_row_groups(uri: str, groups: list[int]) -> list[pa.Table]:
    fs, path = _filesystem(uri)
    with fs.open_input_file(path) as handle, pq.ParquetFile(handle, pre_buffer=False) as pf:
        return [pf.read_row_groups(groups, columns=list(ARTICLE_COLUMNS))]


def _balanced(sizes: list[int], pieces: int) -> list[list[int]]:
    """Consecutive runs of the indexes of ``sizes``: ``pieces`` of them (as many as there
    are items when fewer), each close to an equal share of what is left when it starts
    (one large item takes a run of its own; the rest are still cut into the others)."""
    left = max(1, min(pieces, len(sizes)))
    remaining = float(sum(sizes))
    runs: list[list[int]] = []
    run: list[int] = []
    size_of_run = 0.0
    for i, size in enumerate(sizes):
        if run and left > 1 and (len(sizes) - i <= left - 1
                                 or size_of_run + size / 2 > remaining / left):
            runs.append(run)
            remaining -= size_of_run
            left -= 1
            run, size_of_run = [], 0.0
        run.append(i)
        size_of_run += size
    if run:
        runs.append(run)
    return runs


class RowGroups(Datasource):
    """One Parquet file as Ray Data read tasks of consecutive row groups (``pieces``), so
    the articles of one file are read on the workers, side by side, in order. (Ray's
    ``read_parquet`` makes one block of one file; a ``repartition`` after it waits for
    the whole file.)"""

    def __init__(self, uri: str, pieces: list[list[int]], rows: list[int],
                 sizes: list[int]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.uri, self.pieces, self.rows, self.sizes = uri, pieces, rows, sizes

    @classmethod
    def of_file(cls, uri: str, blocks: int) -> RowGroups | None:
        """The read tasks of the file at ``uri`` cut into ``blocks`` (None: not a file)."""
        fs, path = _filesystem(uri)
        if fs.get_file_info(path).type != pafs.FileType.File:
            return None
        if "://" not in uri:
            uri = path  # resolved here: a worker's working directory is not the driver's
        with fs.open_input_file(path) as handle:
            meta = pq.ParquetFile(handle).metadata
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        sizes = [g.total_byte_size for g in groups]
        pieces = _balanced(sizes, blocks)
        return cls(uri, pieces, [sum(groups[i].num_rows for i in p) for p in pieces],
                   [sum(sizes[i] for i in p) for p in pieces])

    def estimate_inmemory_data_size(self) -> int:
        return sum(self.sizes)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[Any]:
        uri = self.uri
        return [ReadTask(functools.partial(_read_row_groups, uri, groups),
                         BlockMetadata(num_rows=rows, size_bytes=int(size), exec_stats=None,
                                       input_files=(uri,)))
                for groups, rows, size in zip(self.pieces, self.rows, self.sizes,
                                              strict=True)]
