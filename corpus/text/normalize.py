"""Character normalisation and language detection of plain text (pure ``str`` functions).

``normalize`` fixes characters (line endings, control, zero-width and bidi
characters, NFC); ``detect_lang`` tells Chinese, English and mixed text apart.
"""

from __future__ import annotations

import re
import unicodedata

# Control characters except \t and \n, zero-width space, bidi marks and overrides, BOM,
# (ZWJ/ZWNJ stay: emoji sequences and Persian/Indic words need them),
# and lone surrogates (from errors="surrogatepass" sources or JSON escapes).
_STRIP_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff]"
)
_TRAILING_WS = re.compile(r"[ \t\u3000\u00a0]+$", re.MULTILINE)
_MANY_BLANKS = re.compile(r"\n{3,}")


def normalize(text: str) -> str:
    """NFC, ``\\n`` line endings, no control/zero-width/bidi-override characters.

    Full-width digits and punctuation are kept (NFC, not NFKC): the segmenter
    understands them and offsets must refer to what annotators see.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n").replace("\t", " ")
    text = _STRIP_CHARS.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _TRAILING_WS.sub("", text)
    return _MANY_BLANKS.sub("\n\n", text).strip("\n ")


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_lang(text: str, sample: int = 4000) -> str:
    """``zh``, ``en``, ``mixed`` or ``und`` from the share of CJK and Latin letters."""
    head = text[:sample]
    cjk = len(_CJK.findall(head))
    latin = len(_LATIN.findall(head))
    if cjk + latin == 0:
        return "und"
    share = cjk / (cjk + latin / 4)  # ~4 Latin letters carry what one CJK character does
    if share >= 0.8:
        return "zh"
    if share <= 0.2:
        return "en"
    return "mixed"
