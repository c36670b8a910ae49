"""The metadata fields of a JSONL row, checked: normalised, coerced with a warning, or refused.

What each field accepts (docs/design.md, "Ingest: JSONL rows"):

- ``id``: a string or an integer (``42`` -> ``"42"``, the same id). Refused (the row
  is rejected, named): any other JSON type; an id with ``/`` or ``\\``, made only of dots,
  with a line break or another control or format character, or over 200 characters.
  Leading and trailing spaces are dropped; the text is put in NFC.
- ``title``: a string (line breaks become spaces). An integer is stored as its digits,
  with a warning; anything else (object, list, boolean, float) is dropped, with a warning.
- ``published_at``: an ISO 8601 date or date-time string is kept as given; the same date
  written ``2025/9/23``, ``2025.09.23`` or ``2025年9月23日`` (optionally with ``HH:MM[:SS]``)
  is rewritten as ISO 8601. Anything else (``"not a date"``, ``2025-13-45``, a number,
  which could be seconds, milliseconds or a year) is dropped, with a warning.
- ``tags``: a list of strings, or one string split at commas. Integers in the list are
  stored as their digits, with a warning; ``null``, booleans, floats, objects and lists
  are dropped, with a warning. Any other type for the whole field is dropped, with a
  warning.
- ``url``: a string on one line (it becomes ``source``); anything else is dropped, with a
  warning, and ``source`` stays ``file:line``.

A warning is ``(message, hint)``; each message names ``file:line``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from corpus.errors import InputError
from corpus.text.normalize import normalize

Warnings = list[tuple[str, str]]

MAX_ID_LEN = 200
_DATE_HINT = "write dates as ISO 8601, e.g. 2025-09-23 or 2025-09-23T08:30:00+08:00"
_TAGS_HINT = 'write tags as a list of strings, e.g. ["芯片", "美国"]'
_TITLE_HINT = "write the title as a string"
_LOOSE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                         r"(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_EXTENDED = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\S*)?")
_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")
_LINE_BREAKS = re.compile(r"\s*\n\s*")


def show(value: Any, limit: int = 40) -> str:
    """A JSON value as the user wrote it (shortened), for messages."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def article_id(value: Any, where: str) -> str | None:
    """The row's own id, or None (the content hash is used); InputError rejects the row."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    hint = "give the row a short string id without slashes or line breaks, or leave id out"
    if not isinstance(value, str):
        raise InputError(f"{where}: id {show(value)} is {_json_type(value)}, not a string; "
                         "row not ingested", hint=hint)
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        return None
    bad = next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")),
               None)
    if bad is not None:
        reason = "a line break" if bad in "\n\r\u2028\u2029\x85" else \
            f"the control character U+{ord(bad):04X}"
        raise InputError(f"{where}: id {show(value)} contains {reason}; row not ingested",
                         hint=hint)
    if "/" in text or "\\" in text or set(text) == {"."}:
        raise InputError(f"{where}: id {show(value)} looks like a path (a slash, or only dots); "
                         "row not ingested", hint=hint)
    if len(text) > MAX_ID_LEN:
        raise InputError(f"{where}: id is {len(text):,} characters long (at most {MAX_ID_LEN}); "
                         "row not ingested", hint=hint)
    return text


def title(value: Any, where: str, warnings: Warnings) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        warnings.append((f"{where}: title {value} is a number; stored as the text {str(value)!r}",
                         _TITLE_HINT))
        return str(value)
    if not isinstance(value, str):
        warnings.append((f"{where}: title {show(value)} is {_json_type(value)}, not a string; "
                         "dropped", _TITLE_HINT))
        return None
    text = _LINE_BREAKS.sub(" ", normalize(value)).strip()
    return text or None


def published_at(value: Any, where: str, warnings: Warnings) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        why = ("is a number, not a date (seconds, milliseconds or a year?)"
               if isinstance(value, (int, float)) and not isinstance(value, bool)
               else f"is {_json_type(value)}, not a date")
        warnings.append((f"{where}: published_at {show(value)} {why}; dropped", _DATE_HINT))
        return None
    iso = iso_date(value)
    if iso is None:
        warnings.append((f"{where}: published_at {show(value)} is not a date; dropped",
                         _DATE_HINT))
    return iso


def iso_date(value: str) -> str | None:
    """``value`` as an ISO 8601 date or date-time, or None if it is not a real date."""
    text = normalize(value).strip()
    parsed: date | None
    try:
        parsed = (datetime.fromisoformat(text.replace("Z", "+00:00"))
                  if "T" in text or " " in text else date.fromisoformat(text))
    except ValueError:
        parsed = None
    if parsed is not None:
        # ISO 8601 already: kept as given; other forms fromisoformat reads are rewritten
        return text if _EXTENDED.fullmatch(text) else parsed.isoformat()
    loose = _LOOSE_DATE.fullmatch(text)
    if loose:
        year, month, day = int(loose.group(1)), int(loose.group(2)), int(loose.group(3))
        hour, minute, second = loose.group(4), loose.group(5), loose.group(6)
        try:
            day_iso = date(year, month, day).isoformat()
            if hour is None:
                return day_iso
            clock = datetime(year, month, day, int(hour), int(minute), int(second or 0))
        except ValueError:
            return None
        return clock.isoformat(timespec="seconds" if second else "minutes")
    reduced = _YEAR_MONTH.fullmatch(text)  # ISO 8601 reduced precision: 2025, 2025-09
    if reduced and (reduced.group(2) is None or 1 <= int(reduced.group(2)) <= 12):
        return text
    return None


def tags(value: Any, where: str, warnings: Warnings) -> list[str] | None:
    """The row's tags, or None when the row has none (the body's tags are kept)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [t for t in (normalize(p).strip() for p in value.replace("，", ",").split(","))
                if t]
    if not isinstance(value, list):
        warnings.append((f"{where}: tags {show(value)} is {_json_type(value)}, not a list; "
                         "dropped", _TAGS_HINT))
        return None
    kept: list[str] = []
    coerced: list[str] = []
    dropped: list[str] = []
    for item in value:
        if isinstance(item, str):
            text = _LINE_BREAKS.sub(" ", normalize(item)).strip()
            if text:
                kept.append(text)
        elif isinstance(item, int) and not isinstance(item, bool):
            kept.append(str(item))
            coerced.append(str(item))
        else:
            dropped.append(show(item, 20))
    if coerced:
        warnings.append((f"{where}: tags: {len(coerced)} number(s) stored as text "
                         f"({', '.join(coerced[:5])})", _TAGS_HINT))
    if dropped:
        warnings.append((f"{where}: tags: {len(dropped)} value(s) that are not strings dropped "
                         f"({', '.join(dropped[:5])})", _TAGS_HINT))
    return kept


def url(value: Any, where: str, warnings: Warnings) -> str | None:
    if value is None:
        return None
    hint = "write the url as one string, e.g. https://example.com/news/1"
    if not isinstance(value, str):
        warnings.append((f"{where}: url {show(value)} is {_json_type(value)}, not a string; "
                         f"dropped (source is {where})", hint))
        return None
    text = normalize(value).strip()
    if "\n" in text:
        warnings.append((f"{where}: url {show(value)} has a line break; dropped "
                         f"(source is {where})", hint))
        return None
    return text or None
