"""Word tokens with jieba and the project's user dictionary (domain terms like 英伟达, H20)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

ENV_USERDICT = "CORPUS_USERDICT"


def default_userdict() -> Path:
    """``$CORPUS_USERDICT`` or ``<repo>/schema/jieba_userdict.txt``."""
    env = os.environ.get(ENV_USERDICT)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "schema" / "jieba_userdict.txt"


@lru_cache(maxsize=4)
def _tokenizer(userdict: str | None) -> object:
    import warnings

    with warnings.catch_warnings():  # jieba imports pkg_resources, which warns on import
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    if userdict and Path(userdict).exists():
        tok.load_userdict(userdict)
    return tok


def tokenizer(userdict: Path | None = None) -> object:
    """A loaded jieba tokenizer (cached per process)."""
    path = userdict if userdict is not None else default_userdict()
    return _tokenizer(str(path) if path.exists() else None)


def tokenize(text: str, userdict: Path | None = None) -> list[str]:
    """jieba tokens of ``text`` without whitespace-only tokens."""
    tok = tokenizer(userdict)
    return [t for t in tok.lcut(text, HMM=True) if not t.isspace()]  # type: ignore[attr-defined]


def tokenize_many(texts: list[str], userdict: Path | None = None) -> list[list[str]]:
    """Tokens of each text, in order."""
    tok = tokenizer(userdict)
    cut = tok.lcut  # type: ignore[attr-defined]
    return [[t for t in cut(text, HMM=True) if not t.isspace()] for text in texts]
