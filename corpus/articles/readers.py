"""Find article files and turn each into raw articles (text + metadata), per format."""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from corpus.articles import metadata
from corpus.articles.clean import clean_article, is_prose, same_text, strip_site_suffix
from corpus.articles.decode import decode_bytes
from corpus.articles.files import (
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    SUFFIXES,
    TEXT_SUFFIXES,
    find_articles,
    open_regular,
    source_name,
)
from corpus.errors import ConfigError, InputError
from corpus.text.normalize import normalize

__all__ = ["DEFAULT_MAX_ARTICLE_MB", "HTML_SUFFIXES", "JSONL_SUFFIXES", "PARQUET_SUFFIXES",
           "SUFFIXES", "TEXT_SUFFIXES", "RawArticle", "article_from_record", "article_limit",
           "find_articles", "from_html", "jsonl_articles", "parquet_articles", "read_file",
           "source_name", "too_big"]

DEFAULT_MAX_ARTICLE_MB = 20.0
"""Largest article (a file, or one JSONL line) ingest and split take, in MB (10^6 bytes)."""


@dataclass
class RawArticle:
    """One article as read from its source, already cleaned."""

    source: str
    text: str
    title: str | None = None
    published_at: str | None = None
    tags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    given_id: str | None = None
    raw_sha256: str = ""
    encoding: str = "utf-8"
    line: int | None = None  # for JSONL rows
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (message, hint)


def read_file(path: Path, max_bytes: int | None = None) -> Iterator[RawArticle | InputError]:
    """Read one file; yields articles, and InputErrors for bad JSONL rows (the rest go on).

    Only regular files are opened (a FIFO or device is an InputError, never a wait).
    ``max_bytes`` (see :func:`article_limit`) refuses a bigger file before it is read, and a
    longer JSONL line without reading it whole.
    """
    name = source_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES and suffix not in PARQUET_SUFFIXES:
        raise InputError(
            f"{name}: unsupported file type {suffix or '(none)'}",
            hint="use .txt, .md, .html/.htm, .jsonl or .parquet",
        )
    if suffix in PARQUET_SUFFIXES:
        with open_regular(path) as fh:
            yield from parquet_articles(fh, name, max_bytes)
        return
    with open_regular(path) as fh:
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(fh, name, max_bytes)
            return
        check_size(name, os.fstat(fh.fileno()).st_size, max_bytes)
        try:
            data = fh.read()
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror})",
                             hint="check the file and its storage") from None
    text, encoding = decode_bytes(data, name)
    raw_sha = hashlib.sha256(data).hexdigest()
    if suffix in HTML_SUFFIXES:
        article = from_html(text, name)
    else:
        cleaned = clean_article(normalize(text))
        article = RawArticle(source=name, text=cleaned.text, title=cleaned.title,
                             published_at=cleaned.published_at, tags=cleaned.tags,
                             references=cleaned.references)
    article.raw_sha256, article.encoding = raw_sha, encoding
    yield article


def from_html(html: str, source: str) -> RawArticle:
    """Main text and metadata of an HTML page via trafilatura (scripts/styles never kept)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, include_links=False, favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = getattr(doc, "text", None) or ""
    if not text.strip():
        text = _prose_in_tables(html)
    # Each line of trafilatura's text is one HTML block: a block boundary is a paragraph
    # boundary, so the hard-wrap rule never glues a caption or byline onto the next block.
    text = "\n\n".join(line for line in text.split("\n") if line.strip())
    page_title = _clean_meta(getattr(doc, "title", None))
    title = strip_site_suffix(page_title) if page_title else None
    cleaned = clean_article(normalize(text), detect_title=False, title=title)
    cleaned.text = _without_headline(cleaned.text, [t for t in (title, page_title) if t])
    tags = [t for raw in (getattr(doc, "tags", None) or []) for t in _split_tags(raw)]
    return RawArticle(
        source=source, text=cleaned.text, title=cleaned.title,
        published_at=cleaned.published_at or _clean_meta(getattr(doc, "date", None)),
        tags=cleaned.tags or tags, references=cleaned.references,
    )


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _prose_in_tables(html: str) -> str:
    """The prose cells of a page laid out in ``<table>`` cells (old portals): extraction
    with tables, keeping only cells that read as prose (see ``is_prose``), one per line,
    so the navigation tables around the article stay out (a cell of ``a | b | c | d``
    links is a menu, however long)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, with_metadata=False, include_comments=False, include_tables=True,
        include_images=False, include_links=False, favor_precision=False)
    cells = (c.replace("\\|", "|").strip()
             for line in (getattr(doc, "text", None) or "").split("\n")
             for c in _CELL_SPLIT.split(line))
    return "\n".join(c for c in cells if c and is_prose(c) and c.count("|") < 3)  # no menus


