"""The embedded Label Studio server: start, stop, status, credentials.

Label Studio runs from its own virtual environment (``install.py``), bound to
127.0.0.1, with all state under ``workspace/labelstudio/``:

```
labelstudio/
  credentials.json   admin e-mail, password, legacy API token (mode 0600)
  server.json        pid, port, url of the running server
  server.log         stdout/stderr of the server
  data/              LABEL_STUDIO_BASE_DATA_DIR: sqlite database, media, exports
```

Secrets (password, token) reach the server only through environment variables,
never argv, and are never printed, logged or put into exception text.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from corpus.errors import ConfigError, LabelStudioError
from corpus.labelstudio.install import (
    LS_VERSION,
    Progress,
    ensure_installed,
    ls_env,
    migrated_template,
    venv_python,
)
from corpus.storage.atomic import atomic_path, write_json, write_text
from corpus.workspace import Workspace

ADMIN_EMAIL = "admin@claim-corpus.local"
HOST = "127.0.0.1"
"""Where the embedded server listens unless ``start(host=...)`` asks for more."""


def check_host(host: str) -> str:
    """``host`` as a normalised IP address to listen on, or ConfigError."""
    try:
        addr = ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        raise ConfigError(f"--host {host!r} is not an IP address",
                          hint="pass the address to listen on, e.g. --host 192.168.1.20 "
                          "or --host 0.0.0.0 for every interface") from None
    if addr.version != 4:
        raise ConfigError(f"--host {host!r}: Label Studio's server listens on IPv4 only",
                          hint="pass an IPv4 address, e.g. --host 0.0.0.0")
    return str(addr)


def connect_host(host: str) -> str:
    """The address our own clients use for a server listening on ``host``."""
    addr = ipaddress.ip_address(host)
    if addr.is_unspecified:
        return "127.0.0.1" if addr.version == 4 else "::1"
    return host


def _url(host: str, port: int) -> str:
    h = connect_host(host)
    return f"http://[{h}]:{port}" if ":" in h else f"http://{h}:{port}"


def serves_beyond_loopback(host: str) -> bool:
    """Whether a server listening on ``host`` can be reached from other machines."""
    return not ipaddress.ip_address(host).is_loopback


def exposure_warning(host: str, port: int, public_url: str | None) -> str | None:
    """What to tell the lead when the server is reachable over plain HTTP (else None)."""
    if not serves_beyond_loopback(host):
        return None
    if (public_url or "").startswith("https://"):
        return (f"the plain-HTTP port {port} stays open beyond this machine next to "
                f"{public_url}: if the TLS proxy runs here, restart with --host 127.0.0.1")
    return ("plain HTTP: passwords and API tokens cross the network unencrypted. Put TLS in "
            f"front of it, e.g. `caddy reverse-proxy --from label.example.org --to "
            f"{connect_host(host) if host not in ('0.0.0.0', '::') else 'THIS_HOST'}:{port}`, "  # noqa: S104
            "then restart with `--public-url https://label.example.org`")


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class Credentials:
    """The embedded server's admin login; ``repr`` never shows the secrets."""

    email: str
    password: str = field(repr=False)
    token: str = field(repr=False)


@dataclass(frozen=True)
class ServerInfo:
    """A running embedded server."""

    url: str
    port: int
    pid: int
    email: str
    credentials_path: Path
    log_path: Path
    started: bool
    """True if this call started it, False if it was already running."""
    host: str = HOST
    """The address it listens on."""
    public_url: str | None = None
    """The URL annotators use when it sits behind a TLS proxy (``--public-url``)."""


@dataclass(frozen=True)
class ServerStatus:
    """What ``corpus server status`` shows; never the password or token."""

    running: bool
    url: str | None
    pid: int | None
    email: str | None
    credentials_path: Path
    log_path: Path
    data_dir: Path
    journal_mode: str | None = None
    """SQLite journal mode of the server's database (``wal``), None before the first start."""
    host: str | None = None
    """The address it listens on (while running)."""
    public_url: str | None = None


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class ServerPaths:
    root: Path

    @classmethod
    def of(cls, workspace: Workspace) -> ServerPaths:
        return cls(workspace.labelstudio_dir)

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.json"

    @property
    def state(self) -> Path:
        return self.root / "server.json"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def database(self) -> Path:
        return self.data / "label_studio.sqlite3"


# --------------------------------------------------------------------------- credentials


