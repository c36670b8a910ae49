"""Sentence segmentation with exact character offsets (conventions: docs/design.md).

The text is cut into paragraphs line by line (blank lines, line ends with a
terminator or closer, headings and list items end a paragraph; any other line
is a hard wrap and joins the next one). Inside a paragraph one compiled regex
finds the candidate boundaries (runs of terminators plus directly following
closers); Python code runs only per candidate and per sentence, never per
character, so the segmenter keeps pace with a plain regex scan.

Interpretations of the conventions, beyond docs/design.md:

- An ellipsis (``…``, ``……``, ``⋯``, two or more ``.``) ends a sentence only at
  the end of a paragraph; mid-paragraph it is sentence-internal.
- ``《》``/``〈〉``: a terminator inside a title never ends a sentence, even when
  the ``》`` follows it directly; a terminator after the closing ``》`` does.
- Straight double quotes ``"`` pair like ``“”`` (odd = opener, even = closer).
- A pair is honoured only when its closer lies in the same paragraph and at
  most ``max_len`` characters after the opener; otherwise both marks are plain
  text, so an unbalanced quote cannot swallow the rest of an article.
- Abbreviations never end a sentence inside a paragraph, and a line ending
  with a title abbreviation (``Dr.``, ``Mr.``, ``e.g.``) is a hard wrap.
- A line that continues a hard wrap is never a heading, however short.
- A line that starts with a list marker (``1. ``, ``2）``, ``(3)``, ``一、``,
  ``•``) starts a new paragraph and is never a heading; when it is short (at
  most 30 characters) it is not joined to the next line either.
- The length cap prefers a break in the second half of the window: the last
  ``；``/``;`` there, else ``，``/``,``/``、``, else whitespace; only when the
  second half has none of them is the whole window searched in the same order.
"""

from __future__ import annotations

import gc
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import check_int

__all__ = ["HEADING_MAX_LEN", "Sentence", "iter_segments", "segment", "sentence_text"]

HEADING_MAX_LEN = 30
_GC_PAUSE_MIN = 1 << 16  # characters of input from which segment() pauses the cyclic GC

_STRONG = "。！？｡"
_WEAK = "!?"
_DOTS = ".．"
_ELLIPSES = "…⋯"
_TERMS = _STRONG + _WEAK + _DOTS + _ELLIPSES
_CLOSERS = "”’」』）)】]\"'"
_LIST_START = (
    "0123456789０１２３４５６７８９(（一二三四五六七八九十百•●▪◦·abcdefghijklmnopqrstuvwxyz"
)
_PAIRS = {
    "“": "”",
    "「": "」",
    "『": "』",
    "（": "）",
    "(": ")",
    "【": "】",
    "[": "]",
    "《": "》",
    "〈": "〉",
}
_PAIR_CLOSERS = {v: k for k, v in _PAIRS.items()}
_STACK_SEARCH = 8  # how deep a closer looks for its opener past mismatched ones

