"""The embedded Label Studio server: install, start, stop, status, connection.

Label Studio runs from its own virtual environment (its pins must not constrain
ours), bound to 127.0.0.1, with all state under ``workspace/labelstudio/``:

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
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import psutil

from corpus.atomic import atomic_path, write_json
from corpus.errors import ConfigError, LabelStudioError, ServerUnavailable
from corpus.workspace import Workspace

LS_VERSION = "1.23.2"
"""The Label Studio release the embedded server runs (pinned)."""

ENV_LS_VENV = "CORPUS_LS_VENV"
ENV_URL = "LABEL_STUDIO_URL"
ENV_API_KEY = "LABEL_STUDIO_API_KEY"
ENV_ALLOW_INSECURE = "CORPUS_ALLOW_INSECURE"
ADMIN_EMAIL = "admin@claim-corpus.local"
HOST = "127.0.0.1"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

TokenKind = Literal["legacy", "personal"]
Progress = Callable[[str], None]

_JWT_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Plain (unprefixed) names that Label Studio's get_env() also reads: drop them from
# the child's environment so a stray USERNAME/PASSWORD/PORT of the caller never leaks in.
_LS_PLAIN_ENV = (
    "USERNAME", "PASSWORD", "USER_TOKEN", "HOST", "PORT", "DATABASE_NAME", "DJANGO_DB",
    "DEBUG", "LOG_LEVEL", "BASE_DATA_DIR", "SECRET_KEY", "SENTRY_DSN", "FRONTEND_SENTRY_DSN",
    "DISABLE_SIGNUP_WITHOUT_LINK", "COLLECT_ANALYTICS", "LATEST_VERSION_CHECK",
    "ENABLE_LEGACY_API_TOKEN", "ALLOWED_HOSTS", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME",
    "DJANGO_SETTINGS_MODULE",
)


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


@dataclass(frozen=True)
class Connection:
    """Where to reach Label Studio and how to authenticate; ``repr`` hides the token."""

    url: str
    token: str = field(repr=False)
    token_kind: TokenKind
    source: Literal["env", "embedded"] = "embedded"


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class _Paths:
    root: Path

    @classmethod
    def of(cls, workspace: Workspace) -> _Paths:
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


def default_venv_dir() -> Path:
    """``$CORPUS_LS_VENV`` or ``~/.cache/claim-corpus/ls-<version>``."""
    env = os.environ.get(ENV_LS_VENV)
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "claim-corpus" / f"ls-{LS_VERSION}"


def venv_python(venv_dir: Path) -> Path:
    """The Python interpreter of a virtual environment."""
    return venv_dir / "bin" / "python"


def _is_installed(venv_dir: Path) -> bool:
    if not venv_python(venv_dir).exists():
        return False
    return any(venv_dir.glob(f"lib/python*/site-packages/label_studio-{LS_VERSION}.dist-info"))


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- install


def ensure_installed(venv_dir: Path | None = None, progress: Progress | None = None) -> Path:
    """Install Label Studio into its own venv if missing; return the venv folder.

    The install goes into a temporary sibling folder that is renamed into place
    only when pip succeeded, so an interrupted install is simply redone. The
    server is later run as ``<venv>/bin/python -m label_studio.server`` which,
    unlike the console script's shebang, survives the rename.
    """
    venv = (venv_dir or default_venv_dir()).expanduser().absolute()
    if _is_installed(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(venv.parent / f".{venv.name}.lock"):
        if _is_installed(venv):
            return venv
        tmp = venv.parent / f".tmp-{venv.name}"
        shutil.rmtree(tmp, ignore_errors=True)
        say = progress or (lambda _line: None)
        say(f"creating a virtual environment for Label Studio {LS_VERSION} in {venv}")
        base_python = getattr(sys, "_base_executable", None) or sys.executable
        _run_streaming([base_python, "-m", "venv", str(tmp)], say)
        _run_streaming(
            [str(venv_python(tmp)), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", f"label-studio=={LS_VERSION}"],
            say,
        )
        if not _is_installed(tmp):
            raise LabelStudioError(
                f"pip finished but label-studio {LS_VERSION} is not in {tmp}",
                hint="check the pip output above, then run again",
            )
        if venv.exists():
            shutil.rmtree(venv)
        tmp.replace(venv)
        say(f"installed Label Studio {LS_VERSION}")
        return venv


def _run_streaming(cmd: list[str], say: Progress) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH",
                                                            "PYTHONHOME")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, stdin=subprocess.DEVNULL)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line:
            say(line)
            tail = [*tail[-9:], line]
    if proc.wait() != 0:
        last = tail[-1] if tail else "no output"
        raise LabelStudioError(
            f"installing Label Studio failed ({Path(cmd[0]).name} exited {proc.returncode}): "
            f"{last}",
            hint="check network access to PyPI, or set CORPUS_LS_VENV to a venv that has "
            f"label-studio=={LS_VERSION}",
        )


# --------------------------------------------------------------------------- credentials


def load_credentials(workspace: Workspace) -> Credentials | None:
    """The embedded server's admin credentials, or None before the first start."""
    path = _Paths.of(workspace).credentials
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


