"""Arrow schemas of the workspace tables and streaming readers over them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import WorkspaceError

ARTICLE_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", pa.string()),  # ISO 8601 as given: date or date-time
        pa.field("tags", pa.list_(pa.string())),
        pa.field("references", pa.list_(pa.string())),
        pa.field("lang", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("text_sha256", pa.string(), nullable=False),
        pa.field("raw_sha256", pa.string()),
        pa.field("encoding", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ],
    metadata={"table": "articles", "version": "1"},
)

SENTENCE_SCHEMA = pa.schema(
    [
        pa.field("sentence_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("para_idx", pa.int32()),
        pa.field("sent_idx", pa.int32()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("tokens", pa.list_(pa.string())),
        pa.field("lang", pa.string()),
    ],
    metadata={"table": "sentences", "version": "1"},
)


def text_sha256(text: str) -> str:
    """Hex sha256 of UTF-8 text: the deduplication key of an article."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def article_id_for(text: str, given: str | None = None) -> str:
    """The given id, else ``a`` + 16 hex of the cleaned text's sha256 (stable)."""
    if given is not None and str(given).strip():
        return str(given).strip()
    return "a" + text_sha256(text)[:16]


def sentence_id_for(article_id: str, start: int, end: int, text: str) -> str:
    """Stable id of a sentence: hash of article id, offsets and text."""
    digest = hashlib.sha256(f"{article_id}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()
    return "s" + digest[:20]


def iter_batches(path: Path, columns: list[str] | None = None,
                 batch_size: int = 1024) -> Iterator[pa.RecordBatch]:
    """Stream record batches of a workspace table (bounded memory)."""
    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise WorkspaceError(f"{path} does not exist", hint="run `corpus ingest` first") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise WorkspaceError(f"{path} is not a readable Parquet table: {exc}",
                             hint="restore it from a backup or delete it and re-run") from None
    yield from pf.iter_batches(batch_size=batch_size, columns=columns)


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a whole workspace table (small tables only)."""
    if not path.exists():
        raise WorkspaceError(f"{path} does not exist", hint="run `corpus ingest` first")
    return pq.read_table(path, columns=columns)