# A candidate boundary: a terminator, then any terminators and closers.
_CLUSTER = re.compile(f"[{re.escape(_TERMS)}][{re.escape(_TERMS + _CLOSERS)}]*")
_BRACKET = re.compile('[“”「」『』（）()【】\\[\\]《》〈〉"]')
_MARK = re.compile(f'[{re.escape(_TERMS)}“”「」『』（）()【】\\[\\]《》〈〉"]')
_CLUSTER_TAIL = frozenset(_TERMS + _CLOSERS)
_TAIL = re.compile(f"[{re.escape(_TERMS + _CLOSERS)}]*")
_NONSPACE = re.compile(r"\S")
_HEADING_BAD = re.compile("[，、；：,;:。！？｡!?…⋯]")
_LIST_ITEM = re.compile(
    r"(?:[0-9０-９]{1,3}[.．](?=\s|$|[\u2e80-\U0010ffff])|[0-9０-９]{1,3}[.．]?[)）]"
    r"|[(（][0-9０-９]{1,3}[)）]|[a-z][.)](?=\s)|[一二三四五六七八九十百]{1,3}、|[•●▪◦·](?=\s))"
)
# After a terminator run: these go on with the clause, so the run ends no sentence ("btw., she").
_CLAUSE_GO_ON = frozenset(",;:，；：、")
# Footnote references right after a sentence end stay with it: "martyr.[1]", "。[2][3]".
_FOOTNOTE_REFS = re.compile(r"(?:\[[0-9]{1,3}\])+")
# Bare footnote numbers glued to a full stop: "cold.12 Take", "(2019).3 13 The".
_FOOTNOTE_NUMS = re.compile(r"[0-9]{1,3}(?: [0-9]{1,3})*(?=\s+[A-Z]|\Z)")
_LETTER_LEFT = frozenset(' \t\n\r\u3000(（[“"‘«')  # what may stand before a one-letter "word"
_PREV_WORD = re.compile(r"([A-Za-z]+)[ \t]+\Z")
_LIST_GLUE = frozenset("；;：，、")  # ASCII "," and ":" only with a space after
_WORD_TAIL = re.compile(r"(?<![A-Za-z.])[A-Za-z][A-Za-z.]{0,14}\Z")
_INITIALISM = re.compile(r"[A-Za-z](?:\.[A-Za-z])+")
_NON_TOKEN = re.compile(r"[^0-9A-Za-z０-９.,_:/@?=&#%~+\-]")
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_URL_GLUE = _ASCII_WORD | frozenset("=&/#%~+-")

ABBREVIATIONS_ENV = "CORPUS_ABBREVIATIONS"
"""The setting that names your own abbreviation files (joined with ``os.pathsep``)."""
_SECTIONS = ("title", "other", "cased", "number")


def read_abbreviations(path: Path) -> dict[str, set[str]]:
    """The abbreviations of one file, by section (``[title]``, ``[other]``, ``[cased]``,
    ``[number]``; see ``schema/abbreviations_en.txt``). A bad file is a ConfigError naming
    the file and line."""
    from corpus.errors import ConfigError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the abbreviations ({type(exc).__name__})",
                          hint="give a readable UTF-8 text file, one abbreviation per line"
                          ) from None
    out: dict[str, set[str]] = {k: set() for k in _SECTIONS}
    section: str | None = None
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            if section not in out:
                raise ConfigError(f"{path}:{n}: unknown section [{section}]",
                                  hint="use [title], [other], [cased] or [number]")
            continue
        word = line.rstrip(".")
        if section is None or not word or any(c.isspace() for c in word):
            raise ConfigError(f"{path}:{n}: {line!r} is not an abbreviation under a section",
                              hint="one word per line (no spaces), after a [section] line")
        out[section].add(word if section == "cased" else word.lower())
    return out


def _abbreviation_files() -> list[Path]:
    """The shipped files (one per language), then the files the setting names."""
    from corpus.resources import ABBREVIATIONS, resource_path

    own = [Path(p) for p in os.environ.get(ABBREVIATIONS_ENV, "").split(os.pathsep) if p]
    return [resource_path(name) for name in ABBREVIATIONS] + own


def use_abbreviations(*extra: Path | str) -> None:
    """Load the abbreviations (shipped, the setting's, then ``extra``) into the segmenter.

    Called at import; call it again with your own files (``corpus split
    --abbreviations FILE`` does, and sets the setting so worker processes load them too).
    """
    global _TITLE_ABBREVS, _ABBREVS, _CASED_ABBREVS, _NUMBER_ABBREVS
    merged: dict[str, set[str]] = {k: set() for k in _SECTIONS}
    for path in [*_abbreviation_files(), *(Path(p) for p in extra)]:
        for k, words in read_abbreviations(path).items():
            merged[k] |= words
    _TITLE_ABBREVS = frozenset(merged["title"])
    _ABBREVS = _TITLE_ABBREVS | frozenset(merged["other"])
    _CASED_ABBREVS = frozenset(merged["cased"])
    _NUMBER_ABBREVS = frozenset(merged["number"])


