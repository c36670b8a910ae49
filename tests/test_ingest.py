"""Ingest: decoding, cleaning, metadata, deduplication, bad input, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.articles.clean import clean_article
from corpus.articles.decode import decode_bytes
from corpus.articles.ingestion import ingest
from corpus.errors import InputError
from corpus.text.normalize import normalize

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_68e5fa63c6607158.txt"
SEED_TEXT = SEED.read_text(encoding="utf-8")
BOILERPLATE = ["展开阅读全文", "上滑加载更多", "推荐阅读", "友情链接", "更多:", "ICP备", "公网安备",
               "CopyRight", "All Rights Reserved", "本站资料", "1 2 3 4 5", "标签:", "更新时间",
               "参考资料", "光明网2025年09月10日", "\nTop"]
TRAD = ("黃仁勳這兩天又火了，前陣子為了能繼續在我國市場做生意，老黃費了九牛二虎之力遊說美國政府。"
        "可黃仁勳的鬼主意終究要淪為一場空，現在外媒的報導鋪天蓋地，說很多國內企業已經接到通知。")


def articles(ws: Path) -> list[dict[str, object]]:
    return pq.read_table(ws / "articles.parquet").to_pylist()


def test_seed_article_metadata_and_clean_body(tmp_path: Path) -> None:
    report = ingest([SEED], tmp_path)
    assert not report.problems
    [art] = articles(tmp_path)
    assert art["title"] == "中企收到通知,拒绝与英伟达合作,美媒:特朗普败光了美唯一优势"
    assert art["published_at"] == "2025-09-23"
    assert art["tags"] == ["科技", "英伟", "优势", "通知", "美国", "芯片", "我国", "市场", "产业",
                           "企业", "禁令", "中美"]
    assert art["references"] == [
        "芯片后门,看不见的“电子间谍” — 光明网2025年09月10日",
        "英伟达被约谈,芯片暗藏“后门”将带来哪些风险? — 新浪财经2025-08-08",
        "英媒爆中国大陆全面封杀英伟达最新特供版芯片 — 新浪财经2025-09-18",
    ]
    text = str(art["text"])
    for junk in BOILERPLATE:
        assert junk not in text, junk
    assert not text.startswith("中企收到通知")  # the title is a field, not a sentence
    assert text.startswith("黄仁勋这两天又火了")
    assert text.endswith("最坚实的底气。")
    assert art["lang"] == "zh"
    assert art["article_id"] == "a" + str(art["text_sha256"])[:16]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "gb18030"])
def test_encodings_decode_to_the_same_text(encoding: str) -> None:
    text, _ = decode_bytes(SEED_TEXT.encode(encoding), "seed")
    assert text == SEED_TEXT


def test_gbk_and_big5() -> None:
    gbk_safe = SEED_TEXT.encode("gbk", errors="ignore").decode("gbk")
    assert decode_bytes(gbk_safe.encode("gbk"), "x") == (gbk_safe, "gb18030")
    assert decode_bytes(TRAD.encode("big5"), "x") == (TRAD, "big5")


def test_same_article_in_two_encodings_is_stored_once(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_bytes(SEED_TEXT.encode("utf-8"))
    (src / "b-copy.txt").write_bytes(SEED_TEXT.encode("utf-16"))
    ws = tmp_path / "ws"
    report = ingest([src], ws)
    assert len(report.added) == 1
    assert report.duplicates == [(str(src / "b-copy.txt"), report.added[0])]
    assert len(articles(ws)) == 1
    again = ingest([src], ws)  # re-ingest: nothing new, table unchanged
    assert again.added == [] and len(again.duplicates) == 2
    assert len(articles(ws)) == 1


def test_normalize_removes_control_zero_width_and_bidi_keeps_fullwidth() -> None:
    raw = "a\r\nb\rc\u200bd\ufeffe\x00f\x07g\u202eh３．５\ud800\n\n\n\nx"
    assert normalize(raw) == "a\nb\ncdefgh３．５\n\nx"


def test_html_main_text_without_script_or_style(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    body = "".join(f"<p>黄仁勋这两天又火了，第{i}段内容讲的是英伟达芯片与市场。</p>" for i in range(6))
    page.write_text(
        "<html><head><title>英伟达新闻</title><script>alert('x')</script>"
        "<style>.a{color:red}</style></head><body><nav><a href='/'>首页</a></nav>"
        f"<article><h1>英伟达新闻</h1>{body}<script>var secret=1;</script></article>"
        "<footer>© 2020 All Rights Reserved 闽ICP备11008920号</footer></body></html>",
        encoding="utf-8",
    )
    report = ingest([page], tmp_path / "ws")
    assert not report.problems
    [art] = articles(tmp_path / "ws")
    assert art["title"] == "英伟达新闻"
    text = str(art["text"])
    assert "第0段内容" in text and "第5段内容" in text
    for bad in ("alert", "secret", "color:red", "ICP", "All Rights"):
        assert bad not in text


def test_jsonl_rows_and_malformed_line(tmp_path: Path) -> None:
    f = tmp_path / "batch.jsonl"
    good = {"id": "n1", "title": "标题", "text": "第一句话。第二句话！", "url": "https://e.com/1",
            "published_at": "2025-09-23", "tags": ["芯片", "美国"]}
    f.write_text(
        json.dumps(good, ensure_ascii=False) + "\n"
        + '{"id": "n2", "text": "broken\n'
        + json.dumps({"id": "n3", "title": "t"}) + "\n"
        + json.dumps({"id": "n4", "html": "<p>HTML 正文，内容足够长，可以被提取出来。</p>" * 5})
        + "\n",
        encoding="utf-8",
    )
    report = ingest([f], tmp_path / "ws")
    assert [str(p) for p in report.errors] == [
        f"{f}:2: malformed JSON at column 22 (Unterminated string starting) "
        "(fix or remove that line; the other lines were ingested)",
        f'{f}:3: no "text" or "html" string field (add the article body as "text" (or "html"))',
    ]
    rows = {r["article_id"]: r for r in articles(tmp_path / "ws")}
    assert set(rows) == {"n1", "n4"}
    assert rows["n1"]["source"] == "https://e.com/1"
    assert rows["n1"]["tags"] == ["芯片", "美国"]
    assert rows["n1"]["published_at"] == "2025-09-23"
    assert rows["n1"]["text"] == "第一句话。第二句话！"


def test_bad_files_are_named_and_the_rest_is_ingested(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a-good.txt").write_text(SEED_TEXT, encoding="utf-8")
    (src / "b-empty.txt").write_bytes(b"")
    (src / "c-binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (src / "d-undecodable.txt").write_bytes(bytes(range(0x80, 0x100)) * 3)
    (src / "e-long.txt").write_text("字" * 5_000_000, encoding="utf-8")
    report = ingest([src], tmp_path / "ws")
    messages = [str(p) for p in report.problems]
    assert messages == [
        f"{src / 'b-empty.txt'}: file is empty (remove it or add the article text)",
        f"{src / 'c-binary.txt'}: looks like a binary file (NUL bytes), not text "
        "(pass only .txt/.md/.html/.jsonl articles)",
        f"{src / 'd-undecodable.txt'}: undecodable bytes at byte 0 (tried utf-8 and detection) "
        "(re-save the file as UTF-8)",
        f"{src / 'e-long.txt'}: a run of 5,000,000 characters has no sentence punctuation; "
        "it will be cut into capped pieces (check the file is prose, not data)",
    ]
    assert [p.severity for p in report.problems] == ["error", "error", "error", "warning"]
    assert len(articles(tmp_path / "ws")) == 2
    assert report.failed


def test_file_disappearing_mid_run(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("第一篇文章。内容。", encoding="utf-8")
    (src / "b.txt").write_text("第二篇文章。内容。", encoding="utf-8")

    def vanish(done: int, total: int) -> None:
        if done == 1:
            (src / "b.txt").unlink()

    report = ingest([src], tmp_path / "ws", progress=vanish)
    assert [str(p) for p in report.errors] == [
        f"{src / 'b.txt'}: file disappeared before it could be read "
        "(check what removed it and run again)"
    ]
    assert len(articles(tmp_path / "ws")) == 1


def test_missing_path_is_an_error_not_a_crash(tmp_path: Path) -> None:
    report = ingest([tmp_path / "nope", SEED], tmp_path / "ws")
    assert [str(p) for p in report.errors] == [
        f"{tmp_path / 'nope'}: no such file or folder (check the path)"
    ]
    assert len(report.added) == 1


def test_crash_mid_write_keeps_the_old_table(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ingest([SEED], ws)
    before = (ws / "articles.parquet").read_bytes()
    other = tmp_path / "other.txt"
    other.write_text("另一篇文章。内容不同。", encoding="utf-8")

    def boom(done: int, total: int) -> None:
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        ingest([other], ws, progress=boom)
    assert (ws / "articles.parquet").read_bytes() == before
    assert [p.name for p in ws.iterdir() if p.name.startswith(".tmp-")] == []


def test_clean_article_keeps_body_lines_that_only_look_like_metadata() -> None:
    text = "标题行\n\n来源于生活的艺术很重要。\n编辑部今天发布了新规定。\n2 个人去了。"
    cleaned = clean_article(text)
    assert cleaned.title == "标题行"
    assert cleaned.text == "来源于生活的艺术很重要。\n编辑部今天发布了新规定。\n2 个人去了。"


def test_decode_empty_is_input_error() -> None:
    with pytest.raises(InputError, match="file is empty"):
        decode_bytes(b"  \n", "f.txt")