def _without_headline(text: str, titles: list[str]) -> str:
    """``text`` without its first paragraph when that only repeats the title (pages
    print the headline above the body: it is the title, not a sentence)."""
    first, sep, rest = text.partition("\n\n")
    if sep and any(same_text(first.strip(), t) for t in titles):
        return rest.lstrip("\n")
    return text


def _clean_meta(value: Any) -> str | None:
    if value is None:
        return None
    text = normalize(str(value)).strip()
    return text or None


def _split_tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


def _read_jsonl(fh: BinaryIO, name: str,
                max_bytes: int | None = None) -> Iterator[RawArticle | InputError]:
    """Stream a JSONL file line by line (memory stays flat for any file size).

    JSON text is UTF-8 (RFC 8259); a line that is not is decoded by detection. A line over
    ``max_bytes`` is skipped unread (an InputError naming it).
    """
    for lineno, raw in enumerate(_bounded_lines(fh, max_bytes), start=1):
        if isinstance(raw, int):
            yield too_big(f"{name}:{lineno}", raw, max_bytes or 0,
                          "; the other lines were ingested")
            continue
        if lineno == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            line, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                line, encoding = decode_bytes(raw, where)
            except InputError as exc:
                yield exc
                continue
        try:
            yield from _jsonl_row(line, where, lineno, encoding)
        except InputError as exc:
            yield exc


def jsonl_articles(data: bytes, name: str,
                   max_bytes: int | None = None) -> Iterator[RawArticle | InputError]:
    """The articles of a whole JSONL file held in memory (a cluster worker's read), as
    :func:`read_file` yields them for a file on disk."""
    yield from _read_jsonl(io.BytesIO(data), name, max_bytes)