def _load_or_create_credentials(paths: _Paths, workspace: Workspace) -> Credentials:
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


def _read_state(paths: _Paths) -> dict[str, Any] | None:
    try:
        state = json.loads(paths.state.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _our_process(paths: _Paths, state: Mapping[str, Any] | None) -> psutil.Process | None:
    """The live server process recorded in ``state`` if it really is ours, else None."""
    if not state:
        return None
    try:
        proc = psutil.Process(int(state["pid"]))
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(proc.pid)
            return None
        if abs(proc.create_time() - float(state.get("create_time", 0))) > 1.0:
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
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


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("LABEL_STUDIO_", "HEARTEX_")) and k not in _LS_PLAIN_ENV
    }
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "DJANGO_DB": "sqlite",
        "LABEL_STUDIO_DEBUG": "false",
        # Since 1.17 new organisations get legacy tokens disabled unless this is set.
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        # Local, single-lead server: nobody signs up without an invite link; no phoning home.
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_SENTRY_DSN": "",
        "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _child_env(paths: _Paths, creds: Credentials) -> dict[str, str]:
    env = _base_env(paths.data)
    # First start: create the admin non-interactively (env, never argv).
    env.update({
        "LABEL_STUDIO_USERNAME": creds.email,
        "LABEL_STUDIO_PASSWORD": creds.password,
        "LABEL_STUDIO_USER_TOKEN": creds.token,
    })
    return env


def _migrated_template(venv: Path, say: Progress) -> Path | None:
    """An empty, fully migrated Label Studio sqlite database, built once per LS version.

    Migrating a fresh database takes about a minute; copying this template into a
    new workspace makes its first start take seconds. It holds no users, tokens or
    secret key (SECRET_KEY lives in the data dir's .env, generated per workspace).
    Returns None (the server then migrates itself) if it cannot be built.
    """
    template = venv.parent / f"ls-{LS_VERSION}-migrated.sqlite3"
    if template.exists():
        return template
    try:
        with _file_lock(venv.parent / f".{template.name}.lock"):
            if template.exists():
                return template
            with tempfile.TemporaryDirectory(prefix=".tmp-ls-template-",
                                             dir=venv.parent) as tmp:
                data = Path(tmp) / "data"
                say("preparing the Label Studio database (first time only, about a minute)")
                proc = subprocess.run(
                    [str(venv_python(venv)), "-m", "label_studio.server", "init", "-q",
                     "--data-dir", str(data)],
                    env=_base_env(data), cwd=tmp, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900,
                    check=False,
                )
                db = data / "label_studio.sqlite3"
                if proc.returncode != 0 or not db.exists():
                    return None
                with atomic_path(template) as out:
                    shutil.copyfile(db, out)
    except (OSError, subprocess.SubprocessError):
        return None
    return template


def _seed_database(venv: Path, paths: _Paths, say: Progress) -> None:
    db = paths.data / "label_studio.sqlite3"
    if db.exists():
        return
    template = _migrated_template(venv, say)
    if template is not None:
        with atomic_path(db, mode=0o600) as out:
            shutil.copyfile(template, out)


def _running(paths: _Paths) -> tuple[psutil.Process, dict[str, Any]] | None:
    state = _read_state(paths)
    proc = _our_process(paths, state)
    if proc is None or state is None:
        return None
    return proc, state