def load_credentials(workspace: Workspace) -> Credentials | None:
    """The embedded server's admin credentials, or None before the first start."""
    path = ServerPaths.of(workspace).credentials
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} is unreadable ({type(exc).__name__})",
            hint="stop the server and delete the workspace's labelstudio/ folder to start fresh",
        ) from None
    return Credentials(email=raw["email"], password=raw["password"], token=raw["token"])


def load_or_create_credentials(paths: ServerPaths, workspace: Workspace) -> Credentials:
    creds = load_credentials(workspace)
    if creds is None:
        creds = Credentials(
            email=ADMIN_EMAIL,
            password=secrets.token_urlsafe(24),
            # Same shape as Django REST framework's own keys (40 hex characters).
            token=secrets.token_hex(20),
        )
        write_json(paths.credentials,
                   {"email": creds.email, "password": creds.password, "token": creds.token,
                    "token_kind": "legacy", "note": "admin login of the embedded Label Studio"},
                   mode=0o600)
    elif paths.credentials.stat().st_mode & 0o077:
        paths.credentials.chmod(0o600)
    return creds


# --------------------------------------------------------------------------- state


def _read_state(paths: ServerPaths) -> dict[str, Any] | None:
    try:
        state = json.loads(paths.state.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _start_ticks(pid: int) -> int | None:
    """Clock ticks from boot to the start of ``pid`` (/proc/PID/stat field 22), else None.

    Unlike psutil's ``create_time`` (boot time from /proc/stat + these ticks), it does
    not move when NTP steps the wall clock, so a process is recognised exactly.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
        return int(raw[raw.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_stamp(proc: psutil.Process) -> dict[str, Any]:
    """What identifies ``proc`` across pid reuse: its start ticks and creation time."""
    stamp: dict[str, Any] = {"create_time": proc.create_time()}
    ticks = _start_ticks(proc.pid)
    if ticks is not None:
        stamp["start_ticks"] = ticks
    return stamp


def _same_process(proc: psutil.Process, state: Mapping[str, Any]) -> bool:
    recorded = state.get("start_ticks")
    if isinstance(recorded, int):
        ticks = _start_ticks(proc.pid)
        if ticks is not None:
            return ticks == recorded
    # no ticks (another OS, an older server.json): the wall clock may have been stepped
    return bool(abs(proc.create_time() - float(state.get("create_time", 0))) <= 2.0)


def _our_process(paths: ServerPaths, state: Mapping[str, Any] | None) -> psutil.Process | None:
    """The live server process recorded in ``state`` if it really is ours, else None."""
    if not state:
        return None
    try:
        proc = psutil.Process(int(state["pid"]))
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(proc.pid)
            return None
        if not _same_process(proc, state):
            return None  # the pid was reused by another process
        cmdline = proc.cmdline()
    except (psutil.Error, KeyError, TypeError, ValueError):
        return None
    joined = " ".join(cmdline)
    if "label_studio.server" not in joined and "label-studio" not in joined:
        return None
    if str(paths.data) not in cmdline:
        return None
    return proc


_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(Exception):
            child.wait(timeout=0.1)


def _health(url: str, timeout: float = 2.0) -> bool:
    try:
        r = httpx.get(f"{url}/health", timeout=timeout)
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def _token_accepted(url: str, token: str, timeout: float = 5.0) -> bool:
    try:
        r = httpx.get(f"{url}/api/current-user/whoami", timeout=timeout,
                      headers={"Authorization": f"Token {token}"})
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def _free_port(host: str = HOST) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _listening_ports(proc: psutil.Process) -> set[int]:
    try:
        conns = proc.net_connections(kind="inet")
    except psutil.Error:
        return set()
    return {c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN}


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = [ln for ln in text.splitlines() if ln.strip()][-lines:]
    return " | ".join(ln.strip() for ln in tail) or "(empty log)"


SQLITE_BUSY_TIMEOUT = 30
"""Seconds a Label Studio writer waits for SQLite's write lock (Python's default is 5)."""
SETTINGS_MODULE = "corpus_ls_settings"
SETTINGS_MARKER = "claim-corpus sqlite settings:"
_SETTINGS_SOURCE = f'''"""Settings of claim-corpus's embedded Label Studio (by corpus server start).

