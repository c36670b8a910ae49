"""Ingest: read, decode, clean and deduplicate articles into ``articles.parquet``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.articles.files import PathInputError, is_not_utf8, source_name
from corpus.articles.readers import (
    DEFAULT_MAX_ARTICLE_MB,
    RawArticle,
    article_limit,
    find_articles,
    read_file,
    too_big,
)
from corpus.errors import InputError
from corpus.storage.atomic import atomic_path, remove_stale
from corpus.storage.tables import ARTICLE_SCHEMA, article_id_for, iter_batches, text_sha256
from corpus.text.normalize import detect_lang
from corpus.workspace import Workspace

__all__ = ["IngestReport", "Problem", "admit", "article_row", "ingest"]

LONG_RUN = 10_000
_LONG_RUN_RE = re.compile(r"[^\n。！？!?.；;]{" + str(LONG_RUN) + ",}")


@dataclass(frozen=True)
class Problem:
    """An error (the item was not ingested) or a warning (it was, with a caveat)."""

    source: str
    message: str
    hint: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


@dataclass
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source, kept article_id)
    problems: list[Problem] = field(default_factory=list)
    total_articles: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def ingest(
    paths: Iterable[Path | str],
    workspace: Workspace | Path | str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 256,
    max_article_mb: float | None = DEFAULT_MAX_ARTICLE_MB,
) -> IngestReport:
    """Ingest files and folders into the workspace's ``articles.parquet``.

    Bad files and rows are reported in ``IngestReport.problems`` and skipped;
    everything good is written. The table is replaced atomically. An article (a file,
    or a JSONL line) over ``max_article_mb`` MB is refused unread (None: no limit), as
    is one whose cleaned text is over it in UTF-8.
    """
    max_bytes = article_limit(max_article_mb)  # a bad option fails before any work
    from corpus.errors import check_int

    check_int("batch_size", batch_size, minimum=1)
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    report = IngestReport()
    path_list = [Path(p) for p in paths]
    files: list[Path] = []
    for path in path_list:
        for found in find_articles(path):
            if isinstance(found, PathInputError):
                report.problems.append(Problem(source_name(found.path), found.message,
                                               found.hint))
            else:
                files.append(found)
    report.files = len(files)

    with ws.ensure().lock("ingest"):
        remove_stale(ws.articles)
        known_hash: dict[str, str] = {}
        known_ids: dict[str, str] = {}
        if ws.articles.exists():
            for batch in iter_batches(ws.articles, ["article_id", "text_sha256"], 65536):
                for aid, digest in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(),
                                       strict=True):
                    known_hash[digest] = aid
                    known_ids[aid] = digest
        existing_rows = len(known_ids)

        def new_rows() -> Iterator[dict[str, Any]]:
            now = datetime.now(timezone.utc)
            for done, file in enumerate(files, start=1):
                name = source_name(file)
                if is_not_utf8(file):
                    report.problems.append(Problem(
                        name, f"{name}: the file name is not UTF-8; stored in source with each "
                        "such byte as \\xNN (and each backslash doubled)",
                        "rename the file to UTF-8 to keep the name readable",
                        severity="warning"))
                try:
                    for item in read_file(file, max_bytes):
                        if isinstance(item, InputError):
                            report.problems.append(Problem(name, item.message, item.hint))
                            continue
                        for message, hint in item.warnings:
                            report.problems.append(Problem(name, message, hint, "warning"))
                        row = _accept(item, known_hash, known_ids, report, now, max_bytes)
                        if row is not None:
                            yield row
                except InputError as exc:
                    report.problems.append(Problem(name, exc.message, exc.hint))
                except RecursionError:
                    report.problems.append(Problem(
                        name, f"{name}: nested too deeply to read; not ingested",
                        "flatten its structure, or save its text as .txt"))
                except OSError as exc:
                    report.problems.append(Problem(
                        name, f"{name}: cannot read ({exc.strerror or exc})",
                        "check the file and its storage"))
                if progress:
                    progress(done, len(files))

        rows = new_rows()
        first = next(rows, None)
        if first is None:
            report.total_articles = existing_rows
            return report
        with atomic_path(ws.articles) as tmp:
            with pq.ParquetWriter(tmp, ARTICLE_SCHEMA, compression="zstd") as writer:
                if existing_rows:
                    for batch in iter_batches(ws.articles, batch_size=batch_size):
                        writer.write_batch(batch)
                for chunk in _chunks(_prepend(first, rows), batch_size):
                    writer.write_table(pa.Table.from_pylist(chunk, schema=ARTICLE_SCHEMA))
        report.total_articles = existing_rows + len(report.added)
    return report


def article_row(item: RawArticle, now: datetime, max_bytes: int | None = None
                ) -> tuple[dict[str, Any] | None, list[Problem]]:
    """An article's row of ``articles.parquet`` (None when refused) and its problems,
    before deduplication: the part of ingest a cluster worker runs."""
    where = item.source
    if not item.text.strip():
        return None, [Problem(where, f"{where}: no article text left after cleaning",
                              "check that the file holds an article body")]
    if max_bytes is not None and len(item.text) * 4 > max_bytes:  # else surely below
        size = len(item.text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:  # e.g. a GB18030 file, 2 bytes a character, 3 in UTF-8
            err = too_big(f"{where} (cleaned text)", size, max_bytes)
            return None, [Problem(where, err.message, err.hint)]
    problems: list[Problem] = []   # item.warnings are the reader's: its caller reports them
    long_run = _LONG_RUN_RE.search(item.text)
    if long_run:
        problems.append(Problem(
            where,
            f"{where}: a run of {len(long_run.group()):,} characters has no sentence punctuation;"
            " it will be cut into capped pieces",
            "check the file is prose, not data", severity="warning"))
    return {
        "article_id": article_id_for(item.text, item.given_id), "source": item.source,
        "title": item.title, "published_at": item.published_at, "tags": item.tags,
        "references": item.references, "lang": detect_lang(item.text), "text": item.text,
        "text_sha256": text_sha256(item.text), "raw_sha256": item.raw_sha256,
        "encoding": item.encoding, "ingested_at": now,
    }, problems


def admit(row: dict[str, Any], known_hash: dict[str, str], known_ids: dict[str, str],
          report: IngestReport) -> bool:
    """Deduplicate ``row`` against the articles kept so far (first seen wins): a text seen
    before is a duplicate, an id used by a different text an error; else it is kept."""
    where, digest, article_id = row["source"], row["text_sha256"], row["article_id"]
    if digest in known_hash:
        report.duplicates.append((where, known_hash[digest]))
        return False
    if article_id in known_ids:
        report.problems.append(Problem(
            where, f"{where}: id {article_id!r} is already used by a different article",
            "give this article its own id"))
        return False
    known_hash[digest] = article_id
    known_ids[article_id] = digest
    report.added.append(article_id)
    return True


def _accept(item: RawArticle, known_hash: dict[str, str], known_ids: dict[str, str],
            report: IngestReport, now: datetime,
            max_bytes: int | None = None) -> dict[str, Any] | None:
    row, problems = article_row(item, now, max_bytes)
    errors = [p for p in problems if p.severity == "error"]
    report.problems.extend(errors)
    if row is None or not admit(row, known_hash, known_ids, report):
        return None
    report.problems.extend(p for p in problems if p.severity != "error")
    return row


def _prepend(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    budget = 0
    for row in rows:
        chunk.append(row)
        budget += len(row["text"])
        if len(chunk) >= size or budget >= 32_000_000:
            yield chunk
            chunk, budget = [], 0
    if chunk:
        yield chunk
