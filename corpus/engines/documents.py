"""Ingest of document collections as a pure batch function (for Ray Data, Spark, a pool).

:func:`articles_from_files` maps an Arrow batch of whole files (``path``, ``bytes``: JSONL
or Parquet document records) to an Arrow batch of article rows (``ARTICLE_SCHEMA``) plus
what deduplication and the report need: ``_path`` and ``_line`` (the order a local ingest
reads them in) and ``_problem``/``_hint``/``_severity`` (a refused record is a row with
only those set). It runs the same readers and row builder as ``corpus ingest`` on one
machine; deduplication, which needs every article, is left to the caller
(:func:`corpus.engines.ray_engine.ingest_documents` does it across the cluster).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from corpus.articles.files import JSONL_SUFFIXES, PARQUET_SUFFIXES
from corpus.articles.ingestion import Problem, article_row
from corpus.articles.readers import RawArticle, jsonl_articles, parquet_articles
from corpus.errors import InputError
from corpus.storage.tables import ARTICLE_SCHEMA

__all__ = ["DOCUMENT_SUFFIXES", "STAGED_SCHEMA", "ArticlesFromFiles", "articles_from_files"]

DOCUMENT_SUFFIXES = tuple(sorted(JSONL_SUFFIXES | PARQUET_SUFFIXES))
"""File suffixes of document collections (the Ray engine reads these from a folder)."""

STAGED_SCHEMA = pa.schema(
    [pa.field(f.name, f.type) for f in ARTICLE_SCHEMA]      # nullable: problem rows
    + [pa.field("_path", pa.string()), pa.field("_line", pa.int64()),
       pa.field("_problem", pa.string()), pa.field("_hint", pa.string()),
       pa.field("_severity", pa.string())])
"""Article rows before deduplication, with their order and any problem (see module doc)."""


def _items(path: str, data: bytes, max_bytes: int | None) -> Any:
    suffix = PurePosixPath(path).suffix.lower()  # a local path or a URI's path part
    if suffix in PARQUET_SUFFIXES:
        return parquet_articles(data, path, max_bytes)
    if suffix in JSONL_SUFFIXES:
        return jsonl_articles(data, path, max_bytes)
    raise InputError(f"{path}: not a document collection file ({suffix or 'no suffix'})",
                     hint=f"use {' or '.join(DOCUMENT_SUFFIXES)} files")


def articles_from_files(batch: pa.Table | pa.RecordBatch, *, max_bytes: int | None = None,
                        now: datetime | None = None) -> pa.Table:
    """Whole document files (columns ``path``, ``bytes``) -> staged article rows."""
    now = now or datetime.now(timezone.utc)
    rows: list[dict[str, Any]] = []

    def problem(path: str, line: int, p: Problem) -> None:
        rows.append({"_path": path, "_line": line, "_problem": p.message, "_hint": p.hint,
                     "_severity": p.severity})

    for path, data in zip(batch.column("path").to_pylist(), batch.column("bytes").to_pylist(),
                          strict=True):
        line = 0
        try:
            for item in _items(path, data, max_bytes):
                line += 1
                if isinstance(item, InputError):
                    problem(path, line, Problem(path, item.message, item.hint))
                    continue
                assert isinstance(item, RawArticle)
                at = item.line if item.line is not None else line
                for message, hint in item.warnings:
                    problem(path, at, Problem(path, message, hint, "warning"))
                row, problems = article_row(item, now, max_bytes)
                for p in problems:
                    problem(path, at, p)
                if row is not None:
                    rows.append({**row, "_path": path, "_line": at})
        except InputError as exc:
            problem(path, line + 1, Problem(path, exc.message, exc.hint))
        except RecursionError:
            problem(path, line + 1, Problem(path, f"{path}: nested too deeply to read; not "
                                            "ingested", "flatten its structure"))
    return pa.Table.from_pylist(rows, schema=STAGED_SCHEMA)


@dataclass(frozen=True)
class ArticlesFromFiles:
    """:func:`articles_from_files` with its options bound (picklable, for the workers)."""

    max_bytes: int | None = None
    now: datetime | None = None

    def __call__(self, batch: pa.Table) -> pa.Table:
        return articles_from_files(batch, max_bytes=self.max_bytes, now=self.now)
