"""`corpus adjudicate`: open (or extend) a review round for the disagreements of a project."""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli.common import ProjectOpt, WorkspaceOpt, escape, out, settings, workspace
from corpus.cli.schema_cmd import SchemaOpt


def adjudicate_cli(
    ctx: typer.Context,
    project: ProjectOpt,
    into: Annotated[str | None, typer.Option(
        "--into", help="Title of the adjudication project (default: P-adjudication).")] = None,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="Instead of the default rule (claim disagreement, or a tie on a "
        "single field or stance target): KEY=VALUE, KEY `agreement` or a single field; "
        "repeat for OR.")] = None,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Send the sentences that need a decision (as of the last pull) to an adjudicator."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.adjudication import open_round

    report = open_round(workspace(ws_dir), project, into=into, where=where or (),
                        schema=load_schema(schema),
                        allow_insecure=settings(ctx).allow_insecure)
    out.print(escape(report.summary()))


def register(app: typer.Typer) -> None:
    """Add the `adjudicate` command."""
    app.command("adjudicate")(adjudicate_cli)
