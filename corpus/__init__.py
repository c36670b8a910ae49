"""claim-corpus: news articles -> Label Studio -> versioned, human-labelled Parquet datasets.

The public API (docs/design.md, "Public Python API")::

    corpus.segment(text, lang=None) -> list[Sentence]
    corpus.ingest(paths, workspace=...) / corpus.split(workspace=...)
    corpus.push(...) / corpus.pull(...) / corpus.release(...)
    corpus.load(path, version="latest", split="train") -> pyarrow.Table

Names are bound lazily (PEP 562): ``import corpus`` imports nothing heavy, and
``corpus.segment(...)`` loads only the segmenter, never pyarrow, httpx or numpy.
No module of the package shares its name with one of these functions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "CorpusError": "corpus.errors",
    "Sentence": "corpus.text.segmenter",
    "segment": "corpus.text.segmenter",
    "Workspace": "corpus.workspace",
    "ingest": "corpus.articles.ingestion",
    "split": "corpus.sentences",
    "push": "corpus.labelstudio.tasks",
    "pull": "corpus.labelstudio.annotations",
    "release": "corpus.releases.build",
    "load": "corpus.releases.reader",
}

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

if TYPE_CHECKING:
    from corpus.articles.ingestion import ingest
    from corpus.errors import CorpusError
    from corpus.labelstudio.annotations import pull
    from corpus.labelstudio.tasks import push
    from corpus.releases.build import release
    from corpus.releases.reader import load
    from corpus.sentences import split
    from corpus.text.segmenter import Sentence, segment
    from corpus.workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corpus' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
