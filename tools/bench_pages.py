"""How well `corpus ingest` + split read real news pages: one line per page, then totals.

Reads every ``<id>.html`` of a folder (other files are ignored: copy-free, the pages
are ingested from a temporary folder of links), with the expected main text where the
folder has one: ``<id>.expected.txt`` (the full text) or ``<id>.expected.json``
(``{"with": [...], "without": [...]}`` snippets). Prints per page and in total:

- **text**: the page yielded an article (else the ingest problem);
- **recall**: expected sentences (the expected text cut by ``corpus.segment``; or the
  ``with`` snippets) found in the article text, quote marks and whitespace ignored (an
  expected sentence that is boilerplate below is not counted: it must go; nor are page
  furniture lines of a hand-copied expected text: a player's time, an editor or a date
  line, a share button, the headline itself, which is our title; their number is printed);
- **glued**: sentences that hold a line break (two blocks or lines joined by the
  hard-wrap rule);
- **boilerplate**: sentences matching known boilerplate (share buttons, copyright
  notices, comment and related-content headers, app promotions, hotline boxes) or a
  ``without`` snippet;
- **suffix**: the title ends in a site name (``_科技_腾讯网``, `` - Site``, ``:: Site ::``);
- **repeated headline**: the first sentence repeats the title.

    .venv/bin/python tools/bench_pages.py ../shared/realpages [--show]

Targets (issue 16): every page yields text, mean recall >= 0.95, no boilerplate
sentence, at most 5 glued units, no title suffix, no repeated headline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from corpus.articles.ingestion import ingest
from corpus.sentences import split
from corpus.text.segmenter import segment
from corpus.workspace import Workspace

QUOTES = re.compile(r"[\"'“”‘’「」『』《》〈〉\s　]+")
BOILERPLATE = re.compile(
    r"分享让更多人看到|精彩视频推荐|未经授权.{0,6}不得转载|不得转载、摘编|^相关内容|^文章评论"
    r"|^发表评论|^相关新闻|^责任编辑|扫描二维码|下载.{0,6}客户端|打开.{0,4}APP"
    r"|\(Graphic:|自杀.{0,10}(专线|热线)|安心专线|生命线协谈专线|Click here|Sign up for",
    re.IGNORECASE)
METADATA = re.compile(
    r"^(?:\d{1,2}:\d{2}\s*/\s*\d{1,2}:\d{2}|\[?(?:责任)?编辑\s*[:：].{0,30}\]?|"
    r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?\s*\d{1,2}:\d{2}(?::\d{2})?|转播到腾讯微博|"
    r".{0,20}\d{4}年\d{1,2}月\d{1,2}日\d{1,2}:\d{2})$")
"""Lines of an expected text that are page furniture, not article text (a player's
time, an editor or date line, a share button): not counted in recall."""
SUFFIX = re.compile(r"(_[^_]{1,12}){1,3}$|\s[-–—|]\s[^-–—|]{1,30}$|::.*::\s*$|｜[^｜]{1,20}$"
                    r"|(?<=[\u4e00-\u9fff》」）”])[-–—]{1,2}[^-–—]{1,15}$")


def _norm(text: str) -> str:
    return QUOTES.sub("", text)


@dataclass
class Page:
    page: str
    text: bool = False
    problem: str = ""
    expected: int = 0
    furniture: int = 0
    strict: float | None = None  # recall counting every expected line
    found: int = 0
    glued: int = 0
    units: int = 0
    boilerplate: list[str] = field(default_factory=list)
    title: str = ""
    suffix: bool = False
    repeated: bool = False

    @property
    def recall(self) -> float | None:
        return self.found / self.expected if self.expected else None


def _expected(folder: Path, page: str) -> tuple[list[str], list[str]]:
    """(sentences or snippets that must appear, snippets that must not)."""
    txt = folder / f"{page}.expected.txt"
    if txt.exists():
        # one line of an expected text is one block (as on the page): never hard-wrapped
        lines = [line for line in txt.read_text(encoding="utf-8").split("\n") if line.strip()]
        return [s.text for s in segment("\n\n".join(lines))], []
    js = folder / f"{page}.expected.json"
    if js.exists():
        doc = json.loads(js.read_text(encoding="utf-8"))
        return list(doc.get("with") or []), list(doc.get("without") or [])
    return [], []


def measure(folder: Path) -> list[Page]:
    """Ingest and split the pages of ``folder`` in a temporary workspace; score each."""
    pages = sorted(p for p in folder.glob("*.html") if p.is_file())
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        src = Path(tmp) / "pages"
        src.mkdir()
        for p in pages:
            os.symlink(p.resolve(), src / p.name)
        ws = Workspace(Path(tmp) / "ws").ensure()
        report = ingest([src], ws)
        problems = {Path(pr.source).name: pr.message for pr in report.errors}
        articles = (pq.read_table(ws.articles, columns=["article_id", "source", "title", "text"])
                    .to_pylist() if ws.articles.exists() else [])
        if articles:
            split(ws)
        sentences = pq.read_table(ws.sentences, columns=["article_id", "text"]).to_pylist() \
            if ws.sentences.exists() else []
    by_article: dict[str, list[str]] = {}
    for s in sentences:
        by_article.setdefault(s["article_id"], []).append(s["text"])
    by_page = {Path(a["source"] or "").name: a for a in articles}
    out: list[Page] = []
    for p in pages:
        page = Page(p.name.removesuffix(".html"))
        art = by_page.get(p.name)
        want, never = _expected(folder, page.page)
        every = [w for w in want if _norm(w)]
        kept = [w for w in want if not BOILERPLATE.search(w.strip())  # must go: not counted
                and not METADATA.match(w.strip())]
        page.furniture = len(want) - len(kept)
        want = kept
        page.expected = len(want)
        if art is None:
            page.problem = problems.get(p.name, "no article")
            out.append(page)
            continue
        page.text = True
        body = _norm(art["text"])
        page.strict = (sum(1 for w in every if _norm(w) in body) / len(every)) if every else None
        page.found = sum(1 for w in want if _norm(w) in body)
        sents = by_article.get(art["article_id"], [])
        page.units = len(sents)
        page.glued = sum(1 for s in sents if "\n" in s)
        page.boilerplate = [s for s in sents if BOILERPLATE.search(s.strip())]
        page.boilerplate += [n for n in never if _norm(n) and _norm(n) in body]
        page.title = art["title"] or ""
        if want and page.title and _norm(want[0]) == _norm(page.title):
            page.expected -= 1  # the expected text starts with the headline: our title
            page.furniture += 1
            want = want[1:]
            page.found = sum(1 for w in want if _norm(w) in body)
        page.suffix = bool(SUFFIX.search(page.title))
        page.repeated = bool(sents) and bool(page.title) and _norm(sents[0]) == _norm(page.title)
        out.append(page)
    return out


def _mean(values: list[float | None]) -> float:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("folder", type=Path, help="folder of <id>.html pages (+ expected texts)")
    ap.add_argument("--show", action="store_true", help="print the boilerplate sentences found")
    args = ap.parse_args(argv)
    pages = measure(args.folder)
    print(f"{'page':<24} {'text':<5} {'recall':>6} {'units':>5} {'glued':>5} {'boiler':>6} "
          f"{'suffix':<6} {'repeat':<6} title")
    for p in pages:
        recall = f"{p.recall:.2f}" if p.recall is not None else "-"
        print(f"{p.page:<24} {'yes' if p.text else 'NO':<5} {recall:>6} {p.units:>5} "
              f"{p.glued:>5} {len(p.boilerplate):>6} {'yes' if p.suffix else '':<6} "
              f"{'yes' if p.repeated else '':<6} {p.title[:40] or p.problem[:60]}")
        if args.show:
            for b in p.boilerplate:
                print(f"    boilerplate: {b[:100]!r}")
    recalls = [p.recall for p in pages if p.recall is not None]
    mean = sum(recalls) / len(recalls) if recalls else 0.0
    glued = sum(p.glued for p in pages)
    units = sum(p.units for p in pages)
    checks: list[tuple[str, str, bool | None]] = [
        ("pages yielding text", f"{sum(p.text for p in pages)} of {len(pages)}",
         all(p.text for p in pages)),
        ("mean recall (pages with expected text)", f"{mean:.3f} over {len(recalls)} pages",
         mean >= 0.95),
        ("expected lines not counted (furniture)", str(sum(p.furniture for p in pages)), None),
        ("mean recall counting every expected line",
         f"{_mean([p.strict if p.text else 0.0 for p in pages if p.expected]):.3f}", None),
        ("glued units", f"{glued} of {units}", glued <= 5),
        ("boilerplate sentences", str(sum(len(p.boilerplate) for p in pages)),
         not any(p.boilerplate for p in pages)),
        ("titles with a site suffix", str(sum(p.suffix for p in pages)),
         not any(p.suffix for p in pages)),
        ("headline repeated as sentence 1", str(sum(p.repeated for p in pages)),
         not any(p.repeated for p in pages)),
    ]
    print(f"\n{len(pages)} pages from {args.folder}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, value, ok in checks:
        verdict = "" if ok is None else "met" if ok else "MISSED"
        print(f"  {name:<40} {value:<24} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