_TITLE_ABBREVS: frozenset[str] = frozenset()
_ABBREVS: frozenset[str] = frozenset()
_CASED_ABBREVS: frozenset[str] = frozenset()
_NUMBER_ABBREVS: frozenset[str] = frozenset()
use_abbreviations()


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence or heading: ``sentence_text(article_text[start:end]) == text``.

    ``text`` is the slice itself unless it holds a line break, a tab or a run of
    spaces: then those are folded (see :func:`sentence_text`).
    """

    text: str
    start: int
    end: int
    kind: str  # "sentence" | "heading"
    para_idx: int
    sent_idx: int

    def to_dict(self) -> dict[str, object]:
        """The fields as a plain dict (JSON- and Arrow-friendly)."""
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "para_idx": self.para_idx,
            "sent_idx": self.sent_idx,
        }


_new = object.__new__
# Descriptor setters of the slots: building a Sentence through them is about
# 2.5x faster than the frozen dataclass __init__ (object.__setattr__ per field),
# which is a third of the segmenter's run time on news text.
_set_fields = tuple(Sentence.__dict__[f].__set__ for f in Sentence.__slots__)


# A line break (with the spaces around it), a tab or a run of spaces inside a sentence.
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits at
_LOOSE = re.compile(f"[\t{_BREAKS}]|  ")
_FOLD = re.compile(f"[ \t]*[{_BREAKS}]\\s*|[ \t]{{2,}}|\t")
# A hard wrap right before these is dropped, not made a space ("pricing\n." -> "pricing.").
_NO_SPACE_BEFORE = frozenset(".,;:!?%)]}”’" + "。，、；：！？）】」』》〉")


def _wide(ch: str) -> bool:
    """CJK ideographs, kana, hangul and their punctuation: lines join without a space."""
    return ("\u2e80" <= ch <= "\ua4cf" or "\uac00" <= ch <= "\ud7af"
            or "\uf900" <= ch <= "\ufaff" or "\ufe30" <= ch <= "\ufe4f"
            or "\uff00" <= ch <= "\uffef" or "\U00020000" <= ch <= "\U0003134f")


def _fold(m: re.Match[str]) -> str:
    if not m.group().strip(" \t"):
        return " "                                # a tab or a run of spaces
    raw, a, b = m.string, m.start(), m.end()
    before, after = raw[a - 1] if a else "", raw[b] if b < len(raw) else ""
    if not before or not after or after in _NO_SPACE_BEFORE or (_wide(before) and _wide(after)):
        return ""
    return " "


def sentence_text(raw: str) -> str:
    """The text of a sentence whose slice of the article is ``raw``.

    A hard wrap inside the sentence (a line break and the spaces around it) joins
    the two lines: with nothing between two CJK characters or before punctuation
    (``。，.,;:)``), with one space otherwise. A tab or a run of spaces becomes one
    space. Any other slice is returned as is.

    >>> sentence_text("up to 400 yd \n( 365.8 m ).")
    'up to 400 yd ( 365.8 m ).'
    >>> sentence_text("芯片出口\n管制。")
    '芯片出口管制。'
    """
    if _LOOSE.search(raw) is None:
        return raw
    return _FOLD.sub(_fold, raw)


def segment(text: str, lang: str | None = None, *, max_len: int = 300) -> list[Sentence]:
    """Split ``text`` into sentences and headings with exact character offsets.

    ``lang`` is a hint ("zh", "en", None = auto); the conventions are the same for
    every language, so it does not change the result today. Sentences longer
    than ``max_len`` characters are cut at the best secondary break.
    """
    sentences = iter_segments(text, lang, max_len=max_len)
    if len(text) < _GC_PAUSE_MIN or not gc.isenabled():
        return list(sentences)
    # Sentences are acyclic, but the cyclic GC keeps re-scanning the growing list:
    # pausing it makes segmenting a long text about 1.7x faster.
    gc.disable()
    try:
        return list(sentences)
    finally:
        gc.enable()


def iter_segments(text: str, lang: str | None = None, *, max_len: int = 300) -> Iterator[Sentence]:
    """Streaming variant of :func:`segment`: yields the same sentences in order."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    check_int("max_len", max_len, minimum=1)  # an OptionError: a ConfigError and a ValueError
    return _generate(text, max_len)


