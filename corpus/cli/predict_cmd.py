"""`corpus predict`: pre-annotations (Label Studio predictions) for a project's tasks."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from rich.table import Table

from corpus.cli.common import ProjectOpt, WorkspaceOpt, escape, out, settings, workspace
from corpus.cli.progress import progress_bar
from corpus.cli.schema_cmd import SchemaOpt


class ModelName(str, enum.Enum):
    """``--model``: the models of ``corpus.labelstudio.predictions.MODELS``."""

    heuristic = "heuristic"
    baseline = "baseline"


def predict_cli(
    ctx: typer.Context,
    project: ProjectOpt,
    model: Annotated[ModelName, typer.Option(
        "--model", case_sensitive=False,
        help="heuristic: transparent claim cues (no training); baseline: character n-grams "
        "and a linear classifier trained on the project's pulled labels.")
    ] = ModelName.heuristic,
    show: Annotated[int, typer.Option(
        "--show", min=0, help="Print the N least certain sentences with the cues behind "
        "their prediction (0: none).")] = 5,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Pre-fill the annotators' screen: attach a model's predictions to the project's tasks."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.predictions import least_certain, predict

    ws = workspace(ws_dir)
    with progress_bar(f"predict ({model.value})") as update:
        report = predict(ws, project, model=model.value, progress=update,
                         schema=load_schema(schema),
                         allow_insecure=settings(ctx).allow_insecure)
    for note in report.model_notes:
        out.print(escape(note))
    if report.answers:
        table = Table(title=f"suggested by {report.model_version}", title_justify="left")
        table.add_column("answer")
        table.add_column("tasks", justify="right")
        for key, n in sorted(report.answers.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(escape(key), str(n))
        out.print(table)
    if report.cue_kinds:
        out.print("cues: " + ", ".join(f"{escape(k)} {n}" for k, n in
                                       report.cue_kinds.most_common()))
    rows = least_certain(ws, project, report.model_version, show)
    if rows:
        why = Table(title="least certain first (what the queue serves with --order uncertain)",
                    title_justify="left")
        for col in ("score", "sentence", "answers", "cues"):
            why.add_column(col)
        for r in rows:
            why.add_row(f"{r['score']:.2f}", escape(str(r.get("text", ""))[:60]),
                        escape(_short_answers(r["answers"])), escape("; ".join(r["cues"])))
        out.print(why)
    out.print(escape(report.summary()))


def _short_answers(answers_json: str) -> str:
    import json

    answers = json.loads(answers_json)
    shown = [f"{k}={v if isinstance(v, str) else ','.join(v)}" for k, v in answers.items()
             if not k.startswith("stance__")]
    n_stance = sum(1 for k in answers if k.startswith("stance__"))
    return "; ".join(shown + ([f"{n_stance} stance"] if n_stance else []))


def register(app: typer.Typer) -> None:
    """Add the `predict` command."""
    app.command("predict")(predict_cli)
