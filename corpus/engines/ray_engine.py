"""Split (and ingest document collections) on Ray Data: the same pure functions as the
local path, on a Ray cluster.

``ray.data.read_parquet`` reads the articles (a workspace's ``articles.parquet``, or a
folder or file on any filesystem pyarrow reads: ``s3://``, ``gs://``, ``hdfs://``),
``map_batches`` runs :class:`corpus.engines.SplitBatch` on the workers (Arrow batches in,
Arrow batches out, order kept), and the sentences are either streamed back into the
workspace's ``sentences.parquet`` (atomic replace, as the local path writes it) or written
by the workers as a Parquet folder (``output=``).

Ray is optional: ``pip install 'claim-corpus[ray]'``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.articles.ingestion import IngestReport, Problem, admit
from corpus.engines import ARTICLE_COLUMNS, SplitBatch
from corpus.engines.documents import DOCUMENT_SUFFIXES, STAGED_SCHEMA, ArticlesFromFiles
from corpus.errors import ConfigError, InputError
from corpus.extras import require
from corpus.storage.atomic import atomic_path, remove_stale
from corpus.storage.tables import ARTICLE_SCHEMA, SENTENCE_SCHEMA, iter_batches
from corpus.workspace import Workspace

__all__ = ["ingest_documents", "ray_dataset", "ray_sentences", "split_to_folder",
           "start_ray"]

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
    pieces the articles are cut into (in order) so that tasks can run side by side. A
    single file (a workspace's ``articles.parquet``) is read by ``blocks`` read tasks of
    consecutive row groups (``corpus.engines.row_groups``), each on a worker, with no barrier before
    the split; a folder, or a file of one row group, is read by ``read_parquet`` (a block
    per file) and repartitioned into ``blocks`` when given (None: Ray's own choice)."""
    start_ray(address, workers)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the sentences in article order
    from corpus.engines.row_groups import RowGroups  # imports ray.data

    source = RowGroups.of_file(str(articles), blocks or 1)
    if source is not None and (len(source.pieces) > 1 or (blocks or 1) == 1):
        ds = ray.data.read_datasource(source, override_num_blocks=len(source.pieces))
    else:
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


# ------------------------------------------------------------------ document collections


class _Keep:
    """Rows of a staged batch that deduplication kept, without the staging columns."""

    def __init__(self, keep: frozenset[tuple[str, int]]) -> None:
        self.keep = keep

    def __call__(self, batch: pa.Table) -> pa.Table:
        paths = batch.column("_path").to_pylist()
        lines = batch.column("_line").to_pylist()
        problems = batch.column("_problem").to_pylist()
        mask = [p is None and (a, b) in self.keep
                for a, b, p in zip(paths, lines, problems, strict=True)]
        return batch.filter(pa.array(mask, pa.bool_()))


def _staged_keys(staged: Any) -> pa.Table:
    cols = ["_path", "_line", "_problem", "_hint", "_severity", "source", "article_id",
            "text_sha256"]
    parts = [t for t in staged.select_columns(cols).iter_batches(batch_format="pyarrow",
                                                                 batch_size=None)]
    if not parts:
        return pa.table({c: pa.array([], STAGED_SCHEMA.field(c).type) for c in cols})
    keys = pa.concat_tables([p.cast(pa.schema([STAGED_SCHEMA.field(c) for c in cols]))
                             for p in parts])
    order = pc.sort_indices(keys, sort_keys=[("_path", "ascending"), ("_line", "ascending"),
                                             ("_problem", "descending")])
    return keys.take(order)