Label Studio's own settings plus SQLite options it has no setting for:
- every transaction starts with BEGIN IMMEDIATE, so a writer takes the write lock
  before it reads: two writers then queue behind the busy timeout instead of one
  failing with "database is locked" (a deferred transaction that read before another
  writer committed cannot upgrade in WAL mode, and Label Studio's import then sleeps
  3, 6, 12, ... s, up to ~51 minutes);
- a busy timeout of {SQLITE_BUSY_TIMEOUT} s instead of 5 s;
- WAL and synchronous=NORMAL on every connection.
"""
import os
import sys

# Label Studio's settings module reads django.conf.settings while it is imported (Sentry
# setup); pointing Django at it makes that nested read load it, not this half-read module.
# DATABASES is then changed in place, so both see the same options.
os.environ["DJANGO_SETTINGS_MODULE"] = "label_studio.core.settings.label_studio"
from label_studio.core.settings.label_studio import *  # noqa: E402, F403

_db = DATABASES["default"]  # noqa: F405
if _db.get("ENGINE") == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {{}}).update({{
        "timeout": {SQLITE_BUSY_TIMEOUT},
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }})
    print("{SETTINGS_MARKER} busy timeout {SQLITE_BUSY_TIMEOUT} s, BEGIN IMMEDIATE, WAL",
          file=sys.stderr, flush=True)
'''


def settings_dir(paths: ServerPaths) -> Path:
    """The folder put on Label Studio's PYTHONPATH, holding only our settings module."""
    return paths.root / "settings"


def write_settings(paths: ServerPaths) -> Path:
    """Write the settings module (only when its text changed); return its folder."""
    folder = settings_dir(paths)
    target = folder / f"{SETTINGS_MODULE}.py"
    folder.mkdir(mode=0o700, exist_ok=True)
    try:
        current = target.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != _SETTINGS_SOURCE:
        write_text(target, _SETTINGS_SOURCE)
    return folder


def child_env(paths: ServerPaths, creds: Credentials,
              public_url: str | None = None) -> dict[str, str]:
    env = ls_env(paths.data)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env["PYTHONPATH"] = str(write_settings(paths))
    if public_url:
        # Behind a TLS proxy: absolute links and the browser's Origin use the public URL.
        env["LABEL_STUDIO_HOST"] = public_url
        env["LABEL_STUDIO_CSRF_TRUSTED_ORIGINS"] = public_url
        if public_url.startswith("https://"):
            env["LABEL_STUDIO_SESSION_COOKIE_SECURE"] = "1"
    # First start: create the admin non-interactively (env, never argv).
    env.update({
        "LABEL_STUDIO_USERNAME": creds.email,
        "LABEL_STUDIO_PASSWORD": creds.password,
        "LABEL_STUDIO_USER_TOKEN": creds.token,
    })
    return env


def journal_mode(db: Path) -> str | None:
    """The journal mode stored in the SQLite database ``db`` (None if there is none)."""
    if not db.is_file():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()


def enable_wal(db: Path, attempts: int = 20) -> None:
    """Put ``db`` in WAL mode (persistent in the file: every later connection of Label Studio
    uses it), so that the pull's long reads and the annotators' writes no longer keep an
    import from committing (rollback-journal mode blocks a writer while any reader reads).
    Raises LabelStudioError if the file system cannot do WAL (e.g. some network mounts)."""
    mode = None
    for attempt in range(attempts):
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=10)) as con:
                mode = str(con.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            break
        except sqlite3.OperationalError:  # locked by a starting server: try again
            time.sleep(0.25 * (attempt + 1))
    if mode != "wal":
        raise LabelStudioError(
            f"cannot put the Label Studio database {db} in WAL mode (journal mode: {mode})",
            hint="keep the workspace on a local file system, or run Label Studio on "
            "PostgreSQL and point LABEL_STUDIO_URL at it (see the README)")


def _seed_database(venv: Path, paths: ServerPaths, say: Progress) -> None:
    db = paths.database
    if db.exists():
        enable_wal(db)
        return
    template = migrated_template(venv, say)
    if template is not None:
        with atomic_path(db, mode=0o600) as out:
            shutil.copyfile(template, out)
            enable_wal(out)


def _running(paths: ServerPaths) -> tuple[psutil.Process, dict[str, Any]] | None:
    state = _read_state(paths)
    proc = _our_process(paths, state)
    if proc is None or state is None:
        return None
    return proc, state


# --------------------------------------------------------------------------- start/stop


def check_public_url(url: str | None) -> str | None:
    """``url`` without a trailing slash if it is an http(s) URL, else ConfigError."""
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"--public-url {url!r} is not an http(s) URL without a path",
                          hint="pass the address annotators open, e.g. "
                          "--public-url https://label.example.org")
    return url.strip().rstrip("/")


