"""Find article files and turn each into raw articles (text + metadata), per format."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.articles.clean import clean_article
from corpus.articles.decode import decode_bytes
from corpus.errors import InputError
from corpus.text.normalize import normalize

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


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


def discover(paths: list[Path]) -> Iterator[Path]:
    """Yield article files under ``paths`` (files as given, folders recursively, sorted)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in SUFFIXES and not any(
                    part.startswith(".") for part in child.relative_to(path).parts
                ):
                    yield child
        elif path.exists():
            yield path
        else:
            raise InputError(f"{path}: no such file or folder", hint="check the path")


def read_file(path: Path) -> Iterator[RawArticle | InputError]:
    """Read one file; yields articles, and InputErrors for bad JSONL rows (the rest go on)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type {suffix or '(none)'}",
            hint="use .txt, .md, .html/.htm or .jsonl",
        )
    try:
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(path)
            return
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file disappeared before it could be read",
                         hint="check what removed it and run again") from None
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read ({exc.strerror})", hint="check permissions"
        ) from None
    text, encoding = decode_bytes(data, str(path))
    raw_sha = hashlib.sha256(data).hexdigest()
    if suffix in HTML_SUFFIXES:
        article = from_html(text, str(path))
    else:
        cleaned = clean_article(normalize(text))
        article = RawArticle(source=str(path), text=cleaned.text, title=cleaned.title,
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


def _read_jsonl(path: Path) -> Iterator[RawArticle | InputError]:
    """Stream a JSONL file line by line (memory stays flat for any file size).

    JSON text is UTF-8 (RFC 8259); a line that is not is decoded by detection.
    """
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                line, encoding = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                try:
                    line, encoding = decode_bytes(raw, where)
                except InputError as exc:
                    yield exc
                    continue
            yield from _jsonl_row(line, where, lineno, encoding)


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
    if not isinstance(row, dict):
        yield InputError(f"{where}: expected a JSON object per line",
                         hint='write {"id": ..., "title": ..., "text": ...}')
        return
    body, html = row.get("text"), row.get("html")
    if not isinstance(body, str) and not isinstance(html, str):
        yield InputError(f"{where}: no \"text\" or \"html\" string field",
                         hint="add the article body as \"text\" (or \"html\")")
        return
    if isinstance(body, str):
        cleaned = clean_article(normalize(body), detect_title=False,
                                title=_clean_meta(row.get("title")))
        article = RawArticle(source=where, text=cleaned.text, title=cleaned.title,
                             published_at=cleaned.published_at, tags=cleaned.tags,
                             references=cleaned.references)
    else:
        article = from_html(str(html), where)
        article.title = _clean_meta(row.get("title")) or article.title
    tags = row.get("tags")
    if isinstance(tags, str):
        tags = _split_tags(tags)
    if isinstance(tags, list):
        article.tags = [normalize(str(t)) for t in tags if str(t).strip()]
    article.published_at = _clean_meta(row.get("published_at")) or article.published_at
    if isinstance(row.get("url"), str):
        article.source = row["url"]
    article.given_id = _clean_meta(row.get("id"))
    article.raw_sha256 = hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()
    article.encoding, article.line = encoding, lineno
    yield article
