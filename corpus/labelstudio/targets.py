"""Stance targets: the lead's targets file, and suggestions from the corpus.

A targets file (YAML) is the single source of a project's targets::

    targets:
      - target: 英伟达
        aliases: [Nvidia, NVIDIA, 老黄]
        description: the company, not its products
      - target: 特朗普

Suggestions (jieba TF-IDF keywords restricted to names and nouns) are only shown:
the lead confirms them (``corpus push --targets ...`` or ``--accept-suggested``);
nothing is chosen silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from corpus.errors import ConfigError, WorkspaceError
from corpus.text.tokenizer import default_userdict
from corpus.workspace import Workspace

#: jieba part-of-speech tags kept: person, place, organisation, other proper nouns, nouns,
#: English words (brand and company names such as "Nvidia").
TARGET_POS = ("nr", "ns", "nt", "nz", "n", "eng")
#: Proper names (people, places, organisations, brands) make better targets: weight x2.
PROPER_POS = ("nr", "ns", "nt", "nz", "eng")


@dataclass(frozen=True)
class Target:
    """One stance target: its name (the answer's key), aliases it goes by, a description."""

    target: str
    aliases: tuple[str, ...] = ()
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target}
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.description:
            out["description"] = self.description
        return out


def as_targets(items: Sequence[str | Target | Mapping[str, Any]],
               where: str = "--targets", *, fold_case: bool = True) -> list[Target]:
    """``items`` (names, Targets or targets-file entries) as checked Targets.

    ``fold_case``: two targets whose names differ only in case are refused (projects
    created before this check may have such pairs: their stored targets are read as is).
    """
    out: list[Target] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(items, start=1):
        if isinstance(item, Target):
            t = item
        elif isinstance(item, str):
            t = Target(item.strip())
        elif isinstance(item, Mapping):
            t = _from_entry(item, f"{where} entry {i}")
        else:
            raise ConfigError(f"{where} entry {i} is {type(item).__name__}, not a target",
                              hint="give each target as `- target: NAME`")
        if not t.target:
            raise ConfigError(f"{where} entry {i} has an empty target name",
                              hint="remove it or give it a name")
        own: set[str] = set()
        for name in (t.target, *t.aliases):
            key = name.casefold() if fold_case else name
            if name in own or seen.get(key, t.target) != t.target:
                raise ConfigError(f"{where}: {name!r} appears twice (also under "
                                  f"{seen.get(key, t.target)!r})",
                                  hint="list each target and alias once")
            own.add(name)
            seen[key] = t.target
        out.append(t)
    return out


def _from_entry(entry: Mapping[str, Any], where: str) -> Target:
    unknown = set(entry) - {"target", "aliases", "description"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                          hint="use target, aliases and description")
    name = entry.get("target")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: `target` must be a text, got {type(name).__name__}",
                          hint="write e.g. `- target: 英伟达`")
    aliases = entry.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip()
                                                for a in aliases):
        raise ConfigError(f"{where}: `aliases` must be a list of texts",
                          hint="write e.g. `aliases: [Nvidia, NVIDIA, 老黄]`")
    description = entry.get("description") or ""
    if not isinstance(description, str):
        raise ConfigError(f"{where}: `description` must be a text", hint="quote it")
    return Target(name.strip(), tuple(a.strip() for a in aliases), description.strip())


def load_targets_file(path: Path | str) -> list[Target]:
    """The targets of a targets file; ConfigError naming the file and entry if it is wrong."""
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the targets file ({exc.strerror})",
                          hint="check the path given to --targets-file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}{line}: not a readable YAML targets file",
                          hint="fix the YAML (see README, 'Stance targets')") from None
    entries = doc.get("targets") if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{p}: no `targets:` list", hint="start the file with `targets:` and "
                          "one `- target: NAME` per target")
    return as_targets(entries, str(p))


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
