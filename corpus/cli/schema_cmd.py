"""`corpus schema show|render`: inspect the label schema, generate the Label Studio XML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corpus.cli.common import console, handle_errors, out

schema_app = typer.Typer(help="Inspect the label schema and render the Label Studio config.",
                         no_args_is_help=True)

SchemaOpt = Annotated[
    Path | None,
    typer.Option("--schema", "-s",
                 help="Schema YAML (default: $CORPUS_SCHEMA or schema/claims_stance.yaml).",
                 show_default=False),
]


def split_targets(raw: str | None) -> list[str]:
    """Comma-separated targets (ASCII or full-width commas) as a clean list."""
    if not raw:
        return []
    return [t.strip() for t in raw.replace("，", ",").split(",") if t.strip()]


@schema_app.command("show")
@handle_errors
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
@handle_errors
def render(
    schema: SchemaOpt = None,
    targets: Annotated[
        str | None,
        typer.Option("--targets", "-t",
                     help="Stance targets, comma-separated (e.g. 英伟达,特朗普)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o",
                     help="Write here (default: schema/label_config.xml next to the schema); "
                     "- prints to stdout."),
    ] = None,
) -> None:
    """Render the Label Studio labelling config (XML) from the schema."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.render import render_label_config, render_to_file

    s = load_schema(schema)
    target_list = split_targets(targets)
    if output is not None and str(output) == "-":
        out.print(render_label_config(s, target_list), end="", markup=False, highlight=False)
        return
    dest = output or (s.source.parent if s.source else Path("schema")) / "label_config.xml"
    render_to_file(s, dest, target_list)
    console.print(f"wrote {dest} ({s.name} v{s.version}, {len(target_list)} stance targets)")


def register(app: typer.Typer) -> None:
    """Add the `schema` command group."""
    app.add_typer(schema_app, name="schema")
