"""`corpus annotators add|list|remove`: the team's Label Studio accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from corpus.cli.common import WorkspaceOpt, console, escape, out, settings, workspace
from corpus.cli.schema_cmd import SchemaOpt

annotators_app = typer.Typer(
    name="annotators",
    help="Add, list and remove the annotators of the Label Studio organisation.",
    no_args_is_help=True,
)


@annotators_app.command("add")
def add_cli(
    ctx: typer.Context,
    emails: Annotated[list[str], typer.Argument(help="E-mail addresses of the annotators.")],
    ws: WorkspaceOpt = None,
) -> None:
    """Create accounts (embedded server: a generated password, shown once) or invite them."""
    from corpus.labelstudio.client import LabelStudioClient
    from corpus.labelstudio.connection import connection
    from corpus.labelstudio.users import add_annotators, passwords_path

    target = workspace(ws)
    conn = connection(target, allow_insecure=settings(ctx).allow_insecure)

    with LabelStudioClient.from_connection(conn) as client:
        added = add_annotators(target, client, emails, embedded=conn.source == "embedded")
    if conn.source == "embedded":
        table = Table(title="annotator accounts (passwords are shown only now)",
                      title_justify="left")
        table.add_column("e-mail")
        table.add_column("password")
        table.add_column("account")
        for a in added:
            table.add_row(escape(a.email), escape(a.password or ""),
                          "created" if a.created else "existed: new password, re-activated")
        out.print(table)
        out.print(f"log in at {escape(added[0].login_url or '')}; the passwords are kept in "
                  f"{escape(str(passwords_path(target)))} (mode 0600)")
    else:
        for a in added:
            state = "sign up" if a.created else "already has an account; log in at " + (
                a.login_url or "")
            out.print(f"{escape(a.email)}: {escape(state)}")
        out.print(f"sign-up link for the organisation: {escape(added[0].signup_url or '')}")
        console.print("[dim]send it to the annotators; they sign up with their e-mail[/]")


@annotators_app.command("list")
def list_cli(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(
        "--project", "-p", help="Count only this project's annotations.")] = None,
    schema: SchemaOpt = None,
    ws: WorkspaceOpt = None,
) -> None:
    """Each account with tasks done, skipped, median lead time and agreement so far."""
    from corpus.labelschema import load_schema
    from corpus.labelstudio.annotations import read_annotations
    from corpus.labelstudio.connection import open_client
    from corpus.labelstudio.sync import ProjectSync
    from corpus.labelstudio.team import annotator_stats
    from corpus.labelstudio.users import list_accounts

    target = workspace(ws)
    s = load_schema(schema)
    with open_client(target, allow_insecure=settings(ctx).allow_insecure) as client:
        accounts = list_accounts(client, target)
    ids = None
    if project is not None:
        state = ProjectSync.of(target, project).read_state()
        ids = [int(state["project_id"])] if state else []
    stats = annotator_stats(read_annotations(target, s), s, ids)
    table = Table(title="annotators (work as of the last `corpus pull`)", title_justify="left")
    for col, justify in (("e-mail", "left"), ("status", "left"), ("done", "right"),
                         ("skipped", "right"), ("median lead time", "right"),
                         ("agreement with others", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    listed = set()
    for a in accounts:
        st = stats.get(a.email)
        listed.add(a.email)
        status = "you (owner)" if a.is_you else ("active" if a.active else "removed")
        table.add_row(
            escape(a.email), status, str(st.done if st else 0), str(st.skipped if st else 0),
            f"{st.median_lead_time:.1f} s" if st and st.median_lead_time is not None else "-",
            (f"{st.agreement:.0%} of {st.shared}" if st and st.agreement is not None else "-"))
    for name, st in stats.items():
        if name not in listed:
            table.add_row(escape(name), "not an account here", str(st.done), str(st.skipped),
                          f"{st.median_lead_time:.1f} s" if st.median_lead_time is not None
                          else "-", f"{st.agreement:.0%} of {st.shared}"
                          if st.agreement is not None else "-")
    out.print(table)


@annotators_app.command("remove")
def remove_cli(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="E-mail address of the annotator.")],
    ws: WorkspaceOpt = None,
) -> None:
    """Deactivate an annotator: no more access, every annotation they made is kept."""
    from corpus.labelstudio.connection import open_client
    from corpus.labelstudio.users import remove_annotator

    target = workspace(ws)
    with open_client(target, allow_insecure=settings(ctx).allow_insecure) as client:
        account = remove_annotator(target, client, email)
    out.print(f"{escape(account.email)} removed from the organisation; their annotations stay")


def register(app: typer.Typer) -> None:
    """Add the ``annotators`` command group."""
    app.add_typer(annotators_app, name="annotators")
