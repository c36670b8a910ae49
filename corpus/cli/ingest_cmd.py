"""`corpus ingest` and `corpus split`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corpus.articles.ingestion import IngestReport, ingest
from corpus.articles.readers import DEFAULT_MAX_ARTICLE_MB, article_limit
from corpus.cli.common import WorkspaceOpt, console, escape, out, workspace
from corpus.cli.progress import progress_bar
from corpus.errors import ConfigError
from corpus.sentences import ENGINES, MAX_WORKERS, SplitReport, split

AbbreviationsOpt = Annotated[list[Path] | None, typer.Option(
    "--abbreviations", help="Your own abbreviations file (see schema/abbreviations_en.txt), "
    "added to the shipped ones; repeatable.", show_default=False)]


def use_own_abbreviations(files: list[Path] | None) -> None:
    """Add ``files`` to the segmenter's abbreviations, here and (through the setting) in
    every worker process the split starts; a bad file fails before any work."""
    if not files:
        return
    import os

    from corpus.text.segmenter import ABBREVIATIONS_ENV, use_abbreviations

    given = [str(p.resolve()) for p in files]
    use_abbreviations(*given)
    os.environ[ABBREVIATIONS_ENV] = os.pathsep.join(
        [p for p in os.environ.get(ABBREVIATIONS_ENV, "").split(os.pathsep) if p] + given)


MaxArticleOpt = Annotated[float, typer.Option(
    "--max-article-mb", help="Refuse an article (a file, or a JSONL line) bigger than this "
    "many MB; split skips such articles already in the table.")]


EngineOpt = Annotated[str, typer.Option(
    help="local (this machine's cores) or ray (Ray Data; pip install 'claim-corpus[ray]').")]
AddressOpt = Annotated[str | None, typer.Option(
    help="Ray cluster to run on (ray://HOST:10001, HOST:6379 or auto); default: a local Ray.")]


def ingest_cli(
    paths: Annotated[
        list[str],
        # str, not Path: a Path would turn s3://bucket into s3:/bucket. Not checked by
        # typer: its check would refuse the whole command for one unreadable path;
        # ingest reports that path and reads the others.
        typer.Argument(help="Files or folders (.txt .md .html .jsonl, or named .parquet "
                       "document files); with --engine ray: JSONL/Parquet collections, "
                       "local or any filesystem pyarrow reads (s3://, gs://, hdfs://)."),
    ],
    workspace_dir: WorkspaceOpt = None,
    do_split: Annotated[
        bool, typer.Option("--split/--no-split", help="Also rebuild sentences.parquet.")
    ] = True,
    max_len: Annotated[int, typer.Option(min=1, help="Sentence length cap in characters.")]
    = 300,
    max_article_mb: MaxArticleOpt = DEFAULT_MAX_ARTICLE_MB,
    abbreviations: AbbreviationsOpt = None,
    engine: EngineOpt = "local",
    address: AddressOpt = None,
    output: Annotated[str | None, typer.Option(
        help="With --engine ray: the workers write articles/ and sentences/ Parquet folders "
        "here (any filesystem pyarrow reads) instead of the workspace.")] = None,
) -> None:
    """Read, clean and deduplicate articles into the workspace (then split them)."""
    use_own_abbreviations(abbreviations)
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}", hint="use local or ray")
    if output is not None and engine != "ray":
        raise ConfigError("--output needs --engine ray",
                          hint="add --engine ray, or leave --output out to use the workspace")
    if engine == "ray":
        _ingest_on_ray(paths, workspace_dir, do_split, max_len, max_article_mb, address,
                       output)
        return
    ws = workspace(workspace_dir)
    with progress_bar("ingest") as update:
        report = ingest([Path(p) for p in paths], ws, progress=update,
                        max_article_mb=max_article_mb)
    print_ingest(report, str(ws.articles))
    skipped = False
    if do_split and report.total_articles:
        skipped = bool(run_split(ws.root, max_len, max_article_mb=max_article_mb).skipped)
    if report.failed or skipped:
        raise typer.Exit(1)


def _ingest_on_ray(paths: list[str], workspace_dir: Path | None, do_split: bool,
                   max_len: int, max_article_mb: float, address: str | None,
                   output: str | None) -> None:
    from corpus.engines import SplitBatch
    from corpus.engines.ray_engine import ingest_documents
    from corpus.extras import require

    require("ray")  # the install hint before any work
    max_bytes = article_limit(max_article_mb)
    ws = None if output is not None else workspace(workspace_dir)
    sources = [p if "://" in p else str(Path(p).resolve()) for p in paths]
    console.print("[dim]ingest: reading and cleaning on Ray ...[/]")
    report = ingest_documents(sources, ws, output=output, max_bytes=max_bytes,
                              address=address, split_fn=SplitBatch.from_options(max_len))
    if ws is not None:
        print_ingest(report, str(ws.articles))
    else:
        print_ingest(report, f"{output.rstrip('/')}/articles/" if output else "",
                     written=bool(report.added))
        if report.added:
            out.print(f"sentences -> {escape(str(output).rstrip('/'))}/sentences/")
    skipped = False
    if ws is not None and do_split and report.total_articles:
        skipped = bool(run_split(ws.root, max_len, max_article_mb=max_article_mb,
                                 engine="ray", address=address).skipped)
    if report.failed or skipped:
        raise typer.Exit(1)


def split_cli(
    workspace_dir: WorkspaceOpt = None,
    max_len: Annotated[int, typer.Option(min=1, help="Sentence length cap in characters.")]
    = 300,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS,
                                 help="Processes for tokenising (default: all cores if large).")
    ] = None,
    max_article_mb: MaxArticleOpt = DEFAULT_MAX_ARTICLE_MB,
    engine: EngineOpt = "local",
    address: AddressOpt = None,
    abbreviations: AbbreviationsOpt = None,
) -> None:
    """Segment and tokenise the workspace's articles into sentences.parquet."""
    use_own_abbreviations(abbreviations)
    if run_split(workspace(workspace_dir).root, max_len, workers,
                 max_article_mb=max_article_mb, engine=engine, address=address).skipped:
        raise typer.Exit(1)


