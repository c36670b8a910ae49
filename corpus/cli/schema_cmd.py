"""`corpus schema show|render`: inspect the label schema, generate the Label Studio XML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
