"""claim-corpus: news articles -> Label Studio -> versioned, human-labelled Parquet datasets.

The public API (see DESIGN.md)::

    corpus.segment(text, lang=None) -> list[Sentence]
    corpus.ingest(paths, workspace=...) / corpus.split(workspace=...)
    corpus.push(...) / corpus.pull(...) / corpus.release(...)
    corpus.load(path, version="latest", split="train") -> pyarrow.Table

Names are imported lazily so that ``import corpus`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "segment": "corpus.segment",
    "Sentence": "corpus.segment",
    "ingest": "corpus.ingest",
    "split": "corpus.sentence_table",
    "push": "corpus.labelstudio.push",
    "pull": "corpus.labelstudio.pull",
    "release": "corpus.release",
    "load": "corpus.load",
    "CorpusError": "corpus.errors",
    "Workspace": "corpus.workspace",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corpus' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
