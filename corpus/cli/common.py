"""Shared CLI plumbing: options, the settings of the root command, consoles."""

from __future__ import annotations

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


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)
