"""Split: articles -> ``sentences.parquet`` (segment + rjieba tokens), streamed in batches.

The work on each batch is :func:`corpus.engines.sentences_from_articles` (Arrow batch of
articles -> Arrow batch of sentences), run here in this process or a local process pool;
``corpus.engines.ray_engine`` runs the same function on Ray.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.articles.readers import DEFAULT_MAX_ARTICLE_MB, article_limit
from corpus.duplicates import DEFAULT_THRESHOLD, ClusterReport, check_threshold, cluster_file
from corpus.engines import ARTICLE_COLUMNS, SplitBatch
from corpus.errors import ConfigError, check_int
from corpus.storage.atomic import atomic_path, remove_stale
from corpus.storage.memory import trim_heap
from corpus.storage.tables import (
    SENTENCE_SCHEMA,
    SENTENCE_TABLE_SCHEMA,
    iter_batches,
    open_table,
    sentence_id_for,
)
from corpus.text.segmenter import Sentence
from corpus.text.tokenizer import DEFAULT_ENGINE, Engine
from corpus.workspace import Workspace

# Below this many characters of text, worker start-up costs more than it saves.
PARALLEL_THRESHOLD = 4_000_000
# Characters per task: small enough that a worker's Python objects of one task (~15 MB)
# stay small next to its dictionary (~100 MB), large enough that the per-task cost
# (pickling, a Parquet row group) does not count.
BATCH_CHARS = 250_000
MAX_WORKERS = 256  # `--workers` above this is a typo, not a machine
ENGINES = ("local", "ray")
RAY_BLOCK_CHARS = 1_000_000  # characters of articles per Ray block (one task each)


@dataclass
class SplitReport:
    """What one split run produced."""

    articles: int = 0
    sentences: int = 0
    headings: int = 0
    characters: int = 0
    workers: int = 1
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(article_id, one-line reason)`` of the articles over the size limit (not split)."""
    clusters: ClusterReport = field(default_factory=ClusterReport)
    """The near-duplicate clusters found over all sentences (``corpus.duplicates``)."""
    split_seconds: float = 0.0
    """Wall seconds of segmenting, tokenising and writing the rows (clustering excluded)."""
    dedup_seconds: float = 0.0
    """Wall seconds of clustering: reading the rows back, ``cluster_ids``, the final write."""


