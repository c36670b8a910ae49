"""`corpus pull`: Label Studio annotations -> workspace/annotations.parquet."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.table import Table

from corpus.cli.common import (
    ProjectOpt,
    WorkspaceOpt,
    console,
    escape,
    out,
    settings,
    workspace,
)
from corpus.cli.progress import progress_bar
from corpus.cli.schema_cmd import SchemaOpt


def pull_cli(
    ctx: typer.Context,
    project: ProjectOpt,
    full: Annotated[bool, typer.Option("--full", help="Re-read every annotated task (one "
                                       "snapshot export) and replace the project's rows.")
                    ] = False,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=16,
        help="Data Manager requests in flight at once (more help only a server with "
        "several worker processes).")] = 2,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Fetch new and changed annotations (incremental; --full to reconcile everything)."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.annotations import pull

    s = load_schema(schema)
    ws = workspace(ws_dir)
    with progress_bar("pull") as update:
        report = pull(ws, project, full=full, progress=update, schema=s, workers=workers,
                      allow_insecure=settings(ctx).allow_insecure)
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    table = Table(title=f"annotations of {project!r} by label", title_justify="left")
    table.add_column("field")
    table.add_column("value")
    table.add_column("count", justify="right")
    for f in s.fields:
        counts = report.label_counts.get(f.name) or Counter()
        for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(f.name, escape(value), str(n))
    if table.row_count:
        out.print(table)
    out.print(escape(report.summary()))
    from corpus.labelstudio.adjudication import pull_decisions

    for r in pull_decisions(ws, project, full=full, schema=s,
                            allow_insecure=settings(ctx).allow_insecure):
        out.print(escape(r.summary()))
    if report.rejected:
        console.print(f"[bold yellow]{report.rejected} annotations did not fit the schema[/] "
                      f"and are not in annotations.parquet: see {escape(str(report.rejects_path))}")


def register(app: typer.Typer) -> None:
    """Add the `pull` command."""
    app.command("pull")(pull_cli)