# --------------------------------------------------------------------------- start/stop


def start(
    workspace: Workspace,
    port: int | None = None,
    timeout: float = 120.0,
    *,
    venv_dir: Path | None = None,
    progress: Progress | None = None,
) -> ServerInfo:
    """Start the workspace's Label Studio (or return the running one) and wait until it serves.

    Raises LabelStudioError quoting the last log lines if the server dies or does
    not answer ``/health`` and accept the token within ``timeout`` seconds.
    """
    paths = _Paths.of(workspace)
    say = progress or (lambda _line: None)
    workspace.ensure()
    paths.root.mkdir(mode=0o700, exist_ok=True)
    paths.root.chmod(0o700)  # holds the sqlite db with plain-text API tokens
    with workspace.lock("labelstudio-server", wait=True):
        creds = _load_or_create_credentials(paths, workspace)
        found = _running(paths)
        if found is not None:
            proc, state = found
            url = str(state["url"])
            if _health(url):
                return _info(paths, creds, proc.pid, int(state["port"]), started=False)
            raise LabelStudioError(
                f"Label Studio (pid {proc.pid}) is running but {url}/health does not answer",
                hint="run `corpus server stop`, then `corpus server start`",
            )

        venv = ensure_installed(venv_dir, progress=progress)
        paths.data.mkdir(parents=True, exist_ok=True)
        _seed_database(venv, paths, say)
        chosen = port or _free_port()
        cmd = [
            str(venv_python(venv)), "-m", "label_studio.server", "start",
            "--no-browser", "--internal-host", HOST, "--port", str(chosen),
            "--data-dir", str(paths.data), "--log-level", "WARNING",
        ]
        say(f"starting Label Studio {LS_VERSION} on http://{HOST}:{chosen}")
        with open(paths.log, "ab") as log:
            log.write(f"\n=== corpus: starting Label Studio on port {chosen} at "
                      f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} ===\n".encode())
            log.flush()
            child = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=paths.root, env=_child_env(paths, creds), start_new_session=True,
                close_fds=True,
            )
        _children[child.pid] = child
        ps = psutil.Process(child.pid)
        url = f"http://{HOST}:{chosen}"
        write_json(paths.state, {"pid": child.pid, "port": chosen, "url": url,
                                 "create_time": ps.create_time(), "data_dir": str(paths.data),
                                 "version": LS_VERSION})
        try:
            actual = _wait_ready(child, ps, chosen, creds, paths, timeout, say)
        except BaseException:
            _terminate(ps)
            _reap(child.pid)
            with contextlib.suppress(FileNotFoundError):
                paths.state.unlink()
            raise
        if actual != chosen:
            url = f"http://{HOST}:{actual}"
            write_json(paths.state, {"pid": child.pid, "port": actual, "url": url,
                                     "create_time": ps.create_time(),
                                     "data_dir": str(paths.data), "version": LS_VERSION})
        say(f"Label Studio is up at {url}")
        return _info(paths, creds, child.pid, actual, started=True)


def _wait_ready(child: subprocess.Popen[bytes], ps: psutil.Process, port: int,
                creds: Credentials, paths: _Paths, timeout: float, say: Progress) -> int:
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
            url = f"http://{HOST}:{actual}"
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


def _info(paths: _Paths, creds: Credentials, pid: int, port: int, *, started: bool) -> ServerInfo:
    return ServerInfo(url=f"http://{HOST}:{port}", port=port, pid=pid, email=creds.email,
                      credentials_path=paths.credentials, log_path=paths.log, started=started)


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
    paths = _Paths.of(workspace)
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
    paths = _Paths.of(workspace)
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
    )


# --------------------------------------------------------------------------- connection


def token_kind(token: str) -> TokenKind:
    """``personal`` for a JWT (personal access token, three base64url parts), else ``legacy``."""
    return "personal" if _JWT_RE.fullmatch(token.strip()) else "legacy"