def split(
    workspace: Workspace | Path | str | None = None,
    *,
    max_len: int = 300,
    workers: int | None = None,
    userdict: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_article_mb: float | None = DEFAULT_MAX_ARTICLE_MB,
    tokenizer: Engine = DEFAULT_ENGINE,
    engine: str = "local",
    address: str | None = None,
    dedup_threshold: float = DEFAULT_THRESHOLD,
) -> SplitReport:
    """Build ``sentences.parquet`` from ``articles.parquet`` (atomic replace).

    ``workers=None`` uses every core when the corpus is large, one process otherwise.
    ``progress(done_chars, total_chars)`` is called after each batch. An article of the
    table whose text is over ``max_article_mb`` MB of UTF-8 (an older ingest, or one with
    a higher limit) is not split: it is listed in ``SplitReport.skipped`` and the others
    are written (None: no limit). Memory then stays bounded whatever the table holds.
    ``tokenizer``: ``rjieba``, or ``jieba`` (the reference, for comparisons).
    ``engine``: ``local`` (this process, or a process pool of ``workers``) or ``ray`` (Ray
    Data, on the cluster at ``address`` or a local Ray when None; ``workers`` caps its
    concurrent tasks); both run :func:`corpus.engines.sentences_from_articles`.
    Once every article is split, sentences that repeat across articles get a common
    ``cluster_id`` (exact after normalisation, or near: MinHash Jaccard similarity of at
    least ``dedup_threshold``; 1: exact only), see :mod:`corpus.duplicates`.
    """
    check_threshold(dedup_threshold)
    max_bytes = article_limit(max_article_mb)
    check_int("max_len", max_len, minimum=1)
    if workers is not None:
        check_int("workers", workers, minimum=1, maximum=MAX_WORKERS)
    if engine not in ENGINES:
        raise ConfigError(f"unknown split engine {engine!r}", hint="use local or ray")
    if engine == "ray":
        from corpus.extras import require

        require("ray")  # the install hint before any work
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    ws.require(ws.articles, produced_by="corpus ingest PATH")
    meta = open_table(ws.articles).metadata
    report = SplitReport(articles=meta.num_rows)
    total_chars = _scan(ws.articles, max_bytes, report)
    trim_heap()  # the scan's Arrow buffers, an ingest's tables before it
    report.articles -= len(report.skipped)
    if workers is None and engine == "local":
        workers = (os.cpu_count() or 1) if total_chars >= PARALLEL_THRESHOLD else 1
    report.workers = workers or 0
    fn = SplitBatch.from_options(max_len, userdict, tokenizer)
    with ws.lock("split"):
        remove_stale(ws.sentences)
        if engine == "ray":
            from corpus.engines.ray_engine import ray_sentences

            results: Iterator[tuple[pa.RecordBatch, int]] = (
                (b, int(pc.sum(pc.utf8_length(b.column("text"))).as_py() or 0))
                for b in ray_sentences(ws.articles, fn, max_bytes=max_bytes,
                                       address=address, workers=workers,
                                       blocks=-(-total_chars // RAY_BLOCK_CHARS)))
        else:
            results = _results(article_batches(ws.articles, max_bytes), fn, workers or 1)
        _write_sentences(ws, report, total_chars, results, progress, dedup_threshold)
        report.characters = total_chars  # (ray counts sentence characters on the way)
    return report


def _write_sentences(ws: Workspace, report: SplitReport, total_chars: int,
                     results: Iterator[tuple[pa.RecordBatch, int]],
                     progress: Callable[[int, int], None] | None,
                     dedup_threshold: float = DEFAULT_THRESHOLD) -> None:
    """Stream the engine's rows into a raw file (uncompressed, fast), cluster them, then
    write ``sentences.parquet`` (zstd) with ``cluster_id``; one atomic replace."""
    t0 = time.perf_counter()
    with atomic_path(ws.sentences) as tmp:
        # a `.tmp-sentences.parquet.*` name: the next split's remove_stale removes it too
        raw = tmp.with_name(tmp.name + ".raw")
        try:
            _write_raw(raw, report, total_chars, results, progress)
            report.split_seconds = time.perf_counter() - t0
            _add_clusters(raw, tmp, report, dedup_threshold)
            report.dedup_seconds = time.perf_counter() - t0 - report.split_seconds
        finally:
            raw.unlink(missing_ok=True)


def _write_raw(raw: Path, report: SplitReport, total_chars: int,
               results: Iterator[tuple[pa.RecordBatch, int]],
               progress: Callable[[int, int], None] | None) -> None:
    with pq.ParquetWriter(raw, SENTENCE_SCHEMA, compression="none") as writer:
        done = 0
        for n, (table, chars) in enumerate(results, start=1):
            writer.write_batch(table)
            if n % 8 == 0:
                trim_heap(collect=False)
            headings = pc.sum(pc.equal(table.column("kind"), "heading")).as_py() or 0
            report.headings += int(headings)
            report.sentences += table.num_rows - int(headings)
            done += chars
            if progress:
                progress(min(done, total_chars), total_chars)


def _add_clusters(raw: Path, target: Path, report: SplitReport, threshold: float) -> None:
    """Copy ``raw`` into ``target`` row group by row group, adding ``cluster_id``
    (clustered out of core, ``corpus.duplicates.cluster_file``)."""
    found = cluster_file(raw, threshold=threshold)
    report.clusters = found.report
    trim_heap(collect=False)
    at = 0
    with open_table(raw, stream=True) as source, \
            pq.ParquetWriter(target, SENTENCE_TABLE_SCHEMA, compression="zstd") as writer:
        for i in range(source.num_row_groups):
            group = source.read_row_group(i)
            rows = group.num_rows
            writer.write_table(pa.Table.from_arrays(
                [*group.columns, found.ids(at, rows)], schema=SENTENCE_TABLE_SCHEMA))
            at += rows
    trim_heap(collect=False)


def _scan(path: Path, max_bytes: int | None, report: SplitReport) -> int:
    """Characters to split; lists the articles over ``max_bytes`` in ``report.skipped``."""
    total = 0
    for batch in iter_batches(path, ["article_id", "source", "text"], 256):
        text = batch.column(2)
        if max_bytes is not None:
            sizes = pc.binary_length(text)
            over = pc.greater(sizes, max_bytes)
            if pc.any(over).as_py():
                for aid, source, size in zip(batch.column(0).filter(over).to_pylist(),
                                             batch.column(1).filter(over).to_pylist(),
                                             sizes.filter(over).to_pylist(), strict=True):
                    report.skipped.append((aid, (
                        f"article {aid} ({source}): {size / 1e6:,.1f} MB of text is over the "
                        f"{max_bytes / 1e6:g} MB limit for one article; not split (raise "
                        "--max-article-mb to split it)")))
                text = text.filter(pc.invert(over))
        total += int(pc.sum(pc.utf8_length(text)).as_py() or 0)
    return total


def article_batches(path: Path, max_bytes: int | None = None,
                    batch_chars: int = BATCH_CHARS) -> Iterator[pa.Table]:
    """The articles of ``path`` (columns ``ARTICLE_COLUMNS``) in tables of about
    ``batch_chars`` characters; articles over ``max_bytes`` of UTF-8 left out."""
    chunk: list[pa.RecordBatch] = []
    size = 0
    for batch in iter_batches(path, ARTICLE_COLUMNS, 64):
        if max_bytes is not None:  # drop the articles over the limit before Python sees them
            batch = batch.filter(pc.less_equal(pc.binary_length(batch.column(1)), max_bytes))
        chunk.append(batch)
        size += int(pc.sum(pc.utf8_length(batch.column(1))).as_py() or 0)
        if size >= batch_chars:
            yield pa.Table.from_batches(chunk)
            chunk, size = [], 0
    if chunk:
        yield pa.Table.from_batches(chunk)


def run_batch(fn: SplitBatch, articles: pa.Table,
              trim: bool = False) -> tuple[pa.RecordBatch, int]:
    """``fn(articles)`` and the characters it read (a picklable task for the pool, which
    ``trim``s the worker's heap after each task)."""
    out = fn(articles), int(pc.sum(pc.utf8_length(articles.column("text"))).as_py() or 0)
    if trim:
        del articles
        trim_heap(collect=False)
    return out


def _results(jobs: Iterator[pa.Table], fn: SplitBatch,
             workers: int) -> Iterator[tuple[pa.RecordBatch, int]]:
    if workers <= 1:
        for job in jobs:
            yield run_batch(fn, job)
        return
    # Forked workers start with every resident page of this process and count them again
    # in their RSS: give back what an ingest before (same process) freed, and load the
    # dictionary in the workers only. Workers die with this process (a SIGKILL included):
    # see _die_with_parent. Forked workers do not keep the split lock either
    # (corpus.workspace drops it in every child).
    trim_heap()
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        pending: deque[Future[tuple[pa.RecordBatch, int]]] = deque()
        for job in jobs:
            pending.append(pool.submit(run_batch, fn, job, True))
            # Bounded read-ahead keeps memory flat whatever the corpus size.
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_SECONDS = 0.5


def _die_with_parent(parent_pid: int) -> None:
    """Pool initializer: exit as soon as the process that started the pool is gone.

    Left alone, the workers of a killed parent are re-parented to PID 1 and wait for work
    forever. On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``,
    armed before the parent check so no death can slip in between); everywhere, a daemon
    thread also polls ``getppid()`` (it changes when the parent dies), the fallback where
    prctl is unavailable.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="corpus-parent-watch",
                     daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def empty_columns() -> dict[str, list[Any]]:
    """Column lists of the sentence table, to be filled with :func:`append_sentence`."""
    return {name: [] for name in SENTENCE_SCHEMA.names}


def append_sentence(cols: dict[str, list[Any]], article_id: str, s: Sentence, lang: str,
                    tokens: list[str] | None = None, *, article_text: str) -> None:
    """Append one sentence row (without tokens unless given) to ``cols``; ``article_text``
    is the text ``s`` was segmented from (its id hashes the slice, not the folded text)."""
    cols["sentence_id"].append(sentence_id_for(article_id, s.start, s.end,
                                               article_text[s.start:s.end]))
    cols["article_id"].append(article_id)
    cols["para_idx"].append(s.para_idx)
    cols["sent_idx"].append(s.sent_idx)
    cols["start"].append(s.start)
    cols["end"].append(s.end)
    cols["text"].append(s.text)
    cols["kind"].append(s.kind)
    cols["lang"].append(lang)
    if tokens is not None:
        cols["tokens"].append(tokens)
