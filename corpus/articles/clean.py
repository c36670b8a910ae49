"""News-page boilerplate removal and metadata extraction.

``clean_article`` splits a page's normalised text (``corpus.text.normalize``)
into body, title and metadata (date, tags, references) and drops boilerplate
lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

_MANY_BLANKS = re.compile(r"\n{3,}")
_SEP = r"\s*[:：]\s*"
_DATE = (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
         r"(?:\s+(\d{1,2}:\d{2}(?::\d{2})?))?")
_DATE_RE = re.compile(_DATE)
_DATE_LINE = re.compile(
    r"^(?:更新时间|更新於|更新于|发布时间|發布時間|发表时间|发表于|發表於|发布于|时间|日期|"
    r"Published|Updated|Date)" + _SEP + _DATE + r"\s*$",
    re.IGNORECASE,
)
_TAGS_LINE = re.compile(r"^(?:标签|標籤|关键词|關鍵詞|关键字|Tags|Keywords)" + _SEP + r"(.+)$",
                        re.IGNORECASE)
_REFS_START = re.compile(r"^(?:参考资料|參考資料|参考文献|參考文獻|资料来源|References|Sources)"
                         r"\s*[:：]?\s*$", re.IGNORECASE)
_BLOCK_START = re.compile(
    r"^(?:推荐阅读|推薦閱讀|相关阅读|相關閱讀|相关新闻|相關新聞|相关推荐|热门推荐|热门文章|"
    r"友情链接|友情鏈接|更多|猜你喜欢|延伸阅读|Related|Read more|Recommended|"
    r"相关内容|相關內容|文章评论|文章評論|发表评论|發表評論|网友评论|網友評論|精彩视频推荐|"
    r"精彩視頻推薦|热门视频|熱門視頻)\s*[:：]?\s*$",
    re.IGNORECASE,
)
_BOILERPLATE_LINE = re.compile(
    r"^(?:"
    r"展开阅读全文|展開閱讀全文|阅读全文|閱讀全文|点击展开全文|查看全文|"
    r"上滑加载更多.*|下拉加载更多.*|加载更多.*|点击加载更多.*|"
    r"(?:\d{1,3}\s+){1,}\d{1,3}(?:\s*(?:下一页|下一頁|末页|尾页|>|»))?|"  # pagination 1 2 3 4 5
    r"(?:上一页|下一页|上一頁|下一頁|首页|尾页).{0,20}|"
    r"(?:Top|TOP|top|返回顶部|回到顶部|返回頂部|↑)|"
    r"(?:分享到|分享至|扫一扫|掃一掃)\s*[:：]?.{0,30}|"
    r"(?:责任编辑|責任編輯|编辑|來源|来源)\s*[:：].{0,30}|"
    r".*(?:©|\(c\)|Copyright|CopyRight|COPYRIGHT|版权所有|版權所有|All Rights Reserved).*|"
    r".*(?:ICP备|ICP證|ICP证|公网安备|公網安備|网安备).*|"
    r".*(?:本站资料|本站内容|本站文章).*(?:版权|学习交流|转载).*|"
    r"(?:如有版权问题|如有侵权).*|"
    r".*(?:分享让更多人看到|分享讓更多人看到).*|"
    r".*(?:未经授权|未經授權|未经许可|未經許可).{0,12}(?:不得|禁止)(?:转载|轉載).*|"
    r".*(?:不得转载、摘编|不得轉載、摘編).*|"
    r".{0,30}(?:下载|下載|打开|打開|扫码下载|掃碼下載).{0,12}(?:客户端|客戶端|APP|App|app)"
    r".{0,40}|"
    r".*(?:安心专线|安心專線|生命线协谈|生命線協談|自杀防治|自殺防治|张老师专线|張老師專線).*|"
    r"\((?:Graphic|GRAPHIC|Graphics|Chart|Factbox|Interactive)s?:[^()]{0,120}\)"
    r")$"
)


@dataclass
class CleanArticle:
    """The body and metadata found in one page of text."""

    text: str
    title: str | None = None
    published_at: str | None = None
    tags: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    removed_lines: int = 0


def _iso_date(match: re.Match[str]) -> str | None:
    """The matched date as ISO 8601, or None when it is not a real date (2025-13-45)."""
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    try:
        day_iso = date(year, month, day).isoformat()
    except ValueError:
        return None
    clock = match.group(4)
    if not clock:
        return day_iso
    parts = [int(part) for part in clock.split(":")]
    if parts[0] > 23 or any(part > 59 for part in parts[1:]):
        return day_iso  # the date is real, the time is not: keep the date
    return day_iso + "T" + ":".join(f"{part:02d}" for part in parts)


_SITE_SEPARATOR = re.compile(
    r"(?:\s+[-–—|｜·]\s+|\s*[_｜]\s*|\s*--\s*|(?<=[\u3400-\u9fff》」』）”！？])-)"
    r"(?P<tail>[^_｜|]{1,15})$")
_PIXNET_TAIL = re.compile(r"\s*::[^:]{1,30}::\s*$")
_LOOSE = re.compile(r"[\s\"'“”‘’「」『』《》〈〉]+")


def strip_site_suffix(title: str) -> str:
    """``title`` without the site and channel names pages append (``Headline_科技_腾讯网``,
    ``Headline - 社會 - 自由時報``, ``Headline | Site``, ``Headline--大河网``,
    ``Headline :: Site ::``): trailing parts after a separator, each at most 15 characters
    and shorter than what stays, not starting with a digit or a lower-case Latin letter,
    while at least 6 characters stay."""
    out = _PIXNET_TAIL.sub("", title).strip()
    for _ in range(3):
        m = _SITE_SEPARATOR.search(out)
        if m is None:
            break
        head = out[:m.start()].rstrip()
        tail = m.group("tail").strip()
        if (len(head) < 6 or len(tail) >= len(head) or not tail or tail[0].isdigit()
                or (tail[0].isascii() and tail[0].islower())):  # a site name is capitalised
            break
        out = head
    return out


def same_text(a: str, b: str) -> bool:
    """Whether two lines say the same, quote marks and whitespace ignored."""
    return _LOOSE.sub("", a) == _LOOSE.sub("", b)


_PROSE_END = re.compile(r"[。！？!?.…；;][”’」』\"')）)]*$")


def is_prose(line: str) -> bool:
    """A body line rather than a link title: long, or ending in a sentence terminator."""
    return len(line) >= 40 or bool(_PROSE_END.search(line))


def _is_title_line(line: str) -> bool:
    return 0 < len(line) <= 80 and line[-1] not in "。！？!?.…；;"


def clean_article(
    text: str, *, detect_title: bool = True, title: str | None = None
) -> CleanArticle:
    """Split normalised page text into body and metadata; drop boilerplate lines.

    The first line is the title when ``detect_title`` and it looks like one
    (short, no closing terminator). Reference lists (参考资料:) become
    ``references``; "更新时间:"/"标签:" lines become ``published_at``/``tags``.
    """
    result = CleanArticle(text="", title=title)
    lines = text.split("\n")
    if detect_title and title is None:
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is not None and _is_title_line(lines[first].strip().lstrip("# ").strip()):
            result.title = lines[first].strip().lstrip("#").strip()
            lines = lines[first + 1 :]
    body: list[str] = []
    mode = "body"  # body | refs | block
    for raw in lines:
        line = raw.strip()
        if not line:
            body.append("")
            continue
        if mode == "block" and is_prose(line):
            mode = "body"  # the list of links is over (HTML blocks come blank-line apart)
        date = _DATE_LINE.match(line)
        if date:
            result.published_at = result.published_at or _iso_date(date)
            result.removed_lines += 1
            mode = "body"
            continue
        tags = _TAGS_LINE.match(line)
        if tags:
            result.tags.extend(t for t in re.split(r"[\s,，、;；|]+", tags.group(1)) if t)
            result.removed_lines += 1
            mode = "body"
            continue
        if _BOILERPLATE_LINE.match(line):
            result.removed_lines += 1
            if mode == "refs":
                mode = "body"
            continue
        if _REFS_START.match(line):
            mode = "refs"
            result.removed_lines += 1
            continue
        if _BLOCK_START.match(line):
            mode = "block"
            result.removed_lines += 1
            continue
        if mode == "block":
            result.removed_lines += 1
            continue
        if mode == "refs":
            _add_reference(result.references, line)
            continue
        body.append(raw.rstrip())
    result.text = _MANY_BLANKS.sub("\n\n", "\n".join(body)).strip("\n ")
    return result


_SOURCE_LINE = re.compile(r"^\S{1,20}?\s*" + _DATE + r"\s*$")


def _add_reference(refs: list[str], line: str) -> None:
    """A reference is a title line, optionally followed by a "source + date" line."""
    if refs and _SOURCE_LINE.match(line) and " — " not in refs[-1]:
        refs[-1] = f"{refs[-1]} — {line}"
    else:
        refs.append(line)
