"""rjieba (the tokenizer of split) against jieba, both with the project's user dictionary.

Differential: the same texts through both engines. Every difference must fall in a class
of ``corpus.text.tokenizer.ACCEPTED_DIFFERENCES`` (checked span by span, below); each
class is seen at least once, so a stale list fails too. Texts: the seed article (raw
lines, and its sentences as ingest + split make them), a generated corpus of seed
paragraphs with varied numbers (as ``tools/bench_segment.py`` makes it), and a generated
adversarial mix (seed fragments, random common characters, rare CJK, ASCII codes and
dates, full-width forms, emoji, odd whitespace).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

from corpus.articles.clean import clean_article
from corpus.errors import ConfigError
from corpus.text.normalize import normalize
from corpus.text.segmenter import segment
from corpus.text.tokenizer import (
    ACCEPTED_DIFFERENCES,
    read_userdict,
    tokenize,
    tokenize_many,
    tokenizer,
)

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))

# A run of jieba's "han" class made only of ASCII, holding one of the joiners that jieba's
# HMM step cuts at and jieba-rs keeps (2025-08-08, COVID-19, 2.0.1, a_b, e.g).
ASCII_JOINED = re.compile(r"[A-Za-z0-9+#&._%\-]*[+#&._%\-][A-Za-z0-9+#&._%\-]*")
# jieba-rs's block of CJK + ASCII (its RE_HAN_DEFAULT) ...
_CJK = ("\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ebef"
        "\U0002f800-\U0002fa1f")
RS_BLOCK = re.compile(f"[{_CJK}A-Za-z0-9+#&._%\\-]+")
# ... holding a CJK character outside jieba's U+4E00-U+9FD5.
RARE_CJK = re.compile("[\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _bounds(tokens: list[str]) -> set[int]:
    out, pos = set(), 0
    for t in tokens:
        pos += len(t)
        out.add(pos)
    return out


def classify(text: str, rs: list[str], py: list[str]) -> set[str] | None:
    """The accepted classes that explain every differing token boundary, or None."""
    spans: dict[str, set[int]] = {"dates and codes joined by '-'": set(),
                                  "CJK outside jieba's range": set()}
    for m in ASCII_JOINED.finditer(text):
        spans["dates and codes joined by '-'"].update(range(m.start(), m.end() + 1))
    for m in RS_BLOCK.finditer(text):
        if RARE_CJK.search(m.group()):
            spans["CJK outside jieba's range"].update(range(m.start(), m.end() + 1))
    differing = _bounds(rs) ^ _bounds(py)
    used = {name for name, span in spans.items() if differing & span}
    explained = set().union(*(spans[n] for n in used)) if used else set()
    return used if differing <= explained else None


def compare(texts: list[str]) -> Counter[str]:
    """Count of texts per accepted class; fails on an unexplained difference."""
    rs_cut, py_cut = tokenizer(engine="rjieba"), tokenizer(engine="jieba")
    seen: Counter[str] = Counter()
    unexplained = []
    for text in texts:
        rs, py = rs_cut(text), py_cut(text)
        assert "".join(rs) == text  # tokens cover the text, in order
        if rs == py:
            seen["equal"] += 1
            continue
        classes = classify(text, rs, py)
        if classes is None:
            unexplained.append((text, rs, py))
        else:
            seen.update(classes)
    assert not unexplained, "unexplained differences:\n" + "\n".join(
        f"{t!r}\n  rjieba {r}\n  jieba  {p}" for t, r, p in unexplained[:5])
    return seen


def seed_paragraphs() -> list[str]:
    out: list[str] = []
    for path in SEEDS:
        body = clean_article(normalize(path.read_text(encoding="utf-8"))).text
        out.extend(p for p in body.split("\n\n") if p.strip())
    return out


def generated_news(n: int, seed: int = 7) -> list[str]:
    """Articles of shuffled seed paragraphs with varied numbers (the benchmark's corpus)."""
    rng = random.Random(seed)
    paragraphs = seed_paragraphs()
    articles = []
    for i in range(n):
        picked = rng.sample(paragraphs, k=min(len(paragraphs), rng.randint(12, 30)))
        text = "\n\n".join(
            re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 9)), p) for p in picked)
        articles.append(f"第{i}篇：{text}")
    return articles