def start(
    workspace: Workspace,
    port: int | None = None,
    timeout: float = 120.0,
    *,
    host: str | None = None,
    public_url: str | None = None,
    venv_dir: Path | None = None,
    progress: Progress | None = None,
) -> ServerInfo:
    """Start the workspace's Label Studio (or return the running one) and wait until it serves.

    It listens on ``host`` (default 127.0.0.1: this machine only; any other address
    lets others reach it over plain HTTP); a running server is returned as it is unless
    ``host`` or ``public_url`` are given and differ from its own. ``public_url`` is the
    address annotators open when a TLS proxy sits in front of it. Raises LabelStudioError
    quoting the last log lines if the server dies or does not answer ``/health`` and accept the
    token within ``timeout`` seconds.
    """
    asked_host = check_host(host) if host is not None else None
    host = asked_host or HOST
    asked_url = check_public_url(public_url)
    public_url = asked_url
    from corpus.errors import check_int, check_seconds

    if port is not None:
        check_int("port", port, minimum=1, maximum=65535)
    check_seconds("timeout", timeout)
    paths = ServerPaths.of(workspace)
    say = progress or (lambda _line: None)
    workspace.ensure()
    paths.root.mkdir(mode=0o700, exist_ok=True)
    paths.root.chmod(0o700)  # holds the sqlite db with plain-text API tokens
    with workspace.lock("labelstudio-server", wait=True):
        creds = load_or_create_credentials(paths, workspace)
        found = _running(paths)
        if found is not None:
            proc, state = found
            url = str(state["url"])
            running_on = str(state.get("host") or HOST)
            if (asked_host is not None and running_on != asked_host) or (
                    asked_url is not None and state.get("public_url") != asked_url):
                raise ConfigError(
                    f"Label Studio (pid {proc.pid}) already runs on {running_on}"
                    + (f" for {state.get('public_url')}" if state.get("public_url") else ""),
                    hint="run `corpus server stop` first to start it on another address")
            if _health(url):
                return _info(paths, creds, proc.pid, int(state["port"]), started=False,
                             host=running_on, public_url=state.get("public_url"))
            raise LabelStudioError(
                f"Label Studio (pid {proc.pid}) is running but {url}/health does not answer",
                hint="run `corpus server stop`, then `corpus server start`",
            )

        venv = ensure_installed(venv_dir, progress=progress)
        paths.data.mkdir(parents=True, exist_ok=True)
        _seed_database(venv, paths, say)
        chosen = port or _free_port(host)
        cmd = [
            str(venv_python(venv)), "-m", "label_studio.server", "start",
            "--no-browser", "--internal-host", host, "--port", str(chosen),
            "--data-dir", str(paths.data), "--log-level", "WARNING",
        ]
        say(f"starting Label Studio {LS_VERSION} on {_url(host, chosen)}")
        log_start = paths.log.stat().st_size if paths.log.exists() else 0
        with open(paths.log, "ab") as log:
            log.write(f"\n=== corpus: starting Label Studio on {host} port {chosen} at "
                      f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} ===\n".encode())
            log.flush()
            child = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=paths.root, env=child_env(paths, creds, public_url), start_new_session=True,
                close_fds=True,
            )
        _children[child.pid] = child
        ps = psutil.Process(child.pid)

        def record(at: int) -> None:
            write_json(paths.state, {"pid": child.pid, "port": at, "url": _url(host, at),
                                     "host": host, "public_url": public_url,
                                     **process_stamp(ps),
                                     "data_dir": str(paths.data), "version": LS_VERSION})

        record(chosen)
        try:
            actual = _wait_ready(child, ps, chosen, creds, paths, timeout, say, host)
        except BaseException:
            _terminate(ps)
            _reap(child.pid)
            with contextlib.suppress(FileNotFoundError):
                paths.state.unlink()
            raise
        if journal_mode(paths.database) != "wal":  # no template: Label Studio created it
            enable_wal(paths.database)
        if not _settings_loaded(paths.log, log_start):
            _terminate(ps)
            _reap(child.pid)
            with contextlib.suppress(FileNotFoundError):
                paths.state.unlink()
            raise LabelStudioError(
                f"Label Studio {LS_VERSION} started without claim-corpus's SQLite settings "
                f"({settings_dir(paths) / SETTINGS_MODULE}.py)",
                hint=f"see {paths.log}; reinstall with `corpus server start` after deleting "
                f"{venv}")
        if actual != chosen:
            record(actual)
        say(f"Label Studio is up at {_url(host, actual)}")
        return _info(paths, creds, child.pid, actual, started=True, host=host,
                     public_url=public_url)