def run_split(root: Path, max_len: int, workers: int | None = None, *,
              max_article_mb: float | None = DEFAULT_MAX_ARTICLE_MB, engine: str = "local",
              address: str | None = None) -> SplitReport:
    with progress_bar("split") as update:
        report = split(root, max_len=max_len, workers=workers, progress=update,
                       max_article_mb=max_article_mb, engine=engine, address=address)
    for _, reason in report.skipped:
        console.print(f"[bold red]error:[/] {escape(reason)}")
    out.print(
        f"split: {report.articles} articles -> {report.sentences} sentences "
        f"+ {report.headings} headings ({report.characters:,} characters, "
        f"{_where(report.workers, engine)}) "
        f"-> {escape(str(root / 'sentences.parquet'))}"
    )
    return report


def print_ingest(report: IngestReport, target: str, written: bool | None = None) -> None:
    for problem in report.problems:
        style = "bold red" if problem.severity == "error" else "yellow"
        console.print(f"[{style}]{problem.severity}:[/] {escape(str(problem))}")
    for source, kept in report.duplicates:
        console.print(f"[dim]duplicate:[/] {escape(source)} is the same article as {escape(kept)}; "
                      "stored once")
    table = Table(title="ingest", show_header=True, header_style="bold")
    for col in ("files", "added", "duplicates", "errors", "warnings", "articles in workspace"):
        table.add_column(col, justify="right")
    table.add_row(str(report.files), str(len(report.added)), str(len(report.duplicates)),
                  str(len(report.errors)), str(len(report.warnings)), str(report.total_articles))
    out.print(table)
    if written if written is not None else Path(target).exists():
        out.print(f"articles -> {escape(target)}")
    else:
        out.print("no articles table written: nothing was ingested "
                  "(fix the errors above and run again)")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cli)
    app.command("split")(split_cli)


def _where(workers: int, engine: str) -> str:
    if engine == "ray":
        return f"ray, {workers} workers" if workers else "ray"
    return f"{workers} process{'es' if workers > 1 else ''}"
