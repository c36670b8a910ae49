"""Suggest stance targets from the corpus: jieba TF-IDF keywords restricted to names and nouns.

The lead confirms the suggestions (``corpus push --targets ...``); nothing is
chosen silently.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pyarrow.compute as pc

from corpus.errors import WorkspaceError
from corpus.text.tokenizer import default_userdict
from corpus.workspace import Workspace

#: jieba part-of-speech tags kept: person, place, organisation, other proper nouns, nouns,
#: English words (brand and company names such as "Nvidia").
TARGET_POS = ("nr", "ns", "nt", "nz", "n", "eng")
#: Proper names (people, places, organisations, brands) make better targets: weight x2.
PROPER_POS = ("nr", "ns", "nt", "nz", "eng")


@dataclass(frozen=True)
class TargetSuggestion:
    """One suggested target with its TF-IDF weight and document frequency."""

    target: str
    weight: float
    sentences: int


def suggest_targets_from_texts(texts: list[str], k: int = 10) -> list[TargetSuggestion]:
    """Top-``k`` person/organisation/place/noun keywords of ``texts`` (jieba TF-IDF)."""
    import jieba
    import jieba.analyse

    jieba.setLogLevel(60)
    jieba.load_userdict(str(default_userdict()))
    joined = "\n".join(texts)
    if not joined.strip():
        return []
    tags = jieba.analyse.extract_tags(joined, topK=max(k * 4, 40), withWeight=True,
                                      allowPOS=TARGET_POS)
    import jieba.posseg

    out: list[TargetSuggestion] = []
    for word, weight in tags:
        word = str(word).strip()
        if len(word) < 2 or word.isdigit():
            continue
        count = sum(1 for t in texts if word in t)
        pos = [p.flag for p in jieba.posseg.lcut(word)]
        proper = len(pos) == 1 and pos[0] in PROPER_POS
        out.append(TargetSuggestion(word, float(weight) * (2.0 if proper else 1.0), count))
    # prefer words that occur in several sentences (a target worth a question on every task)
    out.sort(key=lambda s: (-(s.weight * min(s.sentences, 10)), s.target))
    return out[:k]


def suggest_targets(
    workspace: Workspace, k: int = 10, *, articles: list[str] | None = None
) -> list[TargetSuggestion]:
    """Suggest ``k`` stance targets from ``workspace/sentences.parquet``."""
    from corpus.storage.tables import read_table

    path = workspace.require(workspace.sentences, produced_by="corpus ingest")
    try:
        table = read_table(path, columns=["article_id", "text"])
    except WorkspaceError:
        raise
    if articles:
        table = table.filter(pc.is_in(table["article_id"], value_set=_arr(articles)))
    texts = [t for t in table.column("text").to_pylist() if t]
    return suggest_targets_from_texts(texts, k)


def _arr(values: list[str]) -> object:
    import pyarrow as pa

    return pa.array(values, type=pa.string())


def counts(texts: list[str], targets: list[str]) -> Counter[str]:
    """How many of ``texts`` mention each target."""
    c: Counter[str] = Counter()
    for t in targets:
        c[t] = sum(1 for x in texts if t in x)
    return c
