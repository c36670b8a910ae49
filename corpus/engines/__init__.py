"""The one function of split that every engine runs: an Arrow batch of articles -> an
Arrow batch of sentences.

:func:`sentences_from_articles` is pure: it reads only its arguments (the batch, the
length cap, the user dictionary's entries, the tokenizer engine) and returns a new batch
of ``SENTENCE_SCHEMA``; the same input gives the same rows on any machine. The local
process pool of ``corpus split`` (``corpus.sentences``), the Ray Data engine
(``corpus.engines.ray_engine``) and a Spark ``mapInArrow`` (README) all call it, through
:class:`SplitBatch`, a picklable callable that carries the options to the workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from corpus.storage.tables import SENTENCE_SCHEMA
from corpus.text.normalize import detect_lang
from corpus.text.segmenter import segment
from corpus.text.tokenizer import (
    DEFAULT_ENGINE,
    Engine,
    UserDict,
    default_userdict,
    read_userdict,
    tokenize_many,
)

__all__ = ["ARTICLE_COLUMNS", "ARTICLE_INPUT_SCHEMA", "SplitBatch", "sentences_from_articles"]

#: The columns of ``articles.parquet`` the function reads (others are ignored).
ARTICLE_COLUMNS = ["article_id", "text", "lang"]
ARTICLE_INPUT_SCHEMA = pa.schema([pa.field("article_id", pa.string(), nullable=False),
                                  pa.field("text", pa.string(), nullable=False),
                                  pa.field("lang", pa.string())])


def sentences_from_articles(articles: pa.RecordBatch | pa.Table, *, max_len: int = 300,
                            userdict: UserDict | Path | None = None,
                            tokenizer: Engine = DEFAULT_ENGINE) -> pa.RecordBatch:
    """Segment and tokenise a batch of articles (columns :data:`ARTICLE_COLUMNS`) into a
    batch of sentence rows (``SENTENCE_SCHEMA``), articles in order, sentences in order;
    ``tokenizer`` names the tokenizer engine (``rjieba``; ``jieba`` is the reference).

    ``userdict``: the user dictionary's entries (:func:`corpus.text.tokenizer.read_userdict`;
    what a cluster worker gets, as it may not see the file), a path, or None for the
    default dictionary. A ``mixed`` article gets each sentence's own language.
    """
    ids = articles.column("article_id").to_pylist()
    texts = articles.column("text").to_pylist()
    langs = articles.column("lang").to_pylist()
    sid: list[str] = []
    aid: list[str] = []
    para: list[int] = []
    sent: list[int] = []
    start: list[int] = []
    end: list[int] = []
    text_col: list[str] = []
    kind: list[str] = []
    lang_col: list[str] = []
    sha = hashlib.sha256
    for article_id, text, lang in zip(ids, texts, langs, strict=True):
        lang = lang or ""
        sentences = segment(text, lang or None, max_len=max_len)
        for s in sentences:
            # corpus.storage.tables.sentence_id_for, inlined (it runs once per sentence);
            # it hashes the article's slice, so folding whitespace never changes an id
            sid.append("s" + sha(f"{article_id}\x1f{s.start}\x1f{s.end}\x1f"
                                 f"{text[s.start:s.end]}".encode()).hexdigest()[:20])
            para.append(s.para_idx)
            sent.append(s.sent_idx)
            start.append(s.start)
            end.append(s.end)
            text_col.append(s.text)
            kind.append(s.kind)
        aid.extend([article_id] * len(sentences))
        if lang == "mixed":
            lang_col.extend(detect_lang(s.text) for s in sentences)
        else:
            lang_col.extend([lang] * len(sentences))
    tokens = tokenize_many(text_col, userdict, tokenizer)
    return pa.RecordBatch.from_arrays(
        [pa.array(sid, pa.string()), pa.array(aid, pa.string()), pa.array(para, pa.int32()),
         pa.array(sent, pa.int32()), pa.array(start, pa.int32()), pa.array(end, pa.int32()),
         pa.array(text_col, pa.string()), pa.array(kind, pa.string()),
         pa.array(tokens, pa.list_(pa.string())), pa.array(lang_col, pa.string())],
        schema=SENTENCE_SCHEMA)


@dataclass(frozen=True)
class SplitBatch:
    """:func:`sentences_from_articles` with its options bound; picklable, so a process
    pool, Ray's ``map_batches`` or Spark's ``mapInArrow`` can ship it to workers. The user
    dictionary travels as its entries, read once where the split starts."""

    max_len: int = 300
    userdict: UserDict = ()
    tokenizer: Engine = DEFAULT_ENGINE

    @classmethod
    def from_options(cls, max_len: int = 300, userdict: Path | None = None,
                     tokenizer: Engine = DEFAULT_ENGINE) -> SplitBatch:
        """Options as ``corpus split`` takes them (``userdict`` None: the default one)."""
        path = userdict if userdict is not None else default_userdict()
        return cls(max_len, read_userdict(path), tokenizer)

    def __call__(self, articles: pa.RecordBatch | pa.Table) -> pa.RecordBatch:
        return sentences_from_articles(articles, max_len=self.max_len, userdict=self.userdict,
                                       tokenizer=self.tokenizer)

    def map_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Every batch through :meth:`__call__` (the shape Spark's ``mapInArrow`` wants)."""
        for batch in batches:
            yield self(batch)
