"""`corpus push`: sentences -> Label Studio tasks (idempotent, crash-safe)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from corpus.cli.common import (
    ProjectOpt,
    WorkspaceOpt,
    console,
    escape,
    finite_seconds,
    out,
    settings,
    workspace,
)
from corpus.cli.progress import progress_bar
from corpus.cli.schema_cmd import (
    AcceptSuggestedOpt,
    SchemaOpt,
    TargetsFileOpt,
    TargetsOpt,
    chosen_targets,
    split_targets,
)

if TYPE_CHECKING:
    from corpus.labelstudio.tasks import PushReport

class Dedup(str, enum.Enum):
    """``--dedup``: one task per cluster of repeated sentences, or every sentence."""

    on = "on"
    off = "off"


OverlapOpt = Annotated[int | None, typer.Option(
    min=1, help="Annotators per task (Label Studio's queue gives each task to N different "
    "annotators). Default: the project's setting; 2 for a new project.",
    show_default=False)]


class QueueOrder(str, enum.Enum):
    """``--order``: the keys of ``corpus.labelstudio.tasks.ORDERS``."""

    uncertain = "uncertain"
    random = "random"
    article = "article"


def push_cli(
    ctx: typer.Context,
    project: ProjectOpt,
    targets: TargetsOpt = None,
    targets_file: TargetsFileOpt = None,
    accept_suggested: AcceptSuggestedOpt = False,
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
    overlap: OverlapOpt = None,
    order: Annotated[QueueOrder | None, typer.Option(
        "--order", case_sensitive=False,
        help="The order Label Studio's queue serves tasks in: uncertain (lowest prediction "
        "score first; run `corpus predict`), random, or article (push order). Default: "
        "leave the project's setting (article for a new project).", show_default=False)
    ] = None,
    dedup: Annotated[Dedup, typer.Option(
        "--dedup", case_sensitive=False,
        help="on: one task per cluster of sentences that repeat across articles (a release "
        "gives its labels to the others); off: a task for every sentence.")] = Dedup.on,
    schema: SchemaOpt = None,
    ws_dir: WorkspaceOpt = None,
) -> None:
    """Import one Label Studio task per sentence; re-running imports nothing twice."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.tasks import push

    ws = workspace(ws_dir)
    with progress_bar("push") as update:
        report = push(ws, project, targets=chosen_targets(targets, targets_file), limit=limit,
                      articles=split_targets(articles) or None, batch_size=batch_size,
                      progress=update, schema=load_schema(schema),
                      allow_insecure=settings(ctx).allow_insecure,
                      import_timeout=import_timeout, overlap=overlap,
                      accept_suggested=accept_suggested,
                      order=order.value if order is not None else None,
                      dedup=dedup is Dedup.on)
    out.print(escape(report.summary()))
    if report.dedup_unavailable:
        console.print("[yellow]sentences.parquet has no clusters of repeated sentences[/] (split "
                      "by an older version): every sentence was sent; run `corpus split` to "
                      "find them")
    if report.targets_suggested:
        out.print("[yellow]you accepted the targets suggested from the corpus[/]; targets can "
                  "be added later (`--targets-file FILE` with the old ones kept)")
    warn_few_annotators(report)
    out.print(f"open {escape(report.url)}/projects/{report.project_id}/data")


def warn_few_annotators(report: PushReport) -> None:
    """Say so when the organisation has fewer accounts than annotators per task."""
    if report.annotators is not None and report.annotators < report.overlap:
        console.print(f"[yellow]each task waits for {report.overlap} annotators but the "
                      f"organisation has {report.annotators} account"
                      f"{'s' if report.annotators != 1 else ''}[/]: add them with "
                      "`corpus annotators add EMAIL...`")


def register(app: typer.Typer) -> None:
    """Add the `push` command."""
    app.command("push")(push_cli)
