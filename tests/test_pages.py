"""HTML ingest: block boundaries are paragraph boundaries (own fixtures, issue 16)."""

from __future__ import annotations

from pathlib import Path

from corpus.articles.readers import from_html
from corpus.text.segmenter import segment

_PAGE = """<html><head><title>示例标题</title></head><body><article>
<h1>示例标题</h1>
<p>这是第一段正文，讲述了一个虚构的事件，内容足够长以便被当作正文保留下来。</p>
<p>图为示例现场的一个虚构场景，人们在广场上排队等候参观展览，场面十分热闹 记者 张三 摄</p>
<p>这是第二段正文，同样是虚构的内容，用来检查段落之间的边界是否被保留。</p>
<p>第三段正文也是虚构的，它说明每个块都是一个独立的段落，不会被粘在一起。</p>
</article></body></html>"""


def test_caption_block_is_not_glued_to_the_next_block() -> None:
    article = from_html(_PAGE, "fixture.html")
    units = [s.text for s in segment(article.text)]
    assert not any("\n" in u for u in units), units
    assert not any("摄" in u and "第二段" in u for u in units), units


def test_bench_pages_scores_a_folder_of_pages(tmp_path: Path) -> None:
    """`tools/bench_pages.py` finds the expected sentences, a boilerplate line, a title
    with a site suffix and an unreadable page in a folder of pages written here."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import bench_pages

    suffixed = _PAGE.replace("<title>示例标题</title>", "<title>示例标题_科技_示例网</title>"
                             ).replace("<h1>示例标题</h1>", "")
    boiler = suffixed.replace(
        "</article>", "<p>未经授权，不得转载、摘编本网站所有内容，违者必究，特此声明如上所述。</p></article>")
    (tmp_path / "a.html").write_text(boiler, encoding="utf-8")
    (tmp_path / "a.expected.txt").write_text(
        "这是第一段正文，讲述了一个虚构的事件，内容足够长以便被当作正文保留下来。\n"
        "这是一句页面里没有的句子。", encoding="utf-8")
    (tmp_path / "b.html").write_bytes(b"\xff\xfe\x00garbage")
    pages = {p.page: p for p in bench_pages.measure(tmp_path)}
    a = pages["a"]
    assert a.text and a.expected == 2 and a.found == 1 and a.recall == 0.5
    assert a.suffix and len(a.boilerplate) == 1 and "不得转载" in a.boilerplate[0]
    assert not pages["b"].text and pages["b"].problem
    assert bench_pages.main([str(tmp_path)]) == 0
