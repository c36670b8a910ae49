"""Golden table for the sentence segmenter (cases in ``segment_cases.py``)."""

from __future__ import annotations

import pytest
from segment_cases import CASES, Expected

from corpus.text.segmenter import Sentence, iter_segments, segment, sentence_text


def _normalise(expected: Expected) -> list[tuple[str, str]]:
    return [(e, "sentence") if isinstance(e, str) else e for e in expected]


def _check_offsets(text: str, sentences: list[Sentence]) -> None:
    for s in sentences:
        assert sentence_text(text[s.start : s.end]) == s.text


@pytest.mark.parametrize(
    ("text", "expected", "max_len"),
    [
        pytest.param(text, expected, max_len, id=case_id)
        for case_id, text, expected, max_len in CASES
    ],
)
def test_golden(text: str, expected: Expected, max_len: int) -> None:
    sentences = segment(text, max_len=max_len)
    assert [(s.text, s.kind) for s in sentences] == _normalise(expected)
    _check_offsets(text, sentences)


def test_case_table_is_large_and_ids_are_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 70
    assert len(set(ids)) == len(ids)


def test_offsets_and_indexes_in_seed_excerpt() -> None:
    text = "拒绝与英伟达合作\n\n  他说：“好。”然后走了。\n第二段。"
    got = [(s.text, s.start, s.end, s.kind, s.para_idx, s.sent_idx) for s in segment(text)]
    assert got == [
        ("拒绝与英伟达合作", 0, 8, "heading", 0, 0),
        ("他说：“好。”", 12, 19, "sentence", 1, 0),
        ("然后走了。", 19, 24, "sentence", 1, 1),
        ("第二段。", 25, 29, "sentence", 2, 0),
    ]


def test_hard_wrap_is_folded_and_offsets_stay_those_of_the_raw_slice() -> None:
    text = "This line is longer than thirty characters and\nwraps. Next one."
    first, second = segment(text)
    assert first.text == "This line is longer than thirty characters and wraps."
    assert text[first.start:first.end] == "This line is longer than thirty characters and\nwraps."
    assert (first.start, first.end, first.para_idx, first.sent_idx) == (0, 53, 0, 0)
    assert (second.start, second.end, second.para_idx, second.sent_idx) == (54, 63, 0, 1)


def test_length_cap_pieces_share_paragraph_and_count_on() -> None:
    text = "一二三四五；六七八九十一二三。尾句。"
    got = [(s.text, s.para_idx, s.sent_idx) for s in segment(text, max_len=10)]
    assert got == [("一二三四五；", 0, 0), ("六七八九十一二三。", 0, 1), ("尾句。", 0, 2)]
    _check_offsets(text, segment(text, max_len=10))


def test_stripping_adjusts_offsets() -> None:
    text = "  你好。  \n\n\t再见。 "
    got = [(s.text, s.start, s.end, s.para_idx) for s in segment(text)]
    assert got == [("你好。", 2, 5, 0), ("再见。", 10, 13, 1)]


def test_iter_segments_matches_segment_and_is_lazy() -> None:
    text = "第一句。第二句！\n\n标题\n第三句？"
    stream = iter_segments(text, "zh")
    assert not isinstance(stream, list)
    assert list(stream) == segment(text, "zh")


def test_lang_hint_does_not_change_conventions() -> None:
    text = "我们用Python写代码。It works well. 你觉得呢？"
    assert segment(text, "zh") == segment(text, "en") == segment(text)


def test_to_dict() -> None:
    (s,) = segment("你好。")
    assert s.to_dict() == {
        "text": "你好。",
        "start": 0,
        "end": 3,
        "kind": "sentence",
        "para_idx": 0,
        "sent_idx": 0,
    }


def test_sentence_is_frozen() -> None:
    (s,) = segment("你好。")
    with pytest.raises(AttributeError):
        s.text = "x"  # type: ignore[misc]


@pytest.mark.parametrize("max_len", [0, -1, 2.5, True])
def test_rejects_bad_max_len(max_len: object) -> None:
    with pytest.raises(ValueError, match="max_len"):
        segment("你好。", max_len=max_len)  # type: ignore[arg-type]


def test_rejects_non_str() -> None:
    with pytest.raises(TypeError):
        segment(b"bytes")  # type: ignore[arg-type]


def test_package_level_call_works_repeatedly() -> None:
    """``corpus.segment(text)`` keeps working after the segmenter module has been imported."""
    import corpus
    import corpus.text.segmenter as module

    assert module.segment is corpus.segment
    for _ in range(2):
        assert [s.text for s in corpus.segment("你好。再见。")] == ["你好。", "再见。"]
