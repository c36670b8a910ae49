"""`corpus schema show|render`: inspect the label schema, generate the Label Studio XML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from corpus.cli.common import console, escape, out

schema_app = typer.Typer(help="Inspect the label schema and render the Label Studio config.",
                         no_args_is_help=True)

SchemaOpt = Annotated[
    Path | None,
    typer.Option("--schema", "-s",
                 help="Your own schema YAML (default: $CORPUS_SCHEMA, else the shipped "
                 "schema/claims_stance.yaml).",
                 show_default=False),
]


def split_targets(raw: str | None) -> list[str]:
    """Comma-separated targets (ASCII or full-width commas) as a clean list."""
    if not raw:
        return []
    return [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


TargetsOpt = Annotated[
    str | None,
    typer.Option("--targets", "-t",
                 help="Stance targets, comma-separated (default: the project's; a new project "
                 "needs them, --targets-file or --accept-suggested).", show_default=False),
]
TargetsFileOpt = Annotated[
    Path | None,
    typer.Option("--targets-file", help="YAML file of stance targets with aliases and "
                 "descriptions (see README, 'Stance targets').", show_default=False),
]
AcceptSuggestedOpt = Annotated[
    bool,
    typer.Option("--accept-suggested", help="On a new project without --targets, use the "
                 "targets suggested from the corpus."),
]


def chosen_targets(targets: str | None, targets_file: Path | None) -> list[Any] | None:
    """The targets of ``--targets`` or ``--targets-file`` (None: neither was given)."""
    from corpus.errors import ConfigError
    from corpus.labelstudio.targets import load_targets_file

    if targets is not None and targets_file is not None:
        raise ConfigError("both --targets and --targets-file given",
                          hint="use one: the targets file is the single source of targets")
    if targets_file is not None:
        return list(load_targets_file(targets_file))
    if targets is not None:
        return list(split_targets(targets))
    return None


@schema_app.command("show")
def show(schema: SchemaOpt = None) -> None:
    """Print the schema's fields, kinds, values and hotkeys."""
    from corpus.labelschema import load_schema

    s = load_schema(schema)
    table = Table(title=f"{s.name} v{s.version}  ({s.source})", title_justify="left")
    for col in ("field", "kind", "required", "shown when", "values (label, hotkey)"):
        table.add_column(col, overflow="fold")
    for f in s.fields:
        values = "\n".join(
            f"{v}  [dim]{f.label(v)}[/]" + (f"  [cyan]{f.hotkeys[v]}[/]" if v in f.hotkeys else "")
            for v in f.values
        )
        shown = f"{f.shown_when[0]} = {f.shown_when[1]}" if f.shown_when else ""
        if f.of is not None:
            shown = f"per target of {f.of}" + (f", when {f.shown_when[1]}" if f.shown_when
                                               else "")
        table.add_row(f.name, f.kind, "yes" if f.required else "", shown, values)
    out.print(table)
    out.print(f"sha256 {s.sha256}")


@schema_app.command("render")
def render(
    schema: SchemaOpt = None,
    targets: Annotated[
        str | None,
        typer.Option("--targets", "-t",
                     help="Stance targets, comma-separated (e.g. 英伟达,特朗普)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the XML to this file (default: stdout)."),
    ] = None,
) -> None:
    """Render the Label Studio labelling config (XML) from the schema, to stdout or -o FILE."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.render import render_label_config, render_to_file

    s = load_schema(schema)
    target_list = split_targets(targets)
    if output is None or str(output) == "-":
        sys.stdout.write(render_label_config(s, target_list))
        return
    dest = output
    render_to_file(s, dest, target_list)
    console.print(f"wrote {escape(str(dest))} ({escape(s.name)} v{s.version}, "
                  f"{len(target_list)} stance targets)")


def register(app: typer.Typer) -> None:
    """Add the `schema` command group."""
    app.add_typer(schema_app, name="schema")