def _generate(text: str, max_len: int) -> Iterator[Sentence]:
    new = _new
    find = text.find
    spaced = "  " in text or "\t" in text  # one scan of the article; mostly False
    set_text, set_start, set_end, set_kind, set_para, set_sent = _set_fields
    for para_idx, (kind, ps, pe, wrapped) in enumerate(_paragraphs(text, max_len)):
        sent_idx = 0
        prev = ps
        ends = [pe] if kind == "heading" else _boundaries(text, ps, pe, max_len)
        # Whitespace to fold: only its sentences go through sentence_text (a regex search
        # per paragraph cost 25% of the run, two finds per paragraph 8%; this ~1%).
        loose = wrapped or (spaced and (find("  ", ps, pe) >= 0 or find("\t", ps, pe) >= 0))
        for b in ends:
            # Paragraphs are stripped and every inner end follows a terminator or
            # closer, so only the start of a sentence can be whitespace.
            seg = text[prev:b]
            a = prev
            prev = b
            if seg[0].isspace():
                seg = seg.lstrip()
                a = b - len(seg)
            e = b
            if e - a <= max_len:
                s = new(Sentence)
                set_text(s, sentence_text(seg) if loose else seg)
                set_start(s, a)
                set_end(s, e)
                set_kind(s, kind)
                set_para(s, para_idx)
                set_sent(s, sent_idx)
                yield s
                sent_idx += 1
            else:
                for ca, ce in _cap(text, a, e, max_len):
                    yield Sentence(sentence_text(text[ca:ce]), ca, ce, kind, para_idx, sent_idx)
                    sent_idx += 1


def _paragraphs(text: str, max_len: int) -> Iterator[tuple[str, int, int, bool]]:
    """Yield (kind, start, end, wrapped) of each paragraph; start/end are stripped;
    ``wrapped``: it spans more than one line (hard wraps inside)."""
    pos = 0
    open_start = -1  # start of a paragraph whose last line was a hard wrap
    open_end = -1
    open_line_end = -1  # end of its first line
    for line in text.splitlines(True):
        ls = pos
        pos += len(line)
        body = line.strip()
        if not body:
            if open_start >= 0:
                yield "sentence", open_start, open_end, open_end > open_line_end
                open_start = -1
            continue
        bs = ls + len(line) - len(line.lstrip()) if line[0].isspace() else ls
        be = bs + len(body)
        listy = body[0] in _LIST_START and _LIST_ITEM.match(body) is not None
        last = body[-1]
        ends = (last != "." or _ends_paragraph(body)) if last in _TERMS else last in _CLOSERS
        if open_start >= 0:
            if listy:
                yield "sentence", open_start, open_end, open_end > open_line_end
                open_start = -1
            else:
                open_end = be
                if ends:
                    yield "sentence", open_start, open_end, open_end > open_line_end
                    open_start = -1
                continue
        if listy:
            # A short list item ("1. Buy milk", "一、背景") is not wrapped into the next line.
            ends = ends or len(body) <= HEADING_MAX_LEN
        elif (
            last not in _TERMS
            and len(body) <= HEADING_MAX_LEN
            and _is_heading(text, bs, be, body, max_len)
        ):
            yield "heading", bs, be, False
            continue
        if ends:
            yield "sentence", bs, be, False
        else:
            open_start, open_end = bs, be
            open_line_end = be
    if open_start >= 0:
        yield "sentence", open_start, open_end, open_end > open_line_end


def _ends_paragraph(body: str) -> bool:
    """Whether a stripped line ending with "." ends its paragraph (not "Dr.", "e.g.")."""
    m = _WORD_TAIL.search(body, max(0, len(body) - 17), len(body) - 1)
    return m is None or m.group().lower() not in _TITLE_ABBREVS


