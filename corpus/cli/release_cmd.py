"""`corpus release`, `versions`, `diff`, `verify` and `stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from corpus.cli.common import WorkspaceOpt, console, escape, out, workspace
from corpus.errors import ReleaseError
from corpus.releases.model import CHART_FILE, SPLITS

_out = out


def _release_dir(workspace_dir: Path | None, name: str) -> Path:
    """NAME under workspace/releases, or NAME itself when it is a path to a folder."""
    candidate = Path(name).expanduser()
    if ("/" in name or name.startswith(".")) and candidate.is_dir():
        return candidate
    return workspace(workspace_dir).releases_dir / name


def _alpha(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def release_cli(
    name: Annotated[str, typer.Argument(help="Release name: folder under workspace/releases.")],
    workspace_dir: WorkspaceOpt = None,
    min_annotations: Annotated[int, typer.Option(
        "--min-annotations", min=1, help="Annotators a sentence needs to be released.")] = 1,
    split: Annotated[str, typer.Option(
        "--split", help="train/validation/test ratios, e.g. 80/10/10.")] = "80/10/10",
    message: Annotated[str | None, typer.Option(
        "--message", "-m", help="Note stored in the manifest and card.")] = None,
    schema: Annotated[Path | None, typer.Option(
        "--schema", help="Label schema YAML (default: $CORPUS_SCHEMA or the bundled v1).")
    ] = None,
    resplit: Annotated[bool, typer.Option(
        "--resplit", help="Apply changed --split ratios to every sentence, moving released "
                          "ones to another split (recorded in the manifest).")] = False,
    project: Annotated[list[str] | None, typer.Option(
        "--project", "-p", help="Label Studio project(s) to release (default: the one titled "
        "NAME, else the only one pulled); repeat to combine projects on purpose.",
        show_default=False)] = None,
    annotator_names: Annotated[bool, typer.Option(
        "--annotator-names", help="Name annotators by their Label Studio e-mail instead of "
        "stable pseudonyms (annotator-001, ...; the mapping stays in workspace/pseudonyms.json)."
    )] = False,
    license_id: Annotated[str | None, typer.Option(
        "--license", help="SPDX licence id of the data (e.g. CC-BY-4.0); later versions of "
        "NAME keep it.", show_default=False)] = None,
    propagate: Annotated[bool, typer.Option(
        "--propagate/--no-propagate", help="Give the labels of a cluster of repeated "
        "sentences (push sent one per cluster) to its unannotated members, marked "
        "label_source = propagated; --no-propagate leaves them out.")] = True,
) -> None:
    """Build an immutable, versioned release (releases/NAME/vNNNN) from the annotations."""
    from corpus.releases.build import release

    info = release(workspace(workspace_dir), name, min_annotations=min_annotations,
                   split_ratios=split, schema=schema, message=message, resplit=resplit,
                   projects=project or None, annotator_names=annotator_names,
                   license=license_id, propagate=propagate)
    rows = info.rows
    out.print(f"released {escape(name)} {info.version}: {rows['total']} sentences "
              f"(train {rows['train']}, validation {rows['validation']}, test {rows['test']}) "
              f"-> {escape(str(info.path))}")
    if info.propagated:
        out.print(f"{info.propagated} of them with labels propagated from a repeat of the "
                  "sentence (label_source = propagated; --no-propagate leaves them out)")
    out.print(f"manifest sha256 {info.manifest_sha256}")
    for w in info.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    shown = [str(p.get("title") or f"id {p.get('id')}") for p in info.projects]
    if shown:
        out.print(f"Label Studio project{'s' if len(shown) > 1 else ''}: "
                  f"{escape(', '.join(shown))}")


def versions_cli(
    name: Annotated[str, typer.Argument(help="Release name or folder.")],
    workspace_dir: WorkspaceOpt = None,
) -> None:
    """List the versions of a release (a broken or hand-made vNNNN folder is flagged)."""
    from corpus.releases.model import list_versions, version_name
    from corpus.releases.verify import check_complete

    folder = _release_dir(workspace_dir, name)
    names = [version_name(n) for n in list_versions(folder)]
    if not names:
        raise ReleaseError(f"{folder} has no released versions",
                           hint=f"run `corpus release {name}` first")
    table = Table(title=f"{name} ({folder})", header_style="bold")
    for col in ("version", "created", "sentences", *SPLITS, "parent", "message"):
        table.add_column(col)
    broken: list[tuple[str, ReleaseError]] = []
    for v in names:
        try:
            m = check_complete(folder / v)
            rows = m["rows"]
            table.add_row(v, str(m["created_at"]), str(rows["total"]),
                          *(str(rows[s]) for s in SPLITS), str(m.get("parent") or "-"),
                          escape(str(m.get("message") or "")))
        except (ReleaseError, KeyError, TypeError) as exc:
            err = exc if isinstance(exc, ReleaseError) else ReleaseError(
                f"{folder / v / 'manifest.json'} lacks {exc}")
            broken.append((v, err))
            table.add_row(v, "-", "-", *("-" for _ in SPLITS), "-",
                          "[bold red]INCOMPLETE[/] (ignored)")
    out.print(table)
    if broken:
        first = broken[0][1]
        more = f" ({len(broken) - 1} more: {', '.join(v for v, _ in broken[1:])})" \
            if len(broken) > 1 else ""
        raise ReleaseError(f"{first.message}{more}",
                           hint=f"run `corpus verify {name}`; move the folder out of "
                                f"{folder} or restore it from a backup")


def diff_cli(
    name: Annotated[str, typer.Argument(help="Release name or folder.")],
    a: Annotated[str, typer.Argument(help="Older version, e.g. v1.")],
    b: Annotated[str, typer.Argument(help="Newer version, e.g. v2.")],
    workspace_dir: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="Sentence ids shown per list (0: all).")]
    = 20,
) -> None:
    """List sentences added, removed and relabelled between two versions, with their text
    and each changed label as old -> new."""
    from corpus.releases.diff import show_label
    from corpus.releases.reader import diff

    d = diff(_release_dir(workspace_dir, name), a, b)
    out.print(f"{d.a} -> {d.b}: {len(d.added)} added, {len(d.removed)} removed, "
              f"{len(d.relabelled)} relabelled")
    table = Table("", "sentence", "text", "change", box=None, pad_edge=False)
    for kind, ids in (("added", d.added), ("removed", d.removed), ("relabelled", d.relabelled)):
        shown = ids if limit <= 0 else ids[:limit]
        for sid in shown:
            change = "; ".join(f"{f}: {show_label(old)} -> {show_label(new)}"
                               for f, (old, new) in d.changes.get(sid, {}).items())
            table.add_row(kind, escape(sid), escape(_short(d.texts.get(sid, ""), 60)),
                          escape(change))
        if len(shown) < len(ids):
            table.add_row("", f"... {len(ids) - len(shown)} more {kind}", "", "")
    if table.row_count:
        out.print(table)


def _short(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def verify_cli(
    name: Annotated[str, typer.Argument(help="Release name or folder.")],
    version: Annotated[str | None, typer.Argument(help="Version (default: all).")] = None,
    workspace_dir: WorkspaceOpt = None,
) -> None:
    """Re-check the sha256 of every file of one or all versions."""
    from corpus.releases.reader import verify

    folder = _release_dir(workspace_dir, name)
    for v in verify(folder, version):
        out.print(f"ok {escape(str(folder / v))}")


def stats_cli(
    name: Annotated[str, typer.Argument(help="Release name or folder.")],
    version: Annotated[str, typer.Argument(help="Version (default: latest).")] = "latest",
    workspace_dir: WorkspaceOpt = None,
    png: Annotated[Path | None, typer.Option(
        help="Also draw the chart (PNG) into this file ('-': stdout, the tables go to "
             "stderr); needs the 'chart' extra.")] = None,
) -> None:
    """Print label distribution and agreement of a version (and, with --png, a chart).

    Writes nothing but the --png file: it works on a read-only release.
    """
    import sys

    from corpus.cli.common import console
    from corpus.releases.chart import render_chart
    from corpus.releases.manifest import read_manifest
    from corpus.releases.reader import resolve

    to_stdout = png is not None and str(png) == "-"
    out = console if to_stdout else _out     # keep stdout for the PNG
    folder = _release_dir(workspace_dir, name)
    vdir = resolve(folder, version)
    m = read_manifest(vdir)
    out.print(f"{escape(str(m['name']))} {escape(str(m['version']))}: "
              f"{m['rows']['total']} sentences, "
              f"{m['annotations']['rows']} annotations by {m['annotations']['annotators']} "
              f"annotators; schema {m['schema']['name']} v{m['schema']['version']}")
    labels = Table(title="label distribution", header_style="bold")
    for col in ("field", "label", "all", *SPLITS):
        labels.add_column(col, justify="right" if col in ("all", *SPLITS) else "left")
    for field, dist in m["labels"].items():
        for label, count in sorted(dist["all"].items(), key=lambda kv: -kv[1]):
            labels.add_row(field, escape(label), str(count),
                           *(str(dist.get(s, {}).get(label, 0)) for s in SPLITS))
    out.print(labels)
    agree = Table(title="agreement (Krippendorff's alpha, nominal)", header_style="bold")
    for col in ("field", "kind", "alpha", "units"):
        agree.add_column(col)
    for field, a in m["agreement"]["krippendorff_alpha"].items():
        agree.add_row(field, a["kind"], _alpha(a["alpha"]), str(a["units"]))
        for sub in ("per_target", "per_label"):
            for key, v in a.get(sub, {}).items():
                agree.add_row(f"  {field} / {escape(key)}", "", _alpha(v["alpha"]),
                              str(v["units"]))
    out.print(agree)
    rows = m["agreement"]["rows"]
    out.print("rows: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    pairs = m["agreement"]["pairwise"]["pairs"]
    if pairs:
        pt = Table(title=f"pairwise agreement on {m['agreement']['pairwise']['field']} "
                         f"(top 10 of {len(pairs)})", header_style="bold")
        for col in ("annotator A", "annotator B", "shared", "% agree", "kappa"):
            pt.add_column(col)
        for p in pairs[:10]:
            pt.add_row(escape(p["a"]), escape(p["b"]), str(p["items"]),
                       f"{p['percent_agreement']:.3f}", _alpha(p["cohen_kappa"]))
        out.print(pt)
    if to_stdout:
        sys.stdout.flush()
        render_chart(m, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif png is not None:
        render_chart(m, png)
        out.print(f"chart -> {escape(str(png))}")
    elif (vdir / CHART_FILE).is_file():
        out.print(f"chart: {escape(str(vdir / CHART_FILE))}")


def register(app: typer.Typer) -> None:
    app.command("release")(release_cli)
    app.command("versions")(versions_cli)
    app.command("diff")(diff_cli)
    app.command("verify")(verify_cli)
    app.command("stats")(stats_cli)
