"""Entry point of the ``corpus`` command and its one error handler.

Every command runs inside :class:`CorpusGroup.invoke`, so errors are reported
the same way everywhere: a ``CorpusError`` prints one line with the fix and
exits with its code (75 and "temporary: run again" for transient ones); any
other exception prints one line and "run with --debug for the traceback"; Ctrl-C exits 130.
Everything printed goes through :func:`corpus.cli.common.escape`: a control character in a
file name (ESC, newline) is shown as an escape, never sent to the terminal. Usage errors
(exit 2) are typer's, with what the user typed escaped the same way.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

from corpus.cli.common import Settings, configure_logging, console, escape, safe_text, settings
from corpus.errors import EXIT_FAILED, EXIT_INTERRUPTED, CorpusError

# Each module registers its commands on ``app`` (spaCy-style: one module per command group).
COMMAND_MODULES = [
    "corpus.cli.ingest_cmd",
    "corpus.cli.segment_cmd",
    "corpus.cli.server_cmd",
    "corpus.cli.schema_cmd",
    "corpus.cli.push_cmd",
    "corpus.cli.predict_cmd",
    "corpus.cli.pull_cmd",
    "corpus.cli.annotators_cmd",
    "corpus.cli.status_cmd",
    "corpus.cli.adjudicate_cmd",
    "corpus.cli.release_cmd",
    "corpus.cli.up_cmd",
]


EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe."""


def report_error(exc: BaseException, *, debug: bool) -> int:
    """Print ``exc`` as one line (and the traceback with ``--debug``); return the exit code."""
    if debug:
        console.print_exception()
    if isinstance(exc, CorpusError):
        fix = f" [dim](fix: {escape(exc.hint)})[/]" if exc.hint else ""
        label = "error (temporary: run again)" if exc.transient else "error"
        console.print(f"[bold red]{label}:[/] {escape(exc.message)}{fix}")
        return exc.exit_code
    detail = " ".join(str(exc).split())[:300]
    console.print(f"[bold red]error:[/] unexpected {type(exc).__name__}"
                  f"{': ' + escape(detail) if detail else ''}"
                  + ("" if debug else " [dim](run with --debug for the traceback)[/]"))
    return EXIT_FAILED


def _safe_usage_error(exc: click.ClickException) -> click.ClickException:
    """The framework's own message (it quotes what was typed), with control characters escaped."""
    setattr(exc, "message", safe_text(exc.message))  # noqa: B010 (Final in click's stubs)
    return exc


class CorpusGroup(TyperGroup):
    """The root command group: the one place where errors become messages and exit codes."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:  # a bad root option
            raise _safe_usage_error(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: finished writes are kept; run again to resume")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # the reader left (`corpus segment FILE | head`): nothing to report; stdout goes
            # to /dev/null so that the interpreter's final flush does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except click.ClickException as exc:  # usage errors: the framework reports them
            raise _safe_usage_error(exc) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("typer", "click")):
                raise  # exits and aborts: the framework handles them
            raise typer.Exit(report_error(exc, debug=settings(ctx).debug)) from None


app = typer.Typer(
    name="corpus",
    cls=CorpusGroup,
    help="Build human-labelled claim and stance corpora from news with Label Studio.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    allow_insecure: bool = typer.Option(
        False, "--allow-insecure",
        help="Allow a plain-HTTP LABEL_STUDIO_URL to a host other than loopback.",
    ),
) -> None:
    ctx.obj = Settings(debug=debug, allow_insecure=allow_insecure)
    configure_logging(debug=debug)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