def _is_heading(text: str, bs: int, be: int, body: str, max_len: int) -> bool:
    if _HEADING_BAD.search(body):
        return False
    if "." in body or "．" in body:
        if body.rstrip(_CLOSERS)[-1:] in (".", "．"):
            return False
        return len(_boundaries(text, bs, be, max_len)) == 1
    return True


def _pair_events(text: str, ps: int, pe: int, max_len: int) -> tuple[list[int], list[int]]:
    """Positions and kinds of the honoured quote/bracket marks in [ps, pe).

    Kinds: +1 opener, -1 closer. Marks without a partner in the paragraph, or
    whose pair spans more than ``max_len``, are plain text and not listed.
    """
    marks = [(m.start(), m.group()) for m in _BRACKET.finditer(text, ps, pe)]
    kinds = [0] * len(marks)
    stack: list[int] = []  # indexes into marks of open, unmatched openers
    for i, (p, c) in enumerate(marks):
        if c == '"':
            opener = '"'
        elif c in _PAIRS:
            stack.append(i)
            continue
        else:
            opener = _PAIR_CLOSERS[c]
        k = len(stack) - 1
        floor = max(-1, k - _STACK_SEARCH)
        while k > floor and marks[stack[k]][1] != opener:
            k -= 1
        if k <= floor:
            if c == '"':
                stack.append(i)
            continue
        j = stack[k]
        del stack[k:]
        if p - marks[j][0] <= max_len:
            kinds[j] = 1
            kinds[i] = -1
    positions = [marks[i][0] for i in range(len(marks)) if kinds[i]]
    return positions, [k for k in kinds if k]


def _boundaries(text: str, ps: int, pe: int, max_len: int) -> list[int]:
    """End offsets of the sentences of the paragraph [ps, pe); the last is ``pe``.

    Fast path: track quotes and brackets with a plain stack and decide each
    candidate whose enclosing pairs all close in its own closer tail. A candidate
    inside a pair that stays open needs to know whether the pair closes later
    in the paragraph, so it hands the paragraph to :func:`_boundaries_paired`.
    """
    ends: list[int] = []
    stack: list[str] = []  # the closers the open marks expect
    done = ps  # end of the last cluster: marks before it are already handled
    for m in _MARK.finditer(text, ps, pe):
        a = m.start()
        if a < done:
            continue
        c = m.group()
        if c in _TERMS:
            b = a + 1
            if b < pe and text[b] in _CLUSTER_TAIL:
                b = _TAIL.match(text, b, pe).end()  # type: ignore[union-attr]
                done = b
                strong = False
                for j in range(a, b):
                    c = text[j]
                    if c in _TERMS:
                        if c in _STRONG or (j > a and c in _WEAK):
                            strong = True
                    elif stack and c == stack[-1] and c != '"':
                        stack.pop()
                    elif c == '"' or (c in _PAIR_CLOSERS and c in stack):
                        return _boundaries_paired(text, ps, pe, max_len)
                    elif c == "'" and j + 1 < pe:
                        nxt = text[j + 1]
                        if nxt.isalnum() or nxt == "_":
                            b = j
                            break
                if stack:
                    return _boundaries_paired(text, ps, pe, max_len)
            elif stack:
                return _boundaries_paired(text, ps, pe, max_len)
            else:
                strong = c in _STRONG
            if (
                b >= pe
                or text[b] in _CLAUSE_GO_ON
                or (
                    not strong
                    and not _weak_ends(text, a, text[a:b], ps, pe, ends[-1] if ends else ps)
                )
            ):
                continue
            if text[b] in "[0123456789":
                b = _footnote_end(text, b, pe)
                if b >= pe:
                    continue
                done = b
            ends.append(b)
        elif c in _PAIRS:
            stack.append(_PAIRS[c])
        elif stack:
            # A closer (or a straight quote): close the nearest mark expecting it.
            k = len(stack) - 1
            floor = max(-1, k - _STACK_SEARCH)
            while k > floor and stack[k] != c:
                k -= 1
            if k > floor:
                del stack[k:]
            elif c == '"':
                stack.append(c)
        elif c == '"':
            stack.append(c)
    ends.append(pe)
    return ends