def parquet_articles(source: bytes | BinaryIO, name: str,
                     max_bytes: int | None = None) -> Iterator[RawArticle | InputError]:
    """The articles of a Parquet file of document records (columns as JSONL objects have:
    ``text`` or ``html``, optional ``id``, ``title``, ``url``, ``tags``, ``published_at``),
    read in row batches; each row is named ``name:N`` (1-based)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = ("id", "title", "text", "html", "url", "tags", "published_at")
    try:
        pf = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else source)
        # (a file object: open_regular made sure it is a regular file, never a FIFO)
        columns = [c for c in wanted if c in pf.schema_arrow.names]
        if "text" not in columns and "html" not in columns:
            raise InputError(f"{name}: no \"text\" or \"html\" column",
                             hint="document records need the article body as \"text\" "
                                  "(or \"html\")")
        lineno = 0
        for batch in pf.iter_batches(batch_size=256, columns=columns):
            for row in batch.to_pylist():
                lineno += 1
                where = f"{name}:{lineno}"
                body = row.get("text") if isinstance(row.get("text"), str) else row.get("html")
                if max_bytes is not None and isinstance(body, str) \
                        and len(body) * 4 > max_bytes:
                    size = len(body.encode("utf-8", "surrogatepass"))
                    if size > max_bytes:
                        yield too_big(where, size, max_bytes, "; the other rows were ingested")
                        continue
                try:
                    article = article_from_record(row, where)
                except InputError as exc:
                    yield exc
                    continue
                article.raw_sha256 = hashlib.sha256(json.dumps(
                    row, ensure_ascii=False, sort_keys=True, default=str)
                    .encode("utf-8", "surrogatepass")).hexdigest()
                article.line = lineno
                yield article
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{name}: not a readable Parquet file ({exc})",
                         hint="check the file; write document records as Parquet or JSONL"
                         ) from None


# --------------------------------------------------------------------------- size limit


def article_limit(max_article_mb: float | None) -> int | None:
    """``max_article_mb`` as bytes (None: no limit); a ConfigError unless positive."""
    if max_article_mb is None:
        return None
    if not (math.isfinite(max_article_mb) and max_article_mb > 0):
        raise ConfigError(f"--max-article-mb must be a positive number of MB, got "
                          f"{max_article_mb}", hint=f"pass e.g. --max-article-mb "
                          f"{DEFAULT_MAX_ARTICLE_MB:g}")
    return max(1, int(max_article_mb * 1_000_000))


def too_big(where: str, size: int, max_bytes: int, more: str = "") -> InputError:
    """The one-line refusal of an article of ``size`` bytes over ``max_bytes``."""
    return InputError(f"{where}: {size / 1e6:,.1f} MB is over the {max_bytes / 1e6:g} MB "
                      "limit for one article; not ingested",
                      hint=f"split it into smaller articles, or raise --max-article-mb{more}")


def check_size(where: str, size: int, max_bytes: int | None) -> None:
    """Refuse a file of ``size`` bytes over ``max_bytes`` (before reading it)."""
    if max_bytes is not None and size > max_bytes:
        raise too_big(where, size, max_bytes)


def _bounded_lines(fh: BinaryIO, max_bytes: int | None) -> Iterator[bytes | int]:
    """Lines of ``fh``; a line over ``max_bytes`` (newline aside) comes as its length only.

    Such a line is skipped in 1 MB reads, so it is never held in memory whole.
    """
    if max_bytes is None:
        yield from fh
        return
    cap = max_bytes + 3  # room for "\r\n" and one byte too many
    while True:
        line = fh.readline(cap)
        if not line:
            return
        if len(line) == cap and not line.endswith(b"\n"):
            size = len(line)
            while not line.endswith(b"\n"):
                line = fh.readline(1 << 20)
                if not line:
                    break
                size += len(line)
            yield size - (2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0)
        elif len(line.rstrip(b"\r\n")) > max_bytes:
            yield len(line.rstrip(b"\r\n"))
        else:
            yield line


def _jsonl_row(line: str, where: str, lineno: int,
               encoding: str) -> Iterator[RawArticle | InputError]:
    """One JSONL row -> an article, or an InputError naming file:line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")
        yield InputError(f"{where}: malformed JSON at column {exc.colno} ({reason})",
                         hint="fix or remove that line; the other lines were ingested")
        return
    except RecursionError:
        yield InputError(f"{where}: JSON nested too deeply to read; row not ingested",
                         hint="flatten that line: an article row is one JSON object of strings")
        return
    if not isinstance(row, dict):
        yield InputError(f"{where}: expected a JSON object per line",
                         hint='write {"id": ..., "title": ..., "text": ...}')
        return
    article = article_from_record(row, where)
    article.raw_sha256 = hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()
    article.encoding, article.line = encoding, lineno
    yield article


def article_from_record(row: Mapping[str, Any], where: str) -> RawArticle:
    """One document record (a JSONL object, a Parquet row) -> a cleaned article.

    Fields: ``text`` or ``html`` (required), ``id``, ``title``, ``url``, ``tags``,
    ``published_at``; an InputError names ``where`` when the record cannot be an article.
    """
    body, html = row.get("text"), row.get("html")
    if not isinstance(body, str) and not isinstance(html, str):
        raise InputError(f"{where}: no \"text\" or \"html\" string field",
                         hint="add the article body as \"text\" (or \"html\")")
    given_id = metadata.article_id(row.get("id"), where)  # InputError: the row is rejected
    warnings: list[tuple[str, str]] = []
    title = metadata.title(row.get("title"), where, warnings)
    if isinstance(body, str):
        cleaned = clean_article(normalize(body), detect_title=False, title=title)
        article = RawArticle(source=where, text=cleaned.text, title=cleaned.title,
                             published_at=cleaned.published_at, tags=cleaned.tags,
                             references=cleaned.references)
    else:
        article = from_html(str(html), where)
        article.title = title or article.title
    tags = metadata.tags(row.get("tags"), where, warnings)
    if tags is not None:
        article.tags = tags
    article.published_at = (metadata.published_at(row.get("published_at"), where, warnings)
                            or article.published_at)
    article.source = metadata.url(row.get("url"), where, warnings) or where
    article.given_id = given_id
    article.warnings = warnings
    return article
