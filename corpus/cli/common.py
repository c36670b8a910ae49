"""Shared CLI plumbing: options, error reporting, consoles."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from corpus.errors import CorpusError
from corpus.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

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


def debug_enabled() -> bool:
    """True when --debug was given (or CORPUS_DEBUG=1)."""
    return os.environ.get("CORPUS_DEBUG", "") not in ("", "0")


def workspace(path: Path | None) -> Workspace:
    return Workspace.resolve(path)


def handle_errors(fn: F) -> F:
    """Turn library errors into a one-line message naming the fix (traceback with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CorpusError as exc:
            if debug_enabled():
                console.print_exception()
            fix = f" [dim](fix: {escape(exc.hint)})[/]" if exc.hint else ""
            console.print(f"[bold red]error:[/] {escape(exc.message)}{fix}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: finished writes are kept; run again to resume")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)
