"""`corpus push`: sentences -> Label Studio tasks (idempotent, crash-safe)."""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli.common import (
    ProjectOpt,
    WorkspaceOpt,
    escape,
    finite_seconds,
    out,
    settings,
    workspace,
)
from corpus.cli.progress import progress_bar
from corpus.cli.schema_cmd import SchemaOpt, split_targets


def push_cli(
    ctx: typer.Context,
    project: ProjectOpt,
    targets: Annotated[
        str | None,
        typer.Option("--targets", "-t",
                     help="Stance targets, comma-separated (default: the project's, else "
                     "suggested from the corpus)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(
        min=0, help="Import at most N new tasks (0: only create or update the project).")
    ] = None,
    articles: Annotated[
        str | None, typer.Option(help="Only these article ids, comma-separated.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Tasks per import request.")] = 2000,
    import_timeout: Annotated[float, typer.Option(
        callback=finite_seconds,
        help="Seconds one import request may take; a slower one stops the push with "
        "'temporary: run again' and the next push reconciles it.")] = 600.0,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Import one Label Studio task per sentence; re-running imports nothing twice."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.tasks import push

    ws = workspace(ws_dir)
    with progress_bar("push") as update:
        report = push(ws, project, targets=split_targets(targets) if targets is not None
                      else None, limit=limit,
                      articles=split_targets(articles) or None, batch_size=batch_size,
                      progress=update, schema=load_schema(schema),
                      allow_insecure=settings(ctx).allow_insecure,
                      import_timeout=import_timeout)
    out.print(escape(report.summary()))
    if report.targets_suggested:
        out.print("[yellow]stance targets were suggested from the corpus[/]; to change them "
                  "before anyone annotates, run "
                  f"`corpus push --project {escape(project)} --targets a,b,c`")
    out.print(f"open {escape(report.url)}/projects/{report.project_id}/data")


def register(app: typer.Typer) -> None:
    """Add the `push` command."""
    app.command("push")(push_cli)
