"""HTML ingest: block boundaries are paragraph boundaries (own fixtures, issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.articles.clean import same_text, strip_site_suffix
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
        "</article>", "<p>Sign up for our newsletter and get the best of the news every morning.</p>"
        "</article>")
    (tmp_path / "a.html").write_text(boiler, encoding="utf-8")
    (tmp_path / "a.expected.txt").write_text(
        "这是第一段正文，讲述了一个虚构的事件，内容足够长以便被当作正文保留下来。\n"
        "这是一句页面里没有的句子。", encoding="utf-8")
    (tmp_path / "b.html").write_bytes(b"\xff\xfe\x00garbage")
    pages = {p.page: p for p in bench_pages.measure(tmp_path)}
    a = pages["a"]
    assert a.text and a.expected == 2 and a.found == 1 and a.recall == 0.5
    assert a.suffix and len(a.boilerplate) == 1 and "Sign up" in a.boilerplate[0]
    assert not pages["b"].text and pages["b"].problem
    assert bench_pages.main([str(tmp_path)]) == 0


_NEWS = "<p>这是一段虚构的新闻正文，用来确认正文本身会留下来，而且不会被当作页面杂项删除掉。</p>"


def test_page_boilerplate_never_becomes_a_sentence() -> None:
    """Share prompts, copyright notices, app promotions, hotline boxes, graphic links and
    the related / comment lists after their header (blocks a blank line apart) are
    dropped; the body stays."""
    page = ("<html><head><title>虚构</title></head><body><article>" + _NEWS +
            "<p>分享让更多人看到</p><p>【本文版权归示例网所有，未经授权，不得转载、摘编。】</p>"
            "<p>下载示例新闻客户端 http://t.cn/abc</p>"
            "<p>珍惜生命，自殺防治諮詢安心專線：1925</p>"
            "<p>(Graphic: Fictional assets in 2030 - here)</p>" + _NEWS.replace("一段", "二段") +
            "<h3>相关内容</h3><p>虚构的相关文章标题一</p><p>虚构的相关文章标题二</p>"
            "<h3>发表评论</h3><p>网友甲</p></article></body></html>")
    text = from_html(page, "p.html").text
    assert "这是一段虚构" in text and "这是二段虚构" in text
    for junk in ("分享让更多人", "不得转载", "客户端", "安心專線", "Graphic", "相关内容",
                 "相关文章标题", "发表评论", "网友甲"):
        assert junk not in text, (junk, text)


@pytest.mark.parametrize(("title", "expected"), [
    ("虚构标题说明一件事情_科技_示例网", "虚构标题说明一件事情"),
    ("虚構標題說明一件事情 - 社會 - 示例時報", "虚構標題說明一件事情"),
    ("虚構標題說明一件事 | 社會 | 示例社 ABC", "虚構標題說明一件事"),
    ("虚构标题说明一件事情--示例网", "虚构标题说明一件事情"),
    ("虚构标题说明一件事情-示例网", "虚构标题说明一件事情"),
    ("虚構標題_一次旅行 @ 某人的家_藍天 :: 示例部落 ::", "虚構標題_一次旅行 @ 某人的家"),
    ("A fictional headline about prices - Example News", "A fictional headline about prices"),
    ("Prices rose 2% - year on year", "Prices rose 2% - year on year"),
    ("COVID-19 cases fall in a fictional town", "COVID-19 cases fall in a fictional town"),
    ("Sino-US talks resume in a fictional city", "Sino-US talks resume in a fictional city"),
    ("短标题-示例网", "短标题-示例网"),
])
def test_site_suffix_is_cut_from_the_title(title: str, expected: str) -> None:
    assert strip_site_suffix(title) == expected


def test_headline_repeated_above_the_body_is_the_title_not_a_sentence() -> None:
    page = ("<html><head><title>虚构的头条新闻标题_示例网</title></head><body><article>"
            "<h1>虚构的“头条”新闻标题</h1>" + _NEWS + _NEWS.replace("一段", "二段") +
            "</article></body></html>")
    article = from_html(page, "h.html")
    assert article.title and same_text(article.title, "虚构的头条新闻标题")  # no "_示例网"
    assert article.text.startswith("这是一段虚构"), article.text


def test_article_laid_out_in_table_cells_is_read_without_the_menus() -> None:
    """An old portal page whose article sits in <table> cells yields its prose; the menu
    rows and short link cells around it stay out."""
    menu = "".join(f"<a href='/{i}'>栏目{i}</a> | " for i in range(12))
    page = ("<html><head><title>虚构旧门户</title></head><body>"
            f"<table><tr><td>{menu}</td></tr><tr><td>首页</td><td>博客</td></tr></table>"
            "<table><tr><td><p>这是一篇放在表格单元格里的虚构文章的第一段，讲的是一次旅行的经过，"
            "内容足够长。</p><p>第二段也在同一个单元格里，说明当天的天气很好，大家都很开心。</p>"
            "</td></tr></table></body></html>")
    text = from_html(page, "t.html").text
    assert "第一段" in text and "第二段" in text, text
    assert "栏目" not in text and "博客" not in text, text