def check_url(url: str, *, allow_insecure: bool = False) -> str:
    """Validate a Label Studio base URL; plain HTTP is refused for non-local hosts."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{ENV_URL}={url!r} is not an http(s) URL",
                          hint="set it like https://label-studio.example.org")
    host = parts.hostname.lower()
    if parts.scheme == "http" and host not in LOCAL_HOSTS and not allow_insecure:
        raise ConfigError(
            f"refusing to send the API token over plain HTTP to {parts.hostname}",
            hint=f"use an https:// {ENV_URL}; only on a trusted network run "
            "`corpus --allow-insecure <command>`",
        )
    return url.strip().rstrip("/")


def connection(workspace: Workspace | None = None, *, allow_insecure: bool | None = None
               ) -> Connection:
    """How to reach Label Studio: ``$LABEL_STUDIO_URL``+``$LABEL_STUDIO_API_KEY``, else embedded.

    ``allow_insecure=None`` reads ``$CORPUS_ALLOW_INSECURE`` (set by ``corpus --allow-insecure``).
    """
    if allow_insecure is None:
        allow_insecure = os.environ.get(ENV_ALLOW_INSECURE, "") not in ("", "0")
    env_url = os.environ.get(ENV_URL, "").strip()
    env_key = os.environ.get(ENV_API_KEY, "").strip()
    if env_url or env_key:
        if not (env_url and env_key):
            missing = ENV_API_KEY if env_url else ENV_URL
            raise ConfigError(f"{missing} is not set (the other Label Studio variable is)",
                              hint=f"set both {ENV_URL} and {ENV_API_KEY}, or neither to use "
                              "the embedded server")
        return Connection(url=check_url(env_url, allow_insecure=allow_insecure), token=env_key,
                          token_kind=token_kind(env_key), source="env")
    ws = workspace or Workspace.resolve()
    paths = _Paths.of(ws)
    found = _running(paths)
    creds = load_credentials(ws) if found else None
    if found is None or creds is None:
        raise ServerUnavailable(
            f"no Label Studio server is running for workspace {ws.root}",
            hint=f"start it with `corpus server start` or set {ENV_URL} and {ENV_API_KEY}",
        )
    return Connection(url=str(found[1]["url"]), token=creds.token,
                      token_kind="legacy", source="embedded")  # noqa: S106


# --------------------------------------------------------------------------- users

_ADD_USER_SCRIPT = r"""
import json, os, sys
sys.argv = ["label-studio"]
from label_studio.server import _setup_env
_setup_env()
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User
email = os.environ["CORPUS_NEW_USER_EMAIL"]
user = User.objects.filter(email=email).first()
if user is None:
    password = os.environ.get("CORPUS_NEW_USER_PASSWORD") or None
    user = User.objects.create_user(email=email, password=password)
org = Organization.objects.order_by("id").first()
org.add_user(user)
user.active_organization = org
user.save(update_fields=["active_organization"])
token = Token.objects.filter(user=user).first() or Token.objects.create(user=user)
print(json.dumps({"id": user.id, "email": user.email, "token": token.key}))
"""


def add_local_user(workspace: Workspace, email: str, password: str | None = None,
                   *, venv_dir: Path | None = None) -> tuple[int, str]:
    """Create (or find) a user of the embedded server's organisation; return (id, legacy token).

    Label Studio's REST API lets an admin create users but not read their
    tokens, so this runs a short Django script against the workspace's database
    in the Label Studio venv (the server may keep running; sqlite serialises).
    """
    paths = _Paths.of(workspace)
    if not paths.data.exists():
        raise ServerUnavailable(f"no embedded Label Studio data in {paths.root}",
                                hint="start it with `corpus server start`")
    venv = (venv_dir or default_venv_dir()).expanduser().absolute()
    creds = _load_or_create_credentials(paths, workspace)
    env = _child_env(paths, creds)
    for key in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
        env.pop(key, None)
    env["CORPUS_NEW_USER_EMAIL"] = email
    if password:
        env["CORPUS_NEW_USER_PASSWORD"] = password
    proc = subprocess.run(
        [str(venv_python(venv)), "-c", _ADD_USER_SCRIPT], capture_output=True, text=True,
        env=env, cwd=paths.root, timeout=300, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise LabelStudioError(f"creating Label Studio user {email} failed: "
                               f"{err[-1] if err else 'no output'}",
                               hint="check that the workspace's Label Studio started once")
    out = json.loads(lines[-1])
    return int(out["id"]), str(out["token"])
