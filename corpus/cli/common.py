"""Shared CLI plumbing: options, the settings of the root command, consoles, safe text."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corpus.workspace import Workspace

console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $CORPUS_WORKSPACE or ./workspace).",
        show_default=False,
    ),
]


def finite_seconds(value: float | None) -> float | None:
    """Option callback: a finite number of seconds above 0 (click's FloatRange lets nan by)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value} is not a finite number of seconds above 0.")
    return value


def project_name(value: str | None) -> str | None:
    """Option callback: a project name Label Studio accepts, checked before any work."""
    from corpus.errors import ConfigError
    from corpus.labelstudio.sync import check_project_name

    if value is None:
        return value
    try:
        return check_project_name(value)
    except ConfigError as exc:
        raise typer.BadParameter(f"{safe_text(exc.message)} ({exc.hint})") from None


ProjectOpt = Annotated[str, typer.Option(
    "--project", "-p", callback=project_name,
    help="Label Studio project title (3 to 50 characters).")]


@dataclass(frozen=True)
class Settings:
    """Options of the root command (``corpus --debug --allow-insecure ...``)."""

    debug: bool = False
    allow_insecure: bool = False


def settings(ctx: typer.Context) -> Settings:
    """The root command's settings (``corpus --debug --allow-insecure``) seen from ``ctx``."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def workspace(path: Path | None) -> Workspace:
    return Workspace.resolve(path)


# What must never reach a terminal raw: C0/C1 controls and DEL (ESC sequences, newlines that
# split a one-line message), bidi overrides/isolates and line/paragraph separators (text that
# displays as something else), lone surrogates (unprintable; U+DC80-DCFF are the bytes of a
# non-UTF-8 file name as os.fsdecode gives them).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\n``,
    ``\\u202e``); any other unicode is kept as it is."""
    return _UNSAFE.sub(_escaped, text)


def escape(text: str) -> str:
    """``text`` made safe to print: control characters escaped (:func:`safe_text`) and rich
    markup escaped. Everything the CLI prints from a file, the user or a server goes
    through here."""
    from rich.markup import escape as _escape

    return _escape(safe_text(text))


class _QuietUnlessDebug(logging.Filter):
    """Drops every record: third-party chatter (jieba's cache traceback, its "Building
    prefix dict" lines) is not ours to print unless ``--debug``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_QUIET = _QuietUnlessDebug()
# Libraries that print through a handler of their own (the root logger's are silenced below).
_CHATTY = ("jieba",)


class _OneLineWarnings(logging.Handler):
    """Our own modules' log warnings (``corpus.*``) as one escaped ``warning:`` line each;
    they propagate on to the root logger, silent unless ``--debug``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # a bad format string must not stop the command
            text = str(record.msg)
        console.print(f"[yellow]warning:[/] {escape(text)}")


_OWN = _OneLineWarnings(logging.WARNING)


def configure_logging(*, debug: bool) -> None:
    """Logging for one CLI run. Ours (``corpus.*``): WARNING and above as one escaped line
    (INFO too with ``--debug``). Third parties and Python warnings: silent unless
    ``--debug``, then as they are. Fork-started split workers inherit this."""
    root = logging.getLogger()
    own = logging.getLogger("corpus")
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings"
    if debug:
        own.removeHandler(_OWN)
        own.setLevel(logging.INFO)
        for name in _CHATTY:
            logging.getLogger(name).removeFilter(_QUIET)
        logging.basicConfig(level=logging.WARNING)  # a no-op if a handler is already there
        return
    own.setLevel(logging.NOTSET)
    own.addHandler(_OWN)  # once: addHandler ignores a handler it already has
    for name in _CHATTY:
        logging.getLogger(name).addFilter(_QUIET)
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())  # no "last resort" printing to stderr