PIECES = ["2025-08-08", "COVID-19", "3.5%", "H20", "GPT-4o", "A+B", "C#", "a_b", "x&y",
          "１２３", "ＡＢＣ", "㐀㐁", "豈", "😀", "\u3000", "e.g.", "-", "--", "2.0.1", "10-15日",
          "5G", "iPhone 16", "美国总统", "英伟达H20", "东风-17导弹", "𠀀", "鿐", "ok", "  ",
          "\t", "\r\n", "\xa0", "黄仁勋说", "特朗普", "AI芯片", "Anthropic公司"]


def adversarial(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    text = "".join(p.read_text(encoding="utf-8") for p in SEEDS)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(3, 30)):
            k = rng.random()
            if k < 0.4:
                i = rng.randrange(len(text) - 20)
                parts.append(text[i:i + rng.randint(1, 20)])
            elif k < 0.6:
                parts.append("".join(chr(rng.randint(0x4E00, 0x9FA5))
                                     for _ in range(rng.randint(1, 6))))
            else:
                parts.append(rng.choice(PIECES))
        out.append("".join(parts))
    return out


def test_seed_tokens_equal_jieba_but_for_dates() -> None:
    raw = [line for p in SEEDS for line in p.read_text(encoding="utf-8").splitlines()]
    sentences = [s.text for p in SEEDS
                 for s in segment(clean_article(normalize(p.read_text("utf-8"))).text)]
    seen = compare(raw + sentences)
    assert seen["equal"] >= len(raw + sentences) - 5
    assert seen["dates and codes joined by '-'"] >= 1  # 新浪财经2025-08-08 in the raw seed
    assert "CJK outside jieba's range" not in seen
    assert "2025-08-08" in tokenize("新浪财经2025-08-08")
    assert tokenize("新浪财经2025-08-08", engine="jieba")[-5:] == ["2025", "-", "08", "-", "08"]


def test_generated_news_tokens_equal_jieba() -> None:
    articles = generated_news(150)
    sentences = [s.text for a in articles for s in segment(a)]
    assert len(sentences) > 3000
    seen = compare(sentences)
    assert seen["equal"] == len(sentences)  # no date or rare character in the cleaned news
    rs = tokenize_many(sentences[:200])
    assert rs == tokenize_many(sentences[:200], engine="jieba")


def test_adversarial_mix_differs_only_in_the_accepted_classes() -> None:
    seen = compare(adversarial(3000))
    assert seen["equal"] > 100
    assert seen["dates and codes joined by '-'"] > 100
    assert seen["CJK outside jieba's range"] > 100
    assert set(seen) - {"equal"} <= set(ACCEPTED_DIFFERENCES)


def test_classify_refuses_a_difference_outside_the_classes() -> None:
    assert classify("美国总统", ["美国总统"], ["美国", "总统"]) is None
    assert classify("2025-08-08", ["2025-08-08"], ["2025", "-", "08", "-", "08"]) == {
        "dates and codes joined by '-'"}


def test_user_dictionary_words_are_whole_tokens_in_both_engines() -> None:
    text = "英伟达CEO黄仁勋表示，H20芯片不存在后门，东风-17与AI芯片出口管制无关。"
    for engine in ("rjieba", "jieba"):
        tokens = tokenize(text, engine=engine)  # type: ignore[arg-type]
        for word in ("英伟达", "黄仁勋", "H20", "东风-17", "AI芯片", "出口管制"):
            assert word in tokens, (engine, word, tokens)


def test_own_user_dictionary_applies_to_rjieba(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "dict.txt"
    own.write_bytes("\ufeff中国市场 9000 nz\n\n  美国企业  \nhello world 5\n".encode())
    assert read_userdict(own) == (("中国市场", 9000, "nz"), ("美国企业", None, None),
                                  ("hello world", 5, None))
    assert "中国市场" not in tokenize("他说中国市场和美国企业都很重要。")
    monkeypatch.setenv("CORPUS_USERDICT", str(own))
    for engine in ("rjieba", "jieba"):
        tokens = tokenize("他说中国市场和美国企业都很重要。", engine=engine)  # type: ignore[arg-type]
        assert "中国市场" in tokens and "美国企业" in tokens, (engine, tokens)


def test_a_user_dictionary_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("英伟达 10\n".encode() + "黄仁勋 5\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk\.txt, line 2: not UTF-8"):
        tokenize("你好", bad)
    with pytest.raises(ConfigError, match="unknown tokenizer engine"):
        tokenize("你好", engine="spacy")  # type: ignore[arg-type]