def _boundaries_paired(text: str, ps: int, pe: int, max_len: int) -> list[int]:
    """:func:`_boundaries` for paragraphs with a candidate inside a quote or bracket."""
    ends: list[int] = []
    evpos, evkind = _pair_events(text, ps, pe, max_len)
    ne = len(evpos)
    ei = 0
    depth = 0
    for m in _CLUSTER.finditer(text, ps, pe):
        a = m.start()
        b = m.end()
        while ei < ne and evpos[ei] < a:
            depth += evkind[ei]
            ei += 1
        cl = m.group()
        if len(cl) == 1:
            strong = cl in _STRONG
        else:
            strong = False
            for j, c in enumerate(cl):
                if c in _TERMS:
                    if c in _STRONG or (j > 0 and c in _WEAK):
                        strong = True
                    continue
                q = a + j
                if ei < ne and evpos[ei] == q:
                    if evkind[ei] > 0:  # a straight quote that opens the next unit
                        b = q
                        break
                    depth -= 1
                    ei += 1
                elif c in "\"'" and q + 1 < pe:
                    nxt = text[q + 1]
                    if nxt.isalnum() or nxt == "_":
                        b = q
                        break
        # Title marks 》〉 are no cluster closers, so inside a title depth stays > 0.
        if depth > 0 or b >= pe or text[b] in _CLAUSE_GO_ON:
            continue
        if not strong and not _weak_ends(text, a, cl, ps, pe, ends[-1] if ends else ps):
            continue
        if text[b] in "[0123456789":
            b = _footnote_end(text, b, pe)
            if b >= pe:
                continue
        ends.append(b)
    ends.append(pe)
    return ends


def _weak_ends(text: str, a: int, cl: str, ps: int, pe: int, us: int) -> bool:
    """Whether a cluster without strong terminator (``. ? !``, ellipsis) ends a sentence.

    ``us`` is the start of the current unit (the last sentence end, or ``ps``).
    """
    c0 = cl[0]
    if len(cl) > 1 and cl[1] in _TERMS:
        # "?!", "!!": a run of two weak marks; dots and ellipses: mid-paragraph ellipsis.
        return c0 in _WEAK and cl[1] in _WEAK + _STRONG
    if c0 in _ELLIPSES:
        return False
    nxt = text[a + 1] if a + 1 < pe else " "
    prv = text[a - 1] if a > ps else " "
    if c0 in _WEAK:
        # URL query or fragment: "a.php?x=1", "#!/path"
        return not (nxt in _URL_GLUE and prv in _URL_GLUE)
    if c0 == "．":
        if prv.isdigit() and nxt.isdigit():
            return False
        return not _list_number(text, a, ps, us, cl)
    # ASCII full stop.
    if (nxt == " " and text[a + 2 : a + 3] == ".") or (
        prv == " " and a - 2 >= ps and text[a - 2] == "."
    ):
        spaced = _spaced_dots(text, a, ps, pe)
        if spaced is not None:
            return spaced
    if nxt in _ASCII_WORD or nxt.isdigit():
        if (
            nxt.isdigit()
            and (prv.islower() or prv in ")]")
            and _FOOTNOTE_NUMS.match(text, a + 1, pe)
        ):
            return True  # footnote numbers: "a cold.12 Take"
        if (ord(prv) < 0x2E80 or prv.isdigit()) and not _glued_sentence(text, a, ps, pe, prv, nxt):
            return False  # decimal, date, version, domain, e-mail, ".NET"
    m = _WORD_TAIL.search(text, max(ps, a - 16), a)
    if m is not None:
        word = m.group()
        low = word.lower()
        if low in _ABBREVS or word in _CASED_ABBREVS or _INITIALISM.fullmatch(word) is not None:
            return False
        if "." in word:  # glued sentences: "on Tuesday.Mr. Li"
            word = word.rsplit(".", 1)[1]
            low = word.lower()
            if low in _ABBREVS or word in _CASED_ABBREVS:
                return False
        if (
            len(word) == 1
            and (a - 1 == ps or text[a - 2] in _LETTER_LEFT)
            and not (word == "I" and _pronoun_i(text, m.start(), ps))
        ):
            return False  # an initial ("J. K. Rowling") or a letter ("item b. below"), not "don't."
        if low in _NUMBER_ABBREVS and _next_char(text, a + 1, pe).isdigit():
            return False  # "p. 55", "no. 5"
    elif (
        prv in "°º"
        and a - 2 >= ps
        and text[a - 2] in "Nn"
        and _next_char(text, a + 1, pe).isdigit()
    ):
        return False  # "N°. 12"
    if nxt.isspace():
        k = text[a + 2] if nxt == " " and a + 2 < pe else _next_char(text, a + 1, pe)
        if "a" <= k <= "z":
            # A lower-case word goes on with the sentence ("a min. or two"), but a
            # camel-cased name ("iPhone") or a letter list marker ("b. ") may open the next one.
            j = text.find(k, a + 1, pe) + 1
            if not (j < pe and (text[j].isupper() or _letter_marker(text, j, pe))):
                return False
    return not (prv.isdigit() and _list_number(text, a, ps, us, cl))


