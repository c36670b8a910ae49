"""`corpus segment`: sentences of a plain text as JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from corpus.articles.decode import decode_bytes
from corpus.articles.files import read_regular, source_name
from corpus.text.segmenter import segment


def segment_cli(
    file: Annotated[str, typer.Argument(help="A text file, or - for standard input.")] = "-",
    lang: Annotated[str | None, typer.Option(help="Language hint: zh, en (default: auto).")] = None,
    max_len: Annotated[int, typer.Option(min=1, help="Sentence length cap in characters.")]
    = 300,
) -> None:
    """Print one JSON object per sentence: text, start, end, kind, para_idx, sent_idx.

    Offsets index the text exactly as given (after decoding and \\r\\n -> \\n).
    """
    if file == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        path = Path(file)  # only a regular file is opened: a FIFO is refused, not waited on
        data, name = read_regular(path, listed=False), source_name(path)
    text, _ = decode_bytes(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    write = sys.stdout.write
    for s in segment(text, lang, max_len=max_len):
        write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")


def register(app: typer.Typer) -> None:
    app.command("segment")(segment_cli)
