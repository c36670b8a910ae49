"""`corpus up`: the main job. Start Label Studio, ingest + split, push, print next steps."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from corpus.articles.ingestion import ingest
from corpus.articles.readers import DEFAULT_MAX_ARTICLE_MB
from corpus.cli.common import (
    ProjectOpt,
    WorkspaceOpt,
    console,
    escape,
    out,
    settings,
    workspace,
)
from corpus.cli.ingest_cmd import MaxArticleOpt, print_ingest, run_split
from corpus.cli.progress import progress_bar
from corpus.cli.push_cmd import OverlapOpt, warn_few_annotators
from corpus.cli.schema_cmd import (
    AcceptSuggestedOpt,
    TargetsFileOpt,
    TargetsOpt,
    chosen_targets,
)
from corpus.cli.server_cmd import announce_first_start
from corpus.labelstudio import server
from corpus.labelstudio.tasks import push


def up_cli(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Article files or folders.", readable=False)
    ],
    project: ProjectOpt = "claims",
    targets: TargetsOpt = None,
    targets_file: TargetsFileOpt = None,
    accept_suggested: AcceptSuggestedOpt = False,
    ws_dir: WorkspaceOpt = None,
    max_len: Annotated[int, typer.Option(min=1, help="Sentence length cap in characters.")]
    = 300,
    max_article_mb: MaxArticleOpt = DEFAULT_MAX_ARTICLE_MB,
    overlap: OverlapOpt = None,
) -> None:
    """Everything on one go, safe to run again: server, ingest, split, push."""
    ws = workspace(ws_dir)
    chosen = chosen_targets(targets, targets_file)  # a bad targets file fails before any work
    if os.environ.get("LABEL_STUDIO_URL"):
        out.print(f"Label Studio: {escape(os.environ['LABEL_STUDIO_URL'])} (LABEL_STUDIO_URL)")
        info = None
    else:
        announce_first_start()
        with console.status("[bold]starting Label Studio…", spinner="dots") as spin:

            def say(line: str) -> None:
                spin.update(f"[bold]{escape(line[:100])}")

            info = server.start(ws, progress=say)
        out.print(f"Label Studio {'started' if info.started else 'already running'}: "
                  f"{escape(info.url)}")

    with progress_bar("ingest") as update:
        report = ingest(paths, ws, progress=update, max_article_mb=max_article_mb)
    print_ingest(report, str(ws.articles))
    if report.added or not ws.sentences.exists():
        run_split(ws.root, max_len, max_article_mb=max_article_mb)
    else:
        out.print("split: no new articles; sentences.parquet unchanged")

    with progress_bar("push") as update:
        pushed = push(ws, project, targets=chosen,
                      progress=update, allow_insecure=settings(ctx).allow_insecure,
                      accept_suggested=accept_suggested, overlap=overlap)
    out.print(escape(pushed.summary()))
    warn_few_annotators(pushed)

    out.print("\n[bold]Next steps[/]")
    if info is not None:
        out.print(f"  1. open {escape(info.url)} and log in as {escape(info.email)}")
        out.print(f"     (password in {escape(str(info.credentials_path))}, mode 0600)")
    else:
        out.print(f"  1. open {escape(os.environ['LABEL_STUDIO_URL'])} and label project "
                  f"{escape(project)!r}")
    exe, where = _executable(), f"-w {shlex.quote(str(ws.root))}"
    out.print(f"  2. label the tasks of project {escape(project)!r}; each goes to "
              f"{pushed.overlap} annotator{'s' if pushed.overlap > 1 else ''}"
              + (escape(f" (add them: {exe} annotators add EMAIL... {where})")
                 if pushed.overlap > 1 else ""))
    out.print(escape(f"  3. {exe} pull --project {shlex.quote(project)} {where}"))
    out.print(escape(f"  4. {exe} release {shlex.quote(project)} {where}"))
    if report.failed:
        raise typer.Exit(1)


def _executable() -> str:
    """How to run this very ``corpus`` from a new shell (any folder, no venv activated):
    ``corpus`` when that is what PATH finds, else the absolute path of this executable."""
    here = Path(sys.argv[0]).absolute() if sys.argv and sys.argv[0] else None
    if here is None or here.name != "corpus" or not here.is_file():
        return f"{shlex.quote(sys.executable)} -m corpus"
    on_path = shutil.which("corpus")
    if on_path is not None and Path(on_path).resolve() == here.resolve():
        return "corpus"
    return shlex.quote(str(here))


def register(app: typer.Typer) -> None:
    app.command("up")(up_cli)
