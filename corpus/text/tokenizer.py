"""Word tokens with jieba and the project's user dictionary (domain terms like 英伟达, H20)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from corpus.errors import ConfigError

ENV_USERDICT = "CORPUS_USERDICT"


def default_userdict() -> Path:
    """``$CORPUS_USERDICT`` or the shipped ``schema/jieba_userdict.txt`` (``corpus.resources``)."""
    env = os.environ.get(ENV_USERDICT)
    if env:
        return Path(env).expanduser()
    from corpus.resources import USERDICT, resource_path

    return resource_path(USERDICT)


@lru_cache(maxsize=4)
def _tokenizer(userdict: str) -> object:
    import warnings

    with warnings.catch_warnings():  # jieba imports pkg_resources, which warns on import
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    tok.load_userdict(userdict)
    return tok


def tokenizer(userdict: Path | None = None) -> object:
    """A loaded jieba tokenizer with ``userdict`` (default: :func:`default_userdict`), cached
    per process. A user dictionary that cannot be read is an error naming it."""
    path = userdict if userdict is not None else default_userdict()
    if not path.is_file():
        raise ConfigError(f"jieba user dictionary {path} not found",
                          hint=f"create it (one `word [freq] [pos]` per line) or unset "
                          f"${ENV_USERDICT}")
    return _tokenizer(str(path))


def tokenize(text: str, userdict: Path | None = None) -> list[str]:
    """jieba tokens of ``text`` without whitespace-only tokens."""
    tok = tokenizer(userdict)
    return [t for t in tok.lcut(text, HMM=True) if not t.isspace()]  # type: ignore[attr-defined]


def tokenize_many(texts: list[str], userdict: Path | None = None) -> list[list[str]]:
    """Tokens of each text, in order."""
    tok = tokenizer(userdict)
    cut = tok.lcut  # type: ignore[attr-defined]
    return [[t for t in cut(text, HMM=True) if not t.isspace()] for text in texts]
