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
"""The rows every split engine produces (``corpus.engines.sentences_from_articles``)."""

CLUSTER_FIELD = pa.field("cluster_id", pa.string())
"""The near-duplicate cluster of a sentence (``corpus.duplicates``): the smallest
``sentence_id`` of the sentences that repeat it (its own id when nothing does)."""

SENTENCE_TABLE_SCHEMA = pa.schema([*SENTENCE_SCHEMA, CLUSTER_FIELD],
                                  metadata={"table": "sentences", "version": "2"})
"""``sentences.parquet`` as split writes it: the engine's rows plus ``cluster_id``, which
needs every sentence of the corpus and so is added once all articles are split."""


def text_sha256(text: str) -> str:
    """Hex sha256 of UTF-8 text: the deduplication key of an article."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def article_id_for(text: str, given: str | None = None) -> str:
    """The given id, else ``a`` + 16 hex of the cleaned text's sha256 (stable)."""
    if given is not None and str(given).strip():
        return str(given).strip()
    return "a" + text_sha256(text)[:16]


def sentence_id_for(article_id: str, start: int, end: int, text: str) -> str:
    """Stable id of a sentence: hash of article id, offsets and ``text``, the article's
    text at those offsets (``article.text[start:end]``, before whitespace folding)."""
    digest = hashlib.sha256(f"{article_id}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()
    return "s" + digest[:20]


# How to rebuild each workspace table when it is corrupt, and what creates it when missing.
_REBUILD = {
    "articles.parquet": "move it away and run `corpus ingest PATH` on your article files again",
    "sentences.parquet": "run `corpus split` to rebuild it from articles.parquet",
    "annotations.parquet": "delete it and run `corpus pull --full`",
}
_CREATE = {
    "articles.parquet": "run `corpus ingest PATH` first",
    "sentences.parquet": "run `corpus ingest PATH` (or `corpus split`) first",
    "annotations.parquet": "run `corpus pull` first",
}
_REASON_CHARS = 160


def table_error(path: Path, exc: BaseException) -> WorkspaceError:
    """A one-line WorkspaceError for a workspace table that cannot be read, with its fix."""
    if isinstance(exc, FileNotFoundError):
        return WorkspaceError(f"{path} does not exist",
                              hint=_CREATE.get(path.name, "run `corpus ingest` first"))
    if isinstance(exc, PermissionError):
        return WorkspaceError(f"{path} cannot be read (permission denied)",
                              hint="check the file's permissions")
    reason = " ".join(str(exc).split()) or type(exc).__name__  # Arrow's text spans lines
    reason = reason.replace(f"Could not open Parquet input source '{path}': ", "")
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 3] + "..."
    return WorkspaceError(
        f"{path} is not a readable Parquet table ({reason})",
        hint=_REBUILD.get(path.name,
                          "restore it from a backup or re-run the command that writes it"))


def open_table(path: Path, *, stream: bool = False) -> pq.ParquetFile:
    """Open a workspace table (footer only); a missing or corrupt file is a WorkspaceError.

    ``stream``: for reading it through once, batch by batch. Arrow's pre-buffering (on by
    default) keeps every range it read until the file is closed: ~400 MB when streaming
    the 800 MB sentence file of 1 GB of news, ~16 bytes a row held for nothing."""
    try:
        return pq.ParquetFile(path, pre_buffer=not stream)
    except (pa.ArrowException, OSError) as exc:
        raise table_error(path, exc) from None


def iter_batches(path: Path, columns: list[str] | None = None,
                 batch_size: int = 1024) -> Iterator[pa.RecordBatch]:
    """Stream record batches of a workspace table (bounded memory).

    A corrupt page met half-way is a WorkspaceError too, never a raw Arrow error.
    """
    with open_table(path, stream=True) as source:
        batches = source.iter_batches(batch_size=batch_size, columns=columns)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                raise table_error(path, exc) from None
            yield batch


def read_parquet(source: Path | str | pa.NativeFile, columns: list[str] | None = None, *,
                 memory_map: bool = False) -> pa.Table:
    """One Parquet file as a Table, like ``pq.read_table`` but through ``ParquetFile``:
    ``read_table`` imports ``pyarrow.dataset`` on first use (0.16 s idle, half of what
    ``corpus.load`` of a 240k-row split otherwise costs in a fresh process)."""
    source = str(source) if isinstance(source, Path) else source
    with pq.ParquetFile(source, memory_map=memory_map) as pf:
        return pf.read(columns=columns)


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a whole workspace table (small tables only); errors as :func:`open_table`."""
    try:
        return read_parquet(path, columns)
    except (pa.ArrowException, OSError) as exc:
        raise table_error(path, exc) from None
