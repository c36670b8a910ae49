"""The Label Studio client against a fake HTTP server: retries, auth, error messages.

No real Label Studio here: a tiny http.server in a thread plays 500s, dropped
connections, slow answers and token refreshes. Retry delays are tiny.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from corpus.cli import server_cmd
from corpus.errors import AuthError, ConfigError, LabelStudioError, ServerUnavailable
from corpus.labelstudio import connection as ls_connection
from corpus.labelstudio.client import LabelStudioClient
from corpus.labelstudio.queries import updated_since_query
from corpus.workspace import Workspace

LEGACY = "0123456789abcdef0123456789abcdef01234567"

# ----------------------------------------------------------------------------- fake server

Action = Any  # int status | ("json", status, body) | "drop" | ("sleep", seconds)


@dataclass
class Fake:
    """Scripted answers per path; the last answer of a script repeats."""

    scripts: dict[str, list[Action]] = field(default_factory=dict)
    hits: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    handler: Callable[[BaseHTTPRequestHandler, str, str, bytes], bool] | None = None
    url: str = ""

    def count(self, path: str | None = None) -> int:
        return sum(1 for _m, p, _h, _b in self.hits if path is None or p.split("?")[0] == path)


def _make_handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            fake.hits.append((self.command, self.path, dict(self.headers), body))
            if fake.handler and fake.handler(self, self.command, path, body):
                return
            script = fake.scripts.get(path) or [("json", 200, {"ok": True})]
            action = script.pop(0) if len(script) > 1 else script[0]
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, tuple) and action[0] == "sleep":
                time.sleep(action[1])
                action = ("json", 200, {"slow": True})
            if isinstance(action, int):
                action = ("json", action, {"detail": f"status {action}"})
            _kind, status, payload = action
            send_json(self, status, payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

    return Handler


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def fake() -> Iterator[Fake]:
    state = Fake()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def client(url: str, token: str = LEGACY, **kwargs: Any) -> LabelStudioClient:
    kwargs.setdefault("attempts", 4)
    kwargs.setdefault("backoff", 0.001)
    kwargs.setdefault("max_backoff", 0.01)
    kwargs.setdefault("timeout", 2.0)
    return LabelStudioClient(url, token, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def fake_jwt(exp: float, kind: str = "refresh", **claims: Any) -> str:
    def b64(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64({'exp': exp, 'token_type': kind, **claims})}.c2ln"


WHOAMI = "/api/current-user/whoami"

# ----------------------------------------------------------------------------- retries


def test_5xx_then_ok_is_retried(fake: Fake) -> None:
    fake.scripts[WHOAMI] = [500, 502, ("json", 200, {"email": "a@b.c"})]
    with client(fake.url) as c:
        assert c.whoami() == {"email": "a@b.c"}
    assert fake.count(WHOAMI) == 3


def test_always_5xx_gives_server_unavailable_after_n_attempts(fake: Fake) -> None:
    fake.scripts[WHOAMI] = [500]
    with client(fake.url, attempts=3) as c, pytest.raises(ServerUnavailable) as info:
        c.whoami()
    assert fake.count(WHOAMI) == 3
    msg = info.value.message
    assert "HTTP 500" in msg and "after 3 attempts" in msg and fake.url in msg
    assert "\n" not in str(info.value)
    assert info.value.transient


def test_dropped_connections_are_retried_for_get(fake: Fake) -> None:
    fake.scripts[WHOAMI] = ["drop", "drop", ("json", 200, {"email": "x@y.z"})]
    with client(fake.url) as c:
        assert c.whoami()["email"] == "x@y.z"
    assert fake.count(WHOAMI) == 3


def test_timeouts_are_retried_for_get(fake: Fake) -> None:
    fake.scripts[WHOAMI] = [("sleep", 0.6), ("json", 200, {"email": "t@y.z"})]
    with client(fake.url, timeout=0.2) as c:
        assert c.whoami()["email"] == "t@y.z"
    assert fake.count(WHOAMI) == 2


def test_import_post_is_not_resent_after_a_dropped_connection(fake: Fake) -> None:
    path = "/api/projects/7/import"
    fake.scripts[path] = ["drop", ("json", 201, {"task_ids": [1]})]
    with client(fake.url) as c, pytest.raises(ServerUnavailable) as info:
        c.import_tasks(7, [{"data": {"text": "a"}}])
    assert fake.count(path) == 1, "a POST that may have been applied must not be re-sent"
    assert "may or may not have applied" in info.value.message


def test_slow_import_times_out_once_and_is_not_resent(fake: Fake) -> None:
    """A locked Label Studio can sit on an import for ~51 minutes: the read timeout bounds
    the wait, the POST is not re-sent, and the error is transient ("run again")."""
    path = "/api/projects/7/import"
    fake.scripts[path] = [("sleep", 3.0)]
    with client(fake.url) as c, pytest.raises(ServerUnavailable) as info:
        c.import_tasks(7, [{"data": {"text": "a"}}], read_timeout=0.3)
    assert fake.count(path) == 1, "a POST that may have been applied must not be re-sent"
    assert "timed out" in info.value.message and info.value.transient


def test_import_post_is_retried_on_503(fake: Fake) -> None:
    path = "/api/projects/7/import"
    fake.scripts[path] = [503, ("json", 201, {"task_ids": [11, 12]})]
    with client(fake.url) as c:
        assert c.import_tasks(7, [{"data": {"t": 1}}, {"data": {"t": 2}}]) == [11, 12]
    assert fake.count(path) == 2
    method, full_path, _h, body = fake.hits[-1]
    assert method == "POST" and "return_task_ids=true" in full_path
    assert json.loads(body) == [{"data": {"t": 1}}, {"data": {"t": 2}}]


def test_import_in_batches_keeps_order(fake: Fake) -> None:
    path = "/api/projects/3/import"
    counter = iter(range(100, 200))

    def handle(h: BaseHTTPRequestHandler, method: str, p: str, body: bytes) -> bool:
        if p != path:
            return False
        n = len(json.loads(body))
        send_json(h, 201, {"task_count": n, "task_ids": [next(counter) for _ in range(n)]})
        return True

    fake.handler = handle
    with client(fake.url) as c:
        ids = c.import_tasks(3, [{"data": {"i": i}} for i in range(7)], batch_size=3)
    assert ids == list(range(100, 107))
    assert fake.count(path) == 3


def test_import_without_task_ids_is_an_error(fake: Fake) -> None:
    fake.scripts["/api/projects/3/import"] = [("json", 201, {"import": 5})]
    with client(fake.url) as c, pytest.raises(LabelStudioError, match="returned no task ids"):
        c.import_tasks(3, [{"data": {"i": 1}}])


# ----------------------------------------------------------------------------- errors


def test_nothing_listening_gives_exact_one_line_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with client(url) as c, pytest.raises(ServerUnavailable) as info:
        c.whoami()
    assert info.value.message == f"cannot reach Label Studio at {url}"
    assert info.value.hint == "start it with `corpus server start` or set LABEL_STUDIO_URL"
    assert "\n" not in str(info.value)


def test_nothing_listening_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection fails at once: no backoff sleep, one connection attempt."""
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    attempts: list[str] = []
    real_request = httpx.Client.request

    def counting(self: httpx.Client, method: str, url: object, **kw: object) -> httpx.Response:
        attempts.append(method)
        return real_request(self, method, url, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.Client, "request", counting)
    url = f"http://127.0.0.1:{free_port()}"
    with client(url, attempts=5, backoff=1.0) as c, pytest.raises(ServerUnavailable):
        c.whoami()
    assert sleeps == []
    assert attempts == ["GET"]


