"""claim-corpus: news articles -> Label Studio -> versioned, human-labelled Parquet datasets.

The public API (see DESIGN.md)::

    corpus.segment(text, lang=None) -> list[Sentence]
    corpus.ingest(paths, workspace=...) / corpus.split(workspace=...)
    corpus.push(...) / corpus.pull(...) / corpus.release(...)
    corpus.load(path, version="latest", split="train") -> pyarrow.Table

The functions are bound eagerly: several share their name with the module that
defines them, and a lazy binding would be replaced by the module on first import.
"""

from __future__ import annotations

from corpus.errors import CorpusError
from corpus.ingest import ingest
from corpus.labelstudio.pull import pull
from corpus.labelstudio.push import push
from corpus.load import load
from corpus.release import release
from corpus.segment import Sentence, segment
from corpus.sentence_table import split
from corpus.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "CorpusError",
    "Sentence",
    "Workspace",
    "__version__",
    "ingest",
    "load",
    "pull",
    "push",
    "release",
    "segment",
    "split",
]
