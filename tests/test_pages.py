"""HTML ingest: block boundaries are paragraph boundaries (own fixtures, issue 16)."""

from __future__ import annotations

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