def test_4xx_gives_label_studio_error_with_one_line_server_message(fake: Fake) -> None:
    fake.scripts["/api/projects/"] = [("json", 400, {
        "detail": "Validation error",
        "validation_errors": {"title": ["Ensure this field\nhas at least 3 characters."]},
    })]
    with client(fake.url) as c, pytest.raises(LabelStudioError) as info:
        c.create_project("p", "<View/>")
    err = info.value
    assert not isinstance(err, ServerUnavailable | AuthError)
    assert "HTTP 400" in err.message and "at least 3 characters" in err.message
    assert "\n" not in err.message
    assert fake.count("/api/projects/") == 1, "4xx is not retried"


def test_rejected_legacy_token_gives_auth_error_without_the_token(fake: Fake) -> None:
    fake.scripts[WHOAMI] = [("json", 401, {"detail": "Invalid token."})]
    with client(fake.url) as c, pytest.raises(AuthError) as info:
        c.whoami()
    text = f"{info.value.message} {info.value.hint}"
    assert LEGACY not in text
    assert "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN" in text
    assert "personal access token" in text and "legacy" in text
    auth = fake.hits[0][2]["Authorization"]
    assert auth == f"Token {LEGACY}"


# ----------------------------------------------------------------------------- personal tokens


def test_personal_token_is_exchanged_and_refreshed_once_on_401(fake: Fake) -> None:
    refresh = fake_jwt(time.time() + 3600)
    accesses = [fake_jwt(time.time() + 300, "access", jti=i) for i in range(3)]
    issued: list[str] = []
    rejected_once = {"done": False}

    def handle(h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> bool:
        if path == "/api/token/refresh/":
            assert json.loads(body) == {"refresh": refresh}
            assert "Authorization" not in h.headers
            issued.append(accesses[len(issued)])
            send_json(h, 200, {"access": issued[-1]})
            return True
        if path == WHOAMI:
            auth = h.headers.get("Authorization", "")
            if auth != f"Bearer {issued[-1]}" or not rejected_once["done"]:
                rejected_once["done"] = True
                send_json(h, 401, {"detail": "Given token not valid for any token type"})
                return True
            send_json(h, 200, {"email": "pat@x.y"})
            return True
        return False

    fake.handler = handle
    with client(fake.url, refresh) as c:
        assert c.token_kind == "personal"
        assert c.whoami()["email"] == "pat@x.y"
        assert c.whoami()["email"] == "pat@x.y"
    assert len(issued) == 2, "one exchange, then one refresh after the 401"


def test_expired_access_token_is_refreshed_before_use(fake: Fake) -> None:
    refresh = fake_jwt(time.time() + 3600)
    n = {"refresh": 0}

    def handle(h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> bool:
        if path == "/api/token/refresh/":
            n["refresh"] += 1
            send_json(h, 200, {"access": fake_jwt(time.time() + 5, "access")})  # nearly expired
            return True
        return False

    fake.handler = handle
    with client(fake.url, refresh) as c:
        c.whoami()
        c.whoami()
    assert n["refresh"] == 2


def test_rejected_personal_token(fake: Fake) -> None:
    refresh = fake_jwt(time.time() + 3600)
    fake.scripts["/api/token/refresh/"] = [("json", 401, {"detail": "Token is blacklisted"})]
    with client(fake.url, refresh) as c, pytest.raises(AuthError) as info:
        c.whoami()
    assert refresh not in str(info.value)
    assert "personal" in info.value.message and "blacklisted" in info.value.message


def test_token_kind_detection() -> None:
    assert ls_connection.token_kind(LEGACY) == "legacy"
    assert ls_connection.token_kind(fake_jwt(1.0)) == "personal"
    assert ls_connection.token_kind("a.b") == "legacy"


def test_client_repr_hides_token() -> None:
    c = LabelStudioClient("http://127.0.0.1:1", LEGACY)
    assert LEGACY not in repr(c)
    conn = ls_connection.Connection(url="http://x", token=LEGACY, token_kind="legacy")
    assert LEGACY not in repr(conn)
    c.close()


# ----------------------------------------------------------------------------- tasks


def test_iter_tasks_pages_and_sends_the_filter(fake: Fake) -> None:
    pages = {1: [{"id": 1}, {"id": 2}], 2: [{"id": 3}, {"id": 4}], 3: [{"id": 5}]}

    def handle(h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> bool:
        if path != "/api/tasks/":
            return False
        from urllib.parse import parse_qs, urlsplit

        q = parse_qs(urlsplit(h.path).query)
        page = int(q["page"][0])
        query = json.loads(q["query"][0])
        assert query["filters"]["items"][0]["filter"] == "filter:tasks:updated_at"
        assert query["filters"]["items"][0]["value"] == "2026-01-02T03:04:05.000006Z"
        send_json(h, 200, {"total": 5, "tasks": pages[page]})
        return True

    fake.handler = handle
    with client(fake.url) as c:
        tasks = c.list_tasks(9, updated_after="2026-01-02T03:04:05.000006Z", page_size=2)
    assert [t["id"] for t in tasks] == [1, 2, 3, 4, 5]


def test_updated_since_query_formats_datetimes() -> None:
    from datetime import datetime, timedelta, timezone

    tz = timezone(timedelta(hours=8))
    q = updated_since_query(datetime(2026, 1, 2, 11, 4, 5, 6, tzinfo=tz))
    assert q["filters"]["items"][0]["value"] == "2026-01-02T03:04:05.000006Z"
    assert q["filters"]["items"][0]["operator"] == "greater"


# ----------------------------------------------------------------------------- connection


def test_connection_refuses_plain_http_to_remote_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://ls.example.org:8080")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", LEGACY)
    with pytest.raises(ConfigError) as info:
        ls_connection.connection(Workspace(Path("/nonexistent")))
    assert "plain HTTP" in info.value.message and "ls.example.org" in info.value.message
    assert "https://" in (info.value.hint or "")
    assert LEGACY not in str(info.value)
    conn = ls_connection.connection(Workspace(Path("/nonexistent")), allow_insecure=True)
    assert conn.url == "http://ls.example.org:8080" and conn.source == "env"


@pytest.mark.parametrize("url", ["https://ls.example.org/", "http://localhost:8080",
                                 "http://127.0.0.1:9", "http://[::1]:8080"])
def test_connection_env_wins(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", fake_jwt(1e10))
    conn = ls_connection.connection(Workspace(Path("/nonexistent")))
    assert conn.url == url.rstrip("/") and conn.token_kind == "personal"


def test_connection_needs_both_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", "https://ls.example.org")
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="LABEL_STUDIO_API_KEY is not set"):
        ls_connection.connection(Workspace(Path("/nonexistent")))


def test_connection_without_env_or_server(tmp_path: Path, no_ls_env: None) -> None:
    with pytest.raises(ServerUnavailable) as info:
        ls_connection.connection(Workspace(tmp_path))
    assert "`corpus server start`" in (info.value.hint or "")
    assert str(tmp_path) in info.value.message


# ----------------------------------------------------------------------------- CLI

def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    server_cmd.register(app)
    return app


def test_cli_status_without_server(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["server", "status", "--workspace", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "not running" in result.output and "corpus server start" in result.output


def test_cli_status_never_prints_the_password(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    secret_pw, secret_token = "pw-" + "s" * 30, "f" * 40
    (tmp_path / "labelstudio").mkdir()
    (tmp_path / "labelstudio" / "credentials.json").write_text(json.dumps(
        {"email": "admin@claim-corpus.local", "password": secret_pw, "token": secret_token}))
    result = CliRunner().invoke(_app(), ["server", "status", "-w", str(ws.root)])
    assert "admin@claim-corpus.local" in result.output
    assert "credentials.json" in result.output
    assert secret_pw not in result.output and secret_token not in result.output


def test_cli_stop_without_server(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["server", "stop", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no Label Studio was running" in result.output


def test_cli_refuses_plain_http_remote_unless_allow_insecure(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corpus.cli.main import app

    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.2.nip.invalid:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", LEGACY)
    runner = CliRunner()
    refused = runner.invoke(app, ["pull", "--project", "proj", "-w", str(tmp_path)])
    assert refused.exit_code == 2
    assert ("error: refusing to send the API token over plain HTTP to 127.0.0.2.nip.invalid"
            in refused.output)
    assert "`corpus --allow-insecure <command>`" in refused.output
    assert LEGACY not in refused.output
    allowed = runner.invoke(app, ["--allow-insecure", "pull", "--project", "proj", "-w", str(tmp_path)])
    assert "refusing to send" not in allowed.output
    assert allowed.exit_code != 0  # it went on, and failed later (no such project/host)


# ----------------------------------------------------------------------------- your own SDK client


def test_own_sdk_client_is_wrapped_and_its_retries_are_off(fake: Fake) -> None:
    """An SDK client with its default retries (2) must still not re-send an import."""
    from label_studio_sdk import LabelStudio

    from corpus.labelstudio.client import as_client

    path = "/api/projects/7/import"
    fake.scripts[path] = ["drop", ("json", 201, {"task_ids": [1]})]
    fake.scripts[WHOAMI] = [500, ("json", 200, {"email": "own@x.y"})]
    sdk = LabelStudio(base_url=fake.url, api_key=LEGACY)
    c = as_client(sdk)
    assert isinstance(c, LabelStudioClient) and c.sdk is sdk
    assert c.url == fake.url and c.token_kind == "legacy" and LEGACY not in repr(c)
    c.backoff = c.max_backoff = 0.001
    assert c.whoami()["email"] == "own@x.y"  # our retry of a safe call
    with pytest.raises(ServerUnavailable, match="may or may not have applied"):
        c.import_tasks(7, [{"data": {"text": "a"}}])
    assert fake.count(path) == 1, "the SDK's own retry must not re-send the import"
    c.close()
    assert not sdk._client_wrapper.httpx_client.httpx_client.is_closed, "the SDK stays yours"


def test_expired_personal_token_is_an_auth_error_before_any_request(fake: Fake) -> None:
    expired = fake_jwt(time.time() - 60)
    with client(fake.url, expired) as c, pytest.raises(AuthError) as info:
        c.whoami()
    assert "expired" in info.value.message and expired not in str(info.value)
    assert fake.count() == 0


def test_error_text_echoing_the_token_is_redacted(fake: Fake) -> None:
    fake.scripts[WHOAMI] = [("json", 403, {"detail": f"no access for Token {LEGACY}"})]
    with client(fake.url) as c, pytest.raises(LabelStudioError) as info:
        c.whoami()
    assert LEGACY not in str(info.value) and "HTTP 403" in info.value.message


@pytest.mark.parametrize("status", [502, 504])
def test_import_post_is_not_resent_after_a_proxy_502_or_504(fake: Fake, status: int) -> None:
    """A gateway error may come after Label Studio accepted the import."""
    path = "/api/projects/7/import"
    fake.scripts[path] = [status, ("json", 201, {"task_ids": [1]})]
    with client(fake.url) as c, pytest.raises(ServerUnavailable) as info:
        c.import_tasks(7, [{"data": {"text": "a"}}])
    assert fake.count(path) == 1 and "may or may not have applied" in info.value.message


def test_non_json_answer_echoing_the_token_is_redacted(fake: Fake) -> None:
    def handle(h: BaseHTTPRequestHandler, method: str, path: str, body: bytes) -> bool:
        data = f"echo {h.headers.get('Authorization')}".encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        return True

    fake.handler = handle
    with client(fake.url) as c, pytest.raises(LabelStudioError) as info:
        c.request("GET", "/api/anything")
    assert LEGACY not in str(info.value) and "non-JSON" in info.value.message


def test_as_client_wraps_sdk_subclasses_and_refuses_async(fake: Fake) -> None:
    from label_studio_sdk import AsyncLabelStudio, LabelStudio

    from corpus.labelstudio.client import as_client

    class Mine(LabelStudio):
        pass

    wrapped = as_client(Mine(base_url=fake.url, api_key=LEGACY))
    assert isinstance(wrapped, LabelStudioClient)
    with pytest.raises(ConfigError, match="AsyncLabelStudio"):
        as_client(AsyncLabelStudio(base_url=fake.url, api_key=LEGACY))


def test_pull_windows_cover_sparse_ids_with_few_requests() -> None:
    from corpus.labelstudio.annotations import WINDOW, _windows

    assert _windows(1, 10_000_000, 5) == [(0, 10_000_000)]
    got = _windows(1, 2 * WINDOW + 500, 2 * WINDOW + 500)
    assert len(got) == 3 and got[0][0] == 0 and got[-1][1] == 2 * WINDOW + 500
    assert all(a[1] == b[0] for a, b in itertools.pairwise(got))
