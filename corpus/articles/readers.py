"""Find article files and turn each into raw articles (text + metadata), per format."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from corpus.articles import metadata
from corpus.articles.clean import clean_article
from corpus.articles.decode import decode_bytes
from corpus.articles.files import (
    HTML_SUFFIXES,
    JSONL_SUFFIXES,
    SUFFIXES,
    TEXT_SUFFIXES,
    find_articles,
    open_regular,
    source_name,
)
from corpus.errors import InputError
from corpus.text.normalize import normalize

__all__ = ["HTML_SUFFIXES", "JSONL_SUFFIXES", "SUFFIXES", "TEXT_SUFFIXES", "RawArticle",
           "find_articles", "from_html", "read_file", "source_name"]


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


def read_file(path: Path) -> Iterator[RawArticle | InputError]:
    """Read one file; yields articles, and InputErrors for bad JSONL rows (the rest go on).

    Only regular files are opened (a FIFO or device is an InputError, never a wait).
    """
    name = source_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{name}: unsupported file type {suffix or '(none)'}",
            hint="use .txt, .md, .html/.htm or .jsonl",
        )
    with open_regular(path) as fh:
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(fh, name)
            return
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
    cleaned = clean_article(normalize(text), detect_title=False,
                            title=_clean_meta(getattr(doc, "title", None)))
    tags = [t for raw in (getattr(doc, "tags", None) or []) for t in _split_tags(raw)]
    return RawArticle(
        source=source, text=cleaned.text, title=cleaned.title,
        published_at=cleaned.published_at or _clean_meta(getattr(doc, "date", None)),
        tags=cleaned.tags or tags, references=cleaned.references,
    )


def _clean_meta(value: Any) -> str | None:
    if value is None:
        return None
    text = normalize(str(value)).strip()
    return text or None


def _split_tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


def _read_jsonl(fh: BinaryIO, name: str) -> Iterator[RawArticle | InputError]:
    """Stream a JSONL file line by line (memory stays flat for any file size).

    JSON text is UTF-8 (RFC 8259); a line that is not is decoded by detection.
    """
    for lineno, raw in enumerate(fh, start=1):
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
    body, html = row.get("text"), row.get("html")
    if not isinstance(body, str) and not isinstance(html, str):
        yield InputError(f"{where}: no \"text\" or \"html\" string field",
                         hint="add the article body as \"text\" (or \"html\")")
        return
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
    article.raw_sha256 = hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()
    article.encoding, article.line = encoding, lineno
    article.warnings = warnings
    yield article
