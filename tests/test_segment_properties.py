"""Property tests for the sentence segmenter: offsets, coverage, order, length cap, hostile input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.text.segmenter import (
    Sentence,
    _boundaries,
    _boundaries_paired,
    _paragraphs,
    iter_segments,
    segment,
    sentence_text,
)

# Everything the conventions care about, plus characters that tend to break things.
_PUNCT = list("。！？｡!?．.…⋯，、；：,;:”’」』）)】\"'“‘「『（(【《》〈〉-/@#%&=~+_")
_SPACE = [" ", "\t", "\n", "\n", "\n\n", "\r\n", "\r", "\u3000", "\xa0", "\u2028", "\x0c"]
_TOKENS = [
    "18.77", "1,299.00", "３．５", "2025.09.23", "10:30", "p.m.", "v2.0.1", "U.S.", "Dr.",
    "e.g.", "etc.", "https://example.com/a.b?x=1.", "a.b@c.cn", "1. ", "2）", "(3)", "……",
    "...", "Mr.", "No.",
]  # fmt: skip
_ODD = ["\x00", "\ud800", "\udfff", "e\u0301", "😀", "👋🏽", "مرحبا", "שלום", "\u200b", "\ufeff"]

_pieces = st.one_of(
    st.text(alphabet="中文新闻芯片市场美国我们的了是在不有", min_size=1, max_size=8),
    st.text(alphabet="abcdefgXYZ0123456789", min_size=1, max_size=6),
    st.sampled_from(_PUNCT),
    st.sampled_from(_SPACE),
    st.sampled_from(_TOKENS),
    st.sampled_from(_ODD),
    st.characters(),
)
texts = st.lists(_pieces, max_size=60).map("".join)


def _check_structure(text: str, sentences: list[Sentence], max_len: int) -> None:
    prev_end = 0
    prev_para = -1
    prev_sent = -1
    for s in sentences:
        assert sentence_text(text[s.start : s.end]) == s.text
        assert s.text
        # folded: no line break, tab or run of spaces inside a sentence
        assert s.text.splitlines() == [s.text] and "\t" not in s.text and "  " not in s.text
        assert s.text == s.text.strip()
        assert len(s.text) <= max_len
        assert s.kind in ("sentence", "heading")
        assert s.start >= prev_end
        if s.para_idx == prev_para:
            assert s.sent_idx == prev_sent + 1
        else:
            assert s.para_idx == prev_para + 1
            assert s.sent_idx == 0
        if s.kind == "heading":
            assert "\n" not in s.text
        prev_end, prev_para, prev_sent = s.end, s.para_idx, s.sent_idx
    # Nothing but whitespace is lost between (or around) sentences.
    gaps = [
        text[a:b]
        for a, b in zip(
            [0] + [s.end for s in sentences],
            [s.start for s in sentences] + [len(text)],
            strict=True,
        )
    ]
    assert all(not g.strip() for g in gaps)
    assert "".join(c for c in text if not c.isspace()) == "".join(
        c for s in sentences for c in s.text if not c.isspace()
    )


@settings(max_examples=300, deadline=None)
@given(texts)
def test_structure_default_cap(text: str) -> None:
    _check_structure(text, segment(text), 300)


@settings(max_examples=250, deadline=None)
@given(texts, st.integers(min_value=1, max_value=40))
def test_structure_small_cap(text: str, max_len: int) -> None:
    _check_structure(text, segment(text, max_len=max_len), max_len)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_structure_arbitrary_unicode(text: str) -> None:
    _check_structure(text, segment(text, max_len=25), 25)


@settings(max_examples=100, deadline=None)
@given(texts, st.sampled_from([None, "zh", "en"]))
def test_streaming_equals_list(text: str, lang: str | None) -> None:
    assert list(iter_segments(text, lang, max_len=20)) == segment(text, lang, max_len=20)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        # A sentence never starts with "，" or "、": a stop followed by one goes on with the clause.
        st.text(alphabet="中文新闻芯片市场美国，、", min_size=1, max_size=20).filter(
            lambda p: p[0] not in "，、"
        ),
        min_size=1,
        max_size=8,
    )
)
def test_plain_chinese_sentences_are_found(parts: list[str]) -> None:
    """Sentences of plain text joined with "。" come back one by one."""
    text = "".join(p + "。" for p in parts)
    assert [s.text for s in segment(text)] == [p + "。" for p in parts]


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(min_value=1, max_value=300))
def test_fast_path_agrees_with_paired_path(text: str, max_len: int) -> None:
    """The stack-based fast path decides exactly like the full pair resolution."""
    for kind, ps, pe, _wrapped in _paragraphs(text, max_len):
        if kind == "sentence":
            fast = _boundaries(text, ps, pe, max_len)
            assert fast == _boundaries_paired(text, ps, pe, max_len)


def test_five_million_chars_without_punctuation() -> None:
    text = "没有标点的长行" * 714_286  # 5,000,002 characters, one line
    sentences = segment(text)
    assert len(sentences) == -(-len(text) // 300)
    assert all(len(s.text) <= 300 for s in sentences)
    assert sentences[0].start == 0
    assert sentences[-1].end == len(text)
    assert {s.para_idx for s in sentences} == {0}
    assert [s.sent_idx for s in sentences[:3]] == [0, 1, 2]


def test_five_million_ascii_letters() -> None:
    text = "a" * 5_000_000
    sentences = segment(text)
    assert len(sentences) == -(-len(text) // 300)
    assert "".join(s.text for s in sentences) == text


def test_hostile_bracket_and_quote_floods() -> None:
    for text in (
        "“" * 100_000 + "。",
        "“。" * 50_000,
        "（" * 50_000 + "）" * 50_000 + "。完。",
        "《》！" * 30_000,
    ):
        sentences = segment(text)
        _check_structure(text, sentences, 300)


def test_unclosed_quote_does_not_swallow_the_article() -> None:
    text = "他说“好。" + "这是一句话。" * 1000
    sentences = segment(text)
    assert len(sentences) == 1001
    assert sentences[0].text == "他说“好。"