def _letter_marker(text: str, j: int, pe: int) -> bool:
    """Whether the letter before ``j`` is a list marker: ``b. `` or ``b) ``."""
    return text[j] in ".)" and j + 1 < pe and text[j + 1].isspace()


def _next_char(text: str, k: int, pe: int) -> str:
    """The first non-space character at or after ``k`` in the paragraph, or " "."""
    while k < pe and text[k].isspace():
        k += 1
    return text[k] if k < pe else " "


def _pronoun_i(text: str, ws: int, ps: int) -> bool:
    """Whether the "I" starting at ``ws`` follows a lower-case word (``you and I.``)."""
    m = _PREV_WORD.search(text, max(ps, ws - 24), ws)
    return m is not None and m.group(1)[0].islower()


def _glued_sentence(text: str, a: int, ps: int, pe: int, prv: str, nxt: str) -> bool:
    """Whether a stop with no space after it still ends a sentence: "world.Today", "1,000.That".

    A lower-case letter or digit before, a capitalised word after, and no URL or
    e-mail address around it.
    """
    if not ("A" <= nxt <= "Z" and (prv.islower() or prv.isdigit())):
        return False
    k = a + 2
    if not (k < pe and "a" <= text[k] <= "z"):
        return False
    ts = max(text.rfind(" ", ps, a), text.rfind("\n", ps, a)) + 1
    te = text.find(" ", a, pe)
    token = text[ts : te if te >= 0 else pe]
    if token.startswith("www.") or any(c in token for c in "/@:"):
        return False
    d = token.find(".", a + 1 - ts)  # "site.Example.com": a domain goes on after the word
    return d < 0 or d + 1 >= len(token) or not token[d + 1].isalnum()


def _spaced_dots(text: str, a: int, ps: int, pe: int) -> bool | None:
    """Decide a stop inside a spaced ellipsis (``. . .``); None when there is none.

    Three spaced dots are an ellipsis (sentence-internal mid-paragraph). A stop
    glued to the word before and followed by a spaced ellipsis ends the sentence
    there (``done. . . . Then``); a spaced ellipsis followed by a fourth dot
    (``so . . . . Then``) ends it after that dot. At the paragraph end the whole
    run stays with the sentence.
    """
    rs = a
    while rs - 2 >= ps and text[rs - 1] == " " and text[rs - 2] == ".":
        rs -= 2
    re_ = a + 1
    while re_ + 1 < pe and text[re_] == " " and text[re_ + 1] == ".":
        re_ += 2
    n = (re_ - rs + 1) // 2
    if n < 3:
        return None
    if re_ >= pe:
        return False
    glued = rs > ps and not text[rs - 1].isspace()
    if glued and n >= 4:
        return None if a == rs else False  # the first dot is a stop, judged as usual
    if not glued and n >= 4:
        return a == re_ - 1
    return False


