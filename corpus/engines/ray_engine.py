"""Split on Ray Data: the same pure function as the local pool, on a Ray cluster.

``ray.data.read_parquet`` reads the articles (a workspace's ``articles.parquet``, or a
folder or file on any filesystem pyarrow reads: ``s3://``, ``gs://``, ``hdfs://``),
``map_batches`` runs :class:`corpus.engines.SplitBatch` on the workers (Arrow batches in,
Arrow batches out, order kept), and the sentences are either streamed back into the
workspace's ``sentences.parquet`` (atomic replace, as the local path writes it) or written
by the workers as a Parquet folder (``output=``).

Ray is optional: ``pip install 'claim-corpus[ray]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.engines import ARTICLE_COLUMNS, SplitBatch
from corpus.extras import require
from corpus.storage.tables import SENTENCE_SCHEMA

__all__ = ["ray_dataset", "ray_sentences", "split_to_folder", "start_ray"]

#: Articles per Ray batch: ~250k characters of news, as the local pool's tasks.
BATCH_ROWS = 64


def start_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to the Ray cluster at ``address`` (``ray://host:10001``, ``host:6379`` or
    ``auto``), or start a local one (``num_cpus`` cores) when None; reuse a connection
    that is already open. Returns the ``ray`` module."""
    ray = require("ray")
    require("ray.data")
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address is not None:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    return ray


class _Limited:
    """``fn`` on the articles of a batch at most ``max_bytes`` of UTF-8 (None: all)."""

    def __init__(self, fn: SplitBatch, max_bytes: int | None) -> None:
        self.fn, self.max_bytes = fn, max_bytes

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.max_bytes is not None:
            batch = batch.filter(pc.less_equal(pc.binary_length(batch.column("text")),
                                               self.max_bytes))
        return pa.Table.from_batches([self.fn(batch)], schema=SENTENCE_SCHEMA)


def ray_dataset(articles: str | Path, fn: SplitBatch, *, max_bytes: int | None = None,
                address: str | None = None, workers: int | None = None,
                blocks: int | None = None) -> Any:
    """The Ray Dataset of the sentences of the articles at ``articles`` (a Parquet file or
    folder, local or on any pyarrow filesystem), in article order; lazy, as Ray Data is.

    ``workers``: at most this many concurrent tasks (None: as many as the cluster has
    cores; on a local Ray, it is also the number of cores Ray starts with). ``blocks``:
    pieces the articles are cut into (in order) so that tasks can run side by side; one
    Parquet file is otherwise one block, one task (None: Ray's own choice)."""
    start_ray(address, workers)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the sentences in article order
    ds = ray.data.read_parquet(str(articles)).select_columns(ARTICLE_COLUMNS)
    if blocks is not None:
        ds = ds.repartition(max(1, blocks), shuffle=False)
    return ds.map_batches(_Limited(fn, max_bytes), batch_format="pyarrow",
                          batch_size=BATCH_ROWS, concurrency=workers, zero_copy_batch=True)


def ray_sentences(articles: str | Path, fn: SplitBatch, *, max_bytes: int | None = None,
                  address: str | None = None, workers: int | None = None,
                  blocks: int | None = None) -> Iterator[pa.RecordBatch]:
    """The sentence batches of :func:`ray_dataset`, streamed back to this process."""
    ds = ray_dataset(articles, fn, max_bytes=max_bytes, address=address, workers=workers,
                     blocks=blocks)
    for table in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        yield from table.cast(SENTENCE_SCHEMA).to_batches()


def split_to_folder(articles: str, output: str, fn: SplitBatch | None = None, *,
                    max_bytes: int | None = None, address: str | None = None,
                    workers: int | None = None, blocks: int | None = None) -> None:
    """Articles (Parquet at a URI pyarrow reads) -> a folder of sentence Parquet files at
    ``output``, written by the Ray workers themselves (nothing passes through here)."""
    ds = ray_dataset(articles, fn or SplitBatch.from_options(), max_bytes=max_bytes,
                     address=address, workers=workers, blocks=blocks)
    ds.write_parquet(output)
