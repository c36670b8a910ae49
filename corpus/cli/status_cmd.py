"""`corpus status`: progress and agreement of a project while it is being labelled."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corpus.cli.common import ProjectOpt, WorkspaceOpt, console, escape, out, workspace
from corpus.cli.schema_cmd import SchemaOpt


def status_cli(
    project: ProjectOpt,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for scripts.")]
    = False,
    png: Annotated[Path | None, typer.Option(
        "--png", help="Also draw progress and agreement per annotator into this PNG "
        "(`chart` extra).", show_default=False)] = None,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Progress, agreement so far and each annotator's work (as of the last `corpus pull`)."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.team import project_status, render_status_chart

    st = project_status(workspace(ws_dir), project, load_schema(schema))
    if png is not None:
        render_status_chart(st, png)
    if as_json:
        sys.stdout.write(json.dumps(st.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        return
    done = sum(n for k, n in st.progress.items() if st.overlap and k >= st.overlap)
    out.print(f"[bold]{escape(project)}[/]: {st.tasks} tasks"
              + (f", each for {st.overlap} annotators; {done} complete" if st.overlap else "")
              + " (as of the last pull)")
    progress = Table(title="tasks by annotators so far", title_justify="left")
    progress.add_column("annotators", justify="right")
    progress.add_column("tasks", justify="right")
    for k, n in st.progress.items():
        progress.add_row(str(k), str(n))
    out.print(progress)
    if st.fields:
        alpha = Table(title="Krippendorff's alpha so far (95% bootstrap interval)",
                      title_justify="left")
        for col in ("field", "kind", "alpha", "interval", "units"):
            alpha.add_column(col)
        for f in st.fields:
            alpha.add_row(f.field, f.kind, "-" if f.alpha is None else f"{f.alpha:.3f}",
                          f"{f.low:.3f} to {f.high:.3f}" if f.low is not None
                          and f.high is not None else "-", str(f.units))
        out.print(alpha)
    if st.annotators:
        people = Table(title="annotators", title_justify="left")
        for col in ("annotator", "done", "skipped", "median lead time", "vs others",
                    "vs majority", ""):
            people.add_column(col)
        for a in st.annotators:
            s = a.stats
            people.add_row(
                escape(s.annotator), str(s.done), str(s.skipped),
                f"{s.median_lead_time:.1f} s" if s.median_lead_time is not None else "-",
                f"{s.agreement:.0%} of {s.shared}" if s.agreement is not None else "-",
                f"{a.vs_majority:.0%} of {a.majority_items}" if a.vs_majority is not None
                else "-", "[bold red]far below the rest[/]" if a.flagged else "")
        out.print(people)
    if st.predictions:
        acc = Table(title="predictions: accepted unchanged per model version",
                    title_justify="left")
        for col in ("model version", "tasks predicted", "annotations from it",
                    "accepted unchanged"):
            acc.add_column(col)
        for p in st.predictions:
            acc.add_row(escape(p.model_version), str(p.predicted), str(p.started),
                        f"{p.accepted} ({p.rate:.0%})" if p.rate is not None else "-")
        out.print(acc)
    if st.segment_feedback:
        fb = Table(title="sentences marked bad_split or junk (segmenter feedback)",
                   title_justify="left")
        for col in ("sentence_id", "label", "annotator", "text"):
            fb.add_column(col)
        for row in st.segment_feedback:
            fb.add_row(escape(row["sentence_id"]), row["label"], escape(row["annotator"]),
                       escape(row["text"][:80]))
        out.print(fb)
    if png is not None:
        console.print(f"chart: {escape(str(png))}")


def register(app: typer.Typer) -> None:
    """Add the `status` command."""
    app.command("status")(status_cli)