def _footnote_end(text: str, b: int, pe: int) -> int:
    """End of footnote references right after a sentence end at ``b`` (or ``b``)."""
    if text[b] == "[":
        m = _FOOTNOTE_REFS.match(text, b, pe)
    elif text[b - 1] == ".":
        m = _FOOTNOTE_NUMS.match(text, b, pe)
    else:
        return b
    return b if m is None else m.end()


def _list_number(text: str, a: int, ps: int, us: int, cl: str) -> bool:
    """Whether the stop at ``a`` closes a list number ("1. ", "１．", "2.)", "• 3.", "；4.").

    A list number stands at a line start, at the start of a unit (after a sentence
    end) or after ``；：，、``, and is followed by a space, a CJK character or ``)``.
    """
    nxt = text[a + 1] if a + 1 < len(text) else " "
    if not (nxt.isspace() or ord(nxt) >= 0x2E80 or cl[1:2] in (")", "）")):
        return False
    k = a
    while k > ps and a - k <= 3 and text[k - 1].isdigit():
        k -= 1
    if k == a or a - k > 3:
        return False
    d = k
    while k > ps and text[k - 1] in " \t\u3000":
        k -= 1
    if k > ps and (text[k - 1] in _LIST_GLUE or (k < d and text[k - 1] in ",:")):
        return True
    if k > ps and text[k - 1] in "•●▪◦·":
        k -= 1
        while k > ps and text[k - 1] in " \t\u3000":
            k -= 1
    return k in (ps, us) or text[k - 1] in _LINE_BREAKS


def _cap(text: str, a: int, b: int, max_len: int) -> Iterator[tuple[int, int]]:
    """Cut the stripped span [a, b) into pieces of at most ``max_len`` characters."""
    while b - a > max_len:
        cut = _best_cut(text, a, a + max_len, max_len)
        piece = text[a:cut].rstrip()
        yield a, a + len(piece)
        m = _NONSPACE.search(text, cut, b)
        if m is None:  # cannot happen: text[b - 1] is not whitespace
            return
        a = m.start()
    yield a, b


def _best_cut(text: str, a: int, lim: int, max_len: int) -> int:
    """Best end (exclusive) of a piece starting at ``a`` and ending at or before ``lim``."""
    semi = max(text.rfind("；", a, lim), _last_ascii_break(text, ";", a, lim)) + 1
    comma = max(
        text.rfind("，", a, lim), text.rfind("、", a, lim), _last_ascii_break(text, ",", a, lim)
    )
    comma += 1
    space = max(text.rfind(c, a + 1, lim + 1) for c in " \n\t\u3000\r")
    floor = a + max_len // 2
    for cut in (semi, comma, space):
        if cut > floor:
            return cut
    for cut in (semi, comma, space):
        if cut > a:
            return cut
    cut = lim
    if cut < len(text):
        if _NON_TOKEN.match(text, cut - 1) is None and _NON_TOKEN.match(text, cut) is None:
            # Inside a token (number, URL, word): cut before it if it starts after ``a``.
            window = text[a:cut][::-1]
            m = _NON_TOKEN.search(window)
            if m is not None:
                cut -= m.start()
        while cut > a + 1 and unicodedata.combining(text[cut]):
            cut -= 1
    return cut


def _last_ascii_break(text: str, mark: str, a: int, lim: int) -> int:
    """Last ``mark`` in [a, lim) not inside a token ("1,299", "a=1,2"), or -1."""
    k = text.rfind(mark, a, lim)
    while k > 0 and k + 1 < len(text):
        if _NON_TOKEN.match(text, k - 1) is not None or _NON_TOKEN.match(text, k + 1) is not None:
            break
        k = text.rfind(mark, a, k)
    return k
