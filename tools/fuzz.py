"""Coverage-guided fuzzing (atheris) of the segmenter and the ingest cleaning path.

    .venv/bin/python tools/fuzz.py segment -runs=60000
    .venv/bin/python tools/fuzz.py ingest -runs=40000

Every input must pass without an unexpected exception and with the invariants:
offsets exact, sentences ordered and non-overlapping, nothing but whitespace lost,
no sentence over the cap, cleaned text free of control characters and surrogates.
A failure makes atheris print the input and exit non-zero (tests/test_fuzz.py runs it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports():
    from corpus.articles.clean import clean_article
    from corpus.articles.decode import decode_bytes
    from corpus.errors import InputError
    from corpus.text.normalize import normalize
    from corpus.text.segmenter import segment

_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b\ufeff\ud800-\udfff]")
_WS = re.compile(r"\s+")


def check_segments(text: str, max_len: int) -> None:
    sentences = segment(text, max_len=max_len)
    pos = 0
    kept = []
    for s in sentences:
        assert text[s.start:s.end] == s.text, (s, text)
        assert s.start >= pos, ("overlap or disorder", s)
        assert s.text and s.text == s.text.strip(), ("unstripped or empty", s)
        assert len(s.text) <= max_len, ("over the cap", len(s.text), max_len)
        assert not text[pos:s.start].strip(), ("lost text", text[pos:s.start])
        kept.append(s.text)
        pos = s.end
    assert not text[pos:].strip(), ("lost tail", text[pos:])
    assert _WS.sub("", "".join(kept)) == _WS.sub("", text)


def fuzz_segment(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    max_len = fdp.ConsumeIntInRange(8, 400)
    check_segments(fdp.ConsumeUnicodeNoSurrogates(len(data)), max_len)


def fuzz_ingest(data: bytes) -> None:
    try:
        text, _ = decode_bytes(data, "fuzz.txt")
    except InputError:
        return
    cleaned = clean_article(normalize(text))
    for part in (cleaned.text, cleaned.title or "", *cleaned.tags, *cleaned.references):
        assert not _BAD_CHARS.search(part), ("control or surrogate survived", part)
        part.encode("utf-8")  # strict: what Parquet and Label Studio will need
    check_segments(cleaned.text, 300)


def main() -> None:
    targets = {"segment": fuzz_segment, "ingest": fuzz_ingest}
    if len(sys.argv) < 2 or sys.argv[1] not in targets:
        raise SystemExit(f"usage: fuzz.py {{{'|'.join(targets)}}} [libFuzzer options]")
    target = targets[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