def ingest_documents(sources: Sequence[str], workspace: Workspace | None = None, *,
                     output: str | None = None, max_bytes: int | None = None,
                     address: str | None = None, workers: int | None = None,
                     split_fn: SplitBatch | None = None) -> IngestReport:
    """Ingest JSONL/Parquet document collections on Ray: every file is read and cleaned on
    a worker (:func:`corpus.engines.documents.articles_from_files`, the readers and row
    builder of ``corpus ingest``), then deduplicated across the whole cluster in path and
    line order, first seen wins, against ``workspace``'s articles too (the driver holds
    only the ids and text hashes).

    ``sources``: files or folders, local or on any filesystem pyarrow reads (``s3://``,
    ``gs://``, ``hdfs://``). The kept articles go to ``workspace``'s ``articles.parquet``
    (atomic, under the ingest lock; then split it with ``split(engine="ray")``) or, with
    ``output``, the workers write ``output/articles/`` and ``output/sentences/`` (Parquet
    folders; ``split_fn`` sets the split options)."""
    if (workspace is None) == (output is None):
        raise ConfigError("ingest on Ray needs a workspace or an output folder, not both",
                          hint="pass -w WORKSPACE, or --output URI")
    start_ray(address, workers)
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    now = datetime.now(timezone.utc)
    try:
        files = ray.data.read_binary_files(
            list(sources), include_paths=True,
            file_extensions=[s.lstrip(".") for s in DOCUMENT_SUFFIXES])
        input_files = files.input_files()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot list the document files in {', '.join(sources)} ({exc})",
                         hint="pass folders or files of .jsonl/.parquet document records "
                              "on a filesystem pyarrow reads") from None
    staged = files.map_batches(ArticlesFromFiles(max_bytes, now), batch_format="pyarrow",
                               batch_size=1, concurrency=workers).materialize()
    report = IngestReport(files=len(input_files))
    known_hash: dict[str, str] = {}
    known_ids: dict[str, str] = {}
    lock = workspace.ensure().lock("ingest") if workspace is not None else nullcontext()
    with lock:
        if workspace is not None and workspace.articles.exists():
            for batch in iter_batches(workspace.articles, ["article_id", "text_sha256"], 65536):
                for aid, digest in zip(batch.column(0).to_pylist(),
                                       batch.column(1).to_pylist(), strict=True):
                    known_hash[digest] = aid
                    known_ids[aid] = digest
        existing = len(known_ids)
        keep: set[tuple[str, int]] = set()
        for row in _staged_keys(staged).to_pylist():
            if row["_problem"] is not None:
                report.problems.append(Problem(row["_path"], row["_problem"], row["_hint"],
                                               row["_severity"] or "error"))
            elif admit(row, known_hash, known_ids, report):
                keep.add((row["_path"], row["_line"]))
        report.total_articles = existing + len(report.added)
        kept = (staged.map_batches(_Keep(frozenset(keep)), batch_format="pyarrow",
                                   batch_size=None)
                .sort(["_path", "_line"])
                .select_columns(ARTICLE_SCHEMA.names))
        if output is not None:
            base = output.rstrip("/")
            kept.write_parquet(f"{base}/articles")
            fn = split_fn or SplitBatch.from_options()
            ray.data.read_parquet(f"{base}/articles").map_batches(
                _Limited(fn, max_bytes), batch_format="pyarrow", batch_size=BATCH_ROWS,
                concurrency=workers, zero_copy_batch=True).write_parquet(f"{base}/sentences")
        elif keep:
            assert workspace is not None
            _append_articles(workspace, kept)
    return report


def _append_articles(ws: Workspace, kept: Any) -> None:
    """``articles.parquet`` := its rows + ``kept``'s, replaced atomically."""
    remove_stale(ws.articles)
    with atomic_path(ws.articles) as tmp:
        with pq.ParquetWriter(tmp, ARTICLE_SCHEMA, compression="zstd") as writer:
            if ws.articles.exists():
                for batch in iter_batches(ws.articles, batch_size=256):
                    writer.write_batch(batch)
            for table in kept.iter_batches(batch_format="pyarrow", batch_size=256):
                writer.write_table(table.cast(ARTICLE_SCHEMA))