def _settings_loaded(log: Path, offset: int) -> bool:
    """Whether the server's log since ``offset`` says our settings module was applied."""
    try:
        with open(log, "rb") as fh:
            fh.seek(offset)
            return SETTINGS_MARKER.encode() in fh.read()
    except OSError:
        return False


def _wait_ready(child: subprocess.Popen[bytes], ps: psutil.Process, port: int,
                creds: Credentials, paths: ServerPaths, timeout: float, say: Progress,
                host: str = HOST) -> int:
    deadline = time.monotonic() + timeout
    announced = False
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise LabelStudioError(
                f"Label Studio exited with code {child.returncode} while starting: "
                f"{_log_tail(paths.log)}",
                hint=f"see {paths.log}",
            )
        ports = _listening_ports(ps)
        if ports:
            # Label Studio silently moves to the next port if ours was taken meanwhile.
            actual = port if port in ports else min(ports)
            url = _url(host, actual)
            if _health(url):
                if not announced:
                    say("server answers /health; checking the API token")
                    announced = True
                if _token_accepted(url, creds.token):
                    return actual
        time.sleep(0.5)
    raise LabelStudioError(
        f"Label Studio did not become ready within {timeout:.0f} s: {_log_tail(paths.log)}",
        hint=f"see {paths.log}; retry with a longer timeout",
    )


def _info(paths: ServerPaths, creds: Credentials, pid: int, port: int, *,
          started: bool, host: str = HOST, public_url: str | None = None) -> ServerInfo:
    return ServerInfo(url=_url(host, port), port=port, pid=pid, email=creds.email,
                      credentials_path=paths.credentials, log_path=paths.log, started=started,
                      host=host, public_url=public_url)


def _terminate(proc: psutil.Process, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``proc``, then SIGKILL after ``grace`` seconds."""
    pgid: int | None
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        return
    if pgid != proc.pid:
        pgid = None  # not a group leader: signal the process only
    group = [proc]
    with contextlib.suppress(psutil.Error):
        group += proc.children(recursive=True)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if pgid is not None:
                os.killpg(pgid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
        _reap(proc.pid)
        _gone, alive = psutil.wait_procs(group, timeout=grace if sig == signal.SIGTERM else 5)
        _reap(proc.pid)
        if not alive:
            return


def stop(workspace: Workspace, grace: float = 10.0) -> bool:
    """Stop the workspace's embedded server; True if one was running.

    Only a process whose command line is our Label Studio with this workspace's
    data dir is signalled; a stale ``server.json`` is just removed.
    """
    paths = ServerPaths.of(workspace)
    if not paths.root.exists():
        return False
    with workspace.lock("labelstudio-server", wait=True):
        found = _running(paths)
        if found is not None:
            _terminate(found[0], grace=grace)
        with contextlib.suppress(FileNotFoundError):
            paths.state.unlink()
        return found is not None


def status(workspace: Workspace) -> ServerStatus:
    """Whether the embedded server runs, its URL and login e-mail (never the password)."""
    paths = ServerPaths.of(workspace)
    found = _running(paths)
    creds = load_credentials(workspace) if paths.credentials.exists() else None
    return ServerStatus(
        running=found is not None,
        url=str(found[1]["url"]) if found else None,
        pid=found[0].pid if found else None,
        email=creds.email if creds else None,
        credentials_path=paths.credentials,
        log_path=paths.log,
        data_dir=paths.data,
        journal_mode=journal_mode(paths.database),
        host=str(found[1].get("host") or HOST) if found else None,
        public_url=found[1].get("public_url") if found else None,
    )


def embedded_login(workspace: Workspace) -> tuple[str, str] | None:
    """``(url, admin token)`` of the workspace's running embedded server, else None."""
    paths = ServerPaths.of(workspace)
    found = _running(paths)
    creds = load_credentials(workspace) if found else None
    if found is None or creds is None:
        return None
    return str(found[1]["url"]), creds.token
