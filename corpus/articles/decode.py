"""Bytes to text: BOMs, strict UTF-8, then charset detection (GB18030, Big5, UTF-16...)."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from corpus.errors import InputError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings charset-normalizer may pick (Chinese and Western news); GB18030 is a superset
# of GBK/GB2312. Japanese/Korean codecs are left out: they win too often on short GBK text.
_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16_le", "utf_16_be", "cp1252"]
_MAX_CHAOS = 0.25


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``; raise InputError naming ``source``."""
    if not data.strip():
        raise InputError(f"{source}: file is empty", hint="remove it or add the article text")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise _undecodable(source, encoding, exc) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        first_error = utf8_error
    if b"\x00" in data[:8192]:
        for encoding in _utf16_order(data):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if _texty(text):
                return text, encoding
        raise InputError(
            f"{source}: looks like a binary file (NUL bytes), not text",
            hint="pass only .txt/.md/.html/.jsonl articles",
        )
    best = from_bytes(data, cp_isolation=_CANDIDATES).best()
    if best is None or best.chaos > _MAX_CHAOS:
        raise _undecodable(source, "utf-8", first_error)
    encoding = best.encoding
    if encoding in ("gbk", "gb2312"):
        encoding = "gb18030"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise _undecodable(source, encoding, exc) from None


def _utf16_order(data: bytes) -> tuple[str, str]:
    """UTF-16 byte orders to try, likelier first (ASCII puts NULs at odd offsets in LE)."""
    sample = data[:4096]
    return ("utf-16-le", "utf-16-be") if sample[1::2].count(0) >= sample[0::2].count(0) else (
        "utf-16-be", "utf-16-le")


def _texty(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    good = sum(1 for ch in sample if ch.isprintable() or ch in "\n\r\t")
    return good / len(sample) > 0.97


def _undecodable(source: str, encoding: str, exc: UnicodeDecodeError) -> InputError:
    return InputError(
        f"{source}: undecodable bytes at byte {exc.start} (tried {encoding} and detection)",
        hint="re-save the file as UTF-8",
    )
