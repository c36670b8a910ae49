"""Entry point of the ``corpus`` command."""

from __future__ import annotations

import importlib
import os

import typer

app = typer.Typer(
    name="corpus",
    help="Build human-labelled claim and stance corpora from news with Label Studio.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module registers its commands on ``app`` (spaCy-style: one module per command group).
COMMAND_MODULES = [
    "corpus.cli.ingest_cmd",
    "corpus.cli.segment_cmd",
    "corpus.cli.server_cmd",
    "corpus.cli.schema_cmd",
    "corpus.cli.push_cmd",
    "corpus.cli.pull_cmd",
    "corpus.cli.release_cmd",
    "corpus.cli.up_cmd",
]


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    allow_insecure: bool = typer.Option(
        False, "--allow-insecure",
        help="Allow a plain-HTTP LABEL_STUDIO_URL to a host other than localhost.",
    ),
) -> None:
    if debug:
        os.environ["CORPUS_DEBUG"] = "1"
    if allow_insecure:
        os.environ["CORPUS_ALLOW_INSECURE"] = "1"


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
