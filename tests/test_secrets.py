"""Issue 6: the API token and the admin password never leak; the server is loopback-only.

Secrets are searched in: server.log and every other workspace file (except
``labelstudio/credentials.json``, which holds them on purpose with mode 0600, and
``labelstudio/data/``, Label Studio's own data dir whose sqlite database stores the
token in plain text by Label Studio's design), everything our code logs at DEBUG, the
text, repr and traceback of errors (bad URL, rejected token, 4xx/5xx from a fake server
that echoes the request headers back), the CLI output with --debug, and ``ps -eo args``
while the server and a push run.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from robust_helpers import REPO, make_workspace
from typer.testing import CliRunner

from corpus.errors import AuthError, CorpusError, LabelStudioError
from corpus.labelstudio import server
from corpus.labelstudio.annotations import pull
from corpus.labelstudio.client import LabelStudioClient
from corpus.labelstudio.tasks import push

FAKE_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"


def _secrets(ls_server: Any) -> list[str]:
    creds = server.load_credentials(ls_server.workspace)
    assert creds is not None
    return [creds.token, creds.password]


def _assert_clean(text: str, secrets: list[str], where: str) -> None:
    for s in secrets:
        assert s not in text, f"a secret ({len(s)} chars) appears in {where}"


def _error_texts(fn: Callable[[], Any]) -> tuple[BaseException, str]:
    try:
        fn()
    except CorpusError as exc:
        return exc, "\n".join([str(exc), repr(exc), exc.message, exc.hint or "",
                               traceback.format_exc()])
    raise AssertionError("no error was raised")


# --------------------------------------------------------------------------- fake server


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with ``status`` and a JSON body that echoes the request
    headers back (as some proxies and debug error pages do)."""

    protocol_version = "HTTP/1.1"
    status = 500
    echo = True

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        headers = dict(self.headers) if type(self).echo else {}
        body = json.dumps({"detail": f"failed: request headers were {headers}",
                           "headers": headers}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer


@pytest.fixture
def echo() -> Iterator[Callable[..., str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, headers: bool = True) -> str:
        handler = type("Echo", (_Echo,), {"status": status, "echo": headers})
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _fast(url: str, token: str = FAKE_TOKEN) -> LabelStudioClient:
    return LabelStudioClient(url, token, attempts=2, backoff=0.01, timeout=5)


# --------------------------------------------------------------------------- errors


def test_error_for_nothing_listening_has_no_token() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exc, text = _error_texts(lambda: _fast(f"http://127.0.0.1:{port}").whoami())
    assert f"cannot reach Label Studio at http://127.0.0.1:{port}" in str(exc)
    _assert_clean(text, [FAKE_TOKEN], "the error of a refused connection")


@pytest.mark.parametrize("status", [500, 503])
def test_error_for_retried_5xx_has_no_token(echo: Callable[[int], str], status: int) -> None:
    url = echo(status)
    exc, text = _error_texts(lambda: _fast(url).list_projects())
    assert "kept failing" in str(exc)
    _assert_clean(text, [FAKE_TOKEN], f"the error of a GET answered {status}")


@pytest.mark.parametrize(("status", "call"), [
    (500, "import"),          # a POST is not retried: the server's message is quoted
    (400, "import"),
    (401, "get"),
    (403, "get"),
    (404, "get"),
])
def test_error_quoting_the_server_never_quotes_the_token(
        echo: Callable[[int], str], status: int, call: str) -> None:
    """The server's error body is put into the message; when it echoes the
    Authorization header back, the token must not come along."""
    url = echo(status)
    client = _fast(url)
    fn: Callable[[], Any] = (
        (lambda: client.import_tasks(1, [{"data": {"text": "x"}}])) if call == "import"
        else (lambda: client.get_project(1)))
    exc, text = _error_texts(fn)
    assert isinstance(exc, LabelStudioError)
    _assert_clean(text, [FAKE_TOKEN], f"the error of a {call} answered HTTP {status}")


@pytest.mark.labelstudio
def test_rejected_token_error_has_no_token(ls_server: Any) -> None:
    wrong = "0" * 40
    exc, text = _error_texts(lambda: ls_server.client(wrong).whoami())
    assert isinstance(exc, AuthError)
    _assert_clean(text, [wrong, *_secrets(ls_server)], "the error of a rejected token")


@pytest.mark.parametrize("echo_headers", [False, True])
def test_cli_debug_output_has_no_token(echo: Callable[..., str], tmp_path: Path,
                                       echo_headers: bool) -> None:
    """`corpus --debug push/pull` against a failing server: traceback, never the token."""
    url = echo(400, echo_headers)
    ws = make_workspace(tmp_path, 1)
    env = {**os.environ, "LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": FAKE_TOKEN}
    for args in (["push", "--project", "proj", "--targets", "英伟达"], ["pull", "--project", "proj"]):
        proc = subprocess.run([sys.executable, "-m", "corpus.cli.main", "--debug", *args,
                               "-w", str(ws.root)], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode != 0
        both = proc.stdout + proc.stderr
        assert "error:" in both and "Traceback" in both, both[-2000:]
        _assert_clean(both, [FAKE_TOKEN], f"`corpus --debug {args[0]}` output")


# --------------------------------------------------------------------------- logs + files


@pytest.mark.labelstudio
def test_debug_logging_of_push_and_pull_has_no_secret(ls_server: Any, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    ws = make_workspace(tmp_path, 1)
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "corpus", "urllib3", ""):
        logging.getLogger(name).setLevel(logging.DEBUG)
    client = ls_server.client()
    report = push(ws, f"secrets-log-{os.getpid()}", targets=[], client=client, limit=5)
    task = client.list_tasks(report.project_id, fields="task_only")[0]
    client.create_annotation(task["id"], [{"from_name": "claim", "to_name": "text",
                                           "type": "choices", "value": {"choices": ["claim"]}}])
    pull(ws, report.project, client=client)
    with pytest.raises(AuthError):
        ls_server.client("1" * 40).whoami()
    assert len(caplog.records) > 5, "nothing was logged at DEBUG: the check proves nothing"
    text = caplog.text + "\n".join(repr(r.args) + repr(r.msg) for r in caplog.records)
    _assert_clean(text, _secrets(ls_server), "the DEBUG log")


def _files(root: Path, skip: set[Path]) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not any(p == s or s in p.parents for s in skip):
            out.append(p)
    return out


@pytest.mark.labelstudio
def test_no_secret_in_any_workspace_file(ls_server: Any, tmp_path: Path) -> None:
    """Both the server's workspace and a workspace pushed/pulled through the CLI."""
    secrets = _secrets(ls_server)
    ws = make_workspace(tmp_path, 1)
    env = {**os.environ, "LABEL_STUDIO_URL": ls_server.url,
           "LABEL_STUDIO_API_KEY": ls_server.token}
    name = f"secrets-files-{os.getpid()}"
    for args in (["push", "--project", name, "--targets", "英伟达", "--limit", "5"],
                 ["pull", "--project", name]):
        proc = subprocess.run([sys.executable, "-m", "corpus.cli.main", *args,
                               "-w", str(ws.root)], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        _assert_clean(proc.stdout + proc.stderr, secrets, f"`corpus {args[0]}` output")
    lsdir = ls_server.workspace.labelstudio_dir
    creds = lsdir / "credentials.json"
    assert creds.stat().st_mode & 0o777 == 0o600
    assert lsdir.stat().st_mode & 0o077 == 0, "labelstudio/ is readable by others"
    assert (lsdir / "server.log").exists()
    checked = 0
    for root, skip in ((ls_server.workspace.root, {creds, lsdir / "data"}), (ws.root, set())):
        for path in _files(root, skip):
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, f"a secret is stored in {path}"
            checked += 1
    assert checked >= 8


# --------------------------------------------------------------------------- processes


def _ps_args() -> str:
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.labelstudio
def test_no_secret_in_process_arguments(ls_server: Any, tmp_path: Path) -> None:
    secrets = _secrets(ls_server)
    assert "label_studio.server" in _ps_args()
    _assert_clean(_ps_args(), secrets, "`ps -eo args` while the server runs")
    ws = make_workspace(tmp_path, 20)
    env = {**os.environ, "LABEL_STUDIO_URL": ls_server.url,
           "LABEL_STUDIO_API_KEY": ls_server.token}
    proc = subprocess.Popen([sys.executable, "-m", "corpus.cli.main", "push", "--project",
                             f"secrets-ps-{os.getpid()}", "--targets", "英伟达",
                             "--batch-size", "50", "-w", str(ws.root)],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seen = 0
    while proc.poll() is None:
        snap = _ps_args()
        if "corpus.cli.main push" in snap:
            seen += 1
            _assert_clean(snap, secrets, "`ps -eo args` while push runs")
        time.sleep(0.1)
    assert proc.returncode == 0
    assert seen >= 1, "push finished before ps could see it"


@pytest.mark.labelstudio
def test_server_listens_on_loopback_only(ls_server: Any) -> None:
    st = server.status(ls_server.workspace)
    assert st.running and st.pid is not None
    root = psutil.Process(st.pid)
    listening = []
    for proc in [root, *root.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        listening += [c.laddr for c in conns if c.status == psutil.CONN_LISTEN]
    assert listening, "found no listening socket of the server"
    assert {a.ip for a in listening} == {"127.0.0.1"}, listening
    port = int(st.url.rsplit(":", 1)[1]) if st.url else 0
    assert port in {a.port for a in listening}
    others = [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
              if a.family == socket.AF_INET and not a.address.startswith("127.")]
    for address in others:  # this machine's non-loopback addresses (if it has any)
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect((address, port))


# --------------------------------------------------------------------------- plain HTTP


class _NoNetwork:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attempts: list[Any] = []

        def refuse(*args: Any, **kwargs: Any) -> Any:
            self.attempts.append(args[1:] if args else kwargs)
            raise ConnectionRefusedError("network disabled by the test")

        monkeypatch.setattr(socket.socket, "connect", lambda s, *a: refuse(s, *a))
        monkeypatch.setattr(socket.socket, "connect_ex", lambda s, *a: refuse(s, *a))
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, *a))


@pytest.mark.parametrize("command", ["push", "pull"])
def test_plain_http_to_a_remote_host_is_refused_without_network(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str) -> None:
    from corpus.cli.main import app

    monkeypatch.setenv("LABEL_STUDIO_URL", "http://example.com:8080")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", FAKE_TOKEN)
    ws = make_workspace(tmp_path, 1)
    net = _NoNetwork(monkeypatch)
    res = CliRunner().invoke(app, [command, "--project", "proj", "-w", str(ws.root)])
    assert res.exit_code != 0
    assert not net.attempts, f"{command} tried the network: {net.attempts}"
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("error: ") and "example.com" in lines[0], res.output
    assert "--allow-insecure" in res.output
    assert FAKE_TOKEN not in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("command", ["push", "pull"])
def test_allow_insecure_is_wired_into_push_and_pull(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str) -> None:
    """With --allow-insecure (global or on the command) the plain-HTTP URL is used."""
    from corpus.cli.main import app

    monkeypatch.setenv("LABEL_STUDIO_URL", "http://example.com:8080")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", FAKE_TOKEN)
    ws = make_workspace(tmp_path, 1)
    _NoNetwork(monkeypatch)
    outputs = []
    more = ["--targets", "英伟达"] if command == "push" else []
    for argv in (["--allow-insecure", command, "--project", "proj", *more, "-w", str(ws.root)],
                 [command, "--project", "proj", *more, "--allow-insecure", "-w", str(ws.root)]):
        res = CliRunner().invoke(app, argv)
        outputs.append(res.output)
        if "refusing" not in res.output and "No such option" not in res.output:
            assert res.exit_code != 0  # got past the check; then no network (mocked)
            assert "example.com" in res.output
            assert FAKE_TOKEN not in res.output
            return
    raise AssertionError(f"`corpus {command}` accepts no --allow-insecure: {outputs}")
