"""Word tokens with rjieba (jieba-rs) and the project's user dictionary (英伟达, H20, ...).

rjieba binds jieba-rs: jieba's dictionary and algorithm (DAG of dictionary words, the
best route by frequency, HMM for unknown words) in Rust, ~30-50x faster than jieba and
with a dictionary that costs ~60 MB per process instead of ~200 MB. The user dictionary
is read here with jieba's own ``load_userdict`` rules and applied word by word through
``add_word``, so both engines see the same words and frequencies.

``tests/test_tokenizer_diff.py`` compares the tokens with jieba's (same user dictionary)
on the seed and on a generated corpus; the only accepted differences are listed in
:data:`ACCEPTED_DIFFERENCES`. The jieba engine stays available (``engine="jieba"``) as
the reference for that test and for ``tools/bench_segment.py``; jieba itself is still
needed for the stance-target suggestions (``corpus.labelstudio.targets``: TF-IDF keyword
extraction and part-of-speech tags, which rjieba does not offer).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from corpus.errors import ConfigError

ENV_USERDICT = "CORPUS_USERDICT"

Engine = Literal["rjieba", "jieba"]
ENGINES: tuple[Engine, ...] = ("rjieba", "jieba")
DEFAULT_ENGINE: Engine = "rjieba"

#: Where rjieba's tokens may differ from jieba's, and why that is accepted.
ACCEPTED_DIFFERENCES = {
    "dates and codes joined by '-'": (
        "a run of ASCII letters and digits joined by '-', '.', '_', '+', '#', '&' or '%' that "
        "is not in the dictionary (2025-08-08, 10-15, COVID-19, 2.0.1, a_b) is kept as one "
        "token (or in bigger pieces) by jieba-rs, where jieba's HMM step cuts it at every "
        "joiner (2025 / - / 08 / - / 08). One token keeps a date or a model number whole."),
    "CJK outside jieba's range": (
        "jieba's blocks of Chinese text are U+4E00-U+9FD5 only: a character of CJK "
        "extension A-F, U+9FD6-U+9FFF or the compatibility ideographs (㐀, 鿐, 𠀀, 豈) is a "
        "token of its own and ends the block. jieba-rs keeps it inside the block (and may "
        "join it with its neighbours by HMM), so the tokens of that block can differ. Such "
        "characters are rare in news (none in the seed); keeping them in the block is "
        "what jieba would do had its range been updated for Unicode 3.0+."),
}

# jieba's own parsing of a user dictionary line: word, then optional " freq", " tag".
_USERDICT_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")
# Only a text with whitespace can have whitespace tokens: most sentences skip the filter.
_SPACE = re.compile(r"\s")

Tokenizer = Callable[[str], list[str]]
#: The entries of a user dictionary, ``(word, freq or None, tag or None)``: what a worker
#: on another machine gets instead of the file's path.
UserDict = tuple[tuple[str, int | None, str | None], ...]


def default_userdict() -> Path:
    """``$CORPUS_USERDICT`` or the shipped ``schema/jieba_userdict.txt`` (``corpus.resources``)."""
    env = os.environ.get(ENV_USERDICT)
    if env:
        return Path(env).expanduser()
    from corpus.resources import USERDICT, resource_path

    return resource_path(USERDICT)


def read_userdict(path: Path) -> UserDict:
    """``(word, freq or None, tag or None)`` of each line of a jieba user dictionary.

    The rules are jieba's ``load_userdict``: UTF-8 (a BOM is dropped), blank lines skipped,
    ``word [freq] [tag]`` where a word may itself hold spaces. A file that is not UTF-8 is
    an error naming it and the line."""
    if not path.is_file():
        raise ConfigError(f"jieba user dictionary {path} not found",
                          hint=f"create it (one `word [freq] [pos]` per line) or unset "
                          f"${ENV_USERDICT}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"jieba user dictionary {path} cannot be read ({exc.strerror or exc})",
                          hint=f"check the file, or unset ${ENV_USERDICT}") from None
    entries: list[tuple[str, int | None, str | None]] = []
    for lineno, bline in enumerate(raw.splitlines(), 1):
        try:
            line = bline.strip().decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            raise ConfigError(f"jieba user dictionary {path}, line {lineno}: not UTF-8",
                              hint="save the dictionary as UTF-8") from None
        if not line:
            continue
        match = _USERDICT_LINE.match(line)
        if match is None:  # cannot happen for a non-empty line; kept for the type checker
            continue
        word, freq, tag = match.groups()
        entries.append((word, int(freq) if freq else None, tag.strip() if tag else None))
    return tuple(entries)


@lru_cache(maxsize=8)
def _entries(path: str) -> UserDict:
    return read_userdict(Path(path))


@lru_cache(maxsize=8)
def _load(entries: UserDict, engine: Engine) -> Tokenizer:
    if engine == "rjieba":
        import rjieba

        rj = rjieba.Jieba()
        for word, freq, tag in entries:
            rj.add_word(word, freq, tag)
        rcut = rj.cut
        return lambda text: rcut(text, True)

    import warnings

    with warnings.catch_warnings():  # jieba imports pkg_resources, which warns on import
        warnings.simplefilter("ignore")
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    for word, freq, tag in entries:
        tok.add_word(word, freq, tag)
    jcut = tok.lcut
    return lambda text: jcut(text, HMM=True)


def tokenizer(userdict: UserDict | Path | None = None,
              engine: Engine = DEFAULT_ENGINE) -> Tokenizer:
    """A function ``text -> tokens`` (whitespace included) of ``engine`` with ``userdict``
    (its entries, or a path; default: :func:`default_userdict`), loaded once per process.
    A user dictionary that cannot be read is an error naming it."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown tokenizer engine {engine!r}",
                          hint=f"use one of {', '.join(ENGINES)}")
    if not isinstance(userdict, tuple):
        path = userdict if userdict is not None else default_userdict()
        if not path.is_file():  # checked on every call: the file may go away
            raise ConfigError(f"jieba user dictionary {path} not found",
                              hint=f"create it (one `word [freq] [pos]` per line) or unset "
                              f"${ENV_USERDICT}")
        userdict = _entries(str(path))
    return _load(userdict, engine)


def tokenize(text: str, userdict: UserDict | Path | None = None,
             engine: Engine = DEFAULT_ENGINE) -> list[str]:
    """Tokens of ``text`` without whitespace-only tokens."""
    return _words(tokenizer(userdict, engine), text)


def tokenize_many(texts: list[str], userdict: UserDict | Path | None = None,
                  engine: Engine = DEFAULT_ENGINE) -> list[list[str]]:
    """Tokens of each text, in order."""
    cut = tokenizer(userdict, engine)
    return [_words(cut, text) for text in texts]


def _words(cut: Tokenizer, text: str) -> list[str]:
    tokens = cut(text)
    if _SPACE.search(text) is None:
        return tokens
    return [t for t in tokens if not t.isspace()]
