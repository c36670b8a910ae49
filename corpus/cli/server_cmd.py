"""`corpus server start|stop|status`: the embedded Label Studio server."""

from __future__ import annotations

from typing import Annotated

import typer

from corpus.cli.common import WorkspaceOpt, console, escape, finite_seconds, out, workspace
from corpus.labelstudio import install, server

server_app = typer.Typer(
    name="server",
    help="Run the embedded Label Studio (own venv, 127.0.0.1 unless --host, data in the "
    "workspace).",
    no_args_is_help=True,
)


def announce_first_start() -> None:
    """Say what the first start does and how long it usually takes (before the spinner)."""
    venv = install.default_venv_dir()
    if not install.is_installed(venv):
        console.print(f"first start: installing Label Studio {install.LS_VERSION} into "
                      f"{escape(str(venv))} and preparing its database; this usually takes "
                      "3-8 minutes (once per machine), progress below")


@server_app.command("start")
def start_cli(
    ws: WorkspaceOpt = None,
    port: Annotated[int | None, typer.Option("--port", "-p", min=1, max=65535,
                                             help="Port (default: a free one).")] = None,
    timeout: Annotated[float, typer.Option(callback=finite_seconds,
                                           help="Seconds to wait for the server.")] = 180.0,
    host: Annotated[str | None, typer.Option(
        help="Address to listen on: 127.0.0.1 (the default) serves this machine only; the "
        "machine's LAN address or 0.0.0.0 lets a team in (plain HTTP: put TLS in front).",
        show_default=False)] = None,
    public_url: Annotated[str | None, typer.Option(
        help="The https:// address annotators open when a TLS proxy sits in front.",
        show_default=False)] = None,
) -> None:
    """Start Label Studio for the workspace (installing it on first use) and wait until ready."""
    target = workspace(ws)
    if host is not None:
        host = server.check_host(host)
    server.check_public_url(public_url)
    announce_first_start()
    with console.status("[bold]starting Label Studio…", spinner="dots") as spin:

        def progress(line: str) -> None:
            spin.update(f"[bold]{escape(line[:100])}")

        info = server.start(target, port=port, timeout=timeout, progress=progress, host=host,
                            public_url=public_url)
    verb = "started" if info.started else "already running"
    out.print(f"Label Studio {verb}: {escape(info.url)}  (pid {info.pid})")
    if info.host != server.HOST or info.public_url:
        where = "every interface" if info.host in ("0.0.0.0", "::") else info.host  # noqa: S104
        out.print(f"  listening on {where}, port {info.port}"
                  + (f"; annotators open {escape(info.public_url)}" if info.public_url else ""))
    warning = server.exposure_warning(info.host, info.port, info.public_url)
    if warning:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")
    out.print(f"  login:    {escape(info.email)}")
    out.print(f"  password: kept in {escape(str(info.credentials_path))} (mode 0600)")
    out.print(f"  log:      {escape(str(info.log_path))}")


@server_app.command("stop")
def stop_cli(ws: WorkspaceOpt = None) -> None:
    """Stop the workspace's Label Studio (only the process this tool started)."""
    target = workspace(ws)
    if server.stop(target):
        out.print("Label Studio stopped")
    else:
        out.print(f"no Label Studio was running for {escape(str(target.root))}")


@server_app.command("status")
def status_cli(ws: WorkspaceOpt = None) -> None:
    """Show whether Label Studio runs, its URL and login (the password stays in its file)."""
    st = server.status(workspace(ws))
    if st.running:
        out.print(f"running: {escape(str(st.url))}  (pid {st.pid})")
        if st.host and (st.host != server.HOST or st.public_url):
            out.print(f"  listening on {st.host}" + (f" for {escape(st.public_url)}"
                                                     if st.public_url else ""))
    else:
        out.print("not running (start it with `corpus server start`)")
    if st.email:
        out.print(f"  login:    {escape(st.email)}")
        out.print(f"  password: kept in {escape(str(st.credentials_path))} (mode 0600)")
    out.print(f"  data:     {escape(str(st.data_dir))}"
              + (f" (SQLite, journal mode {st.journal_mode})" if st.journal_mode else ""))
    out.print(f"  log:      {escape(str(st.log_path))}")
    if not st.running:
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    """Add the ``server`` command group."""
    app.add_typer(server_app, name="server")
