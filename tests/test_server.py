"""The embedded Label Studio server: security of its secrets and socket, lifecycle, API.

Tests marked ``labelstudio`` share the session server of ``conftest.ls_server``;
the others use decoy processes only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil
import pytest

from corpus.errors import AuthError, LabelStudioError, ServerUnavailable
from corpus.labelstudio import connection as ls_connection
from corpus.labelstudio import install, server
from corpus.labelstudio.client import LabelStudioClient
from corpus.workspace import Workspace

if TYPE_CHECKING:
    from conftest import LSServer

labelstudio = pytest.mark.labelstudio

LABEL_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="claim" toName="text" choice="single" required="true">
    <Choice value="claim"/><Choice value="no_claim"/><Choice value="unsure"/>
  </Choices>
</View>"""


def _result(value: str) -> list[dict[str, object]]:
    return [{"from_name": "claim", "to_name": "text", "type": "choices",
             "value": {"choices": [value]}}]


# ----------------------------------------------------------------------------- secrets


@labelstudio
def test_status_and_connection(ls_server: LSServer, no_ls_env: None) -> None:
    st = server.status(ls_server.workspace)
    assert st.running and st.url == ls_server.url
    assert st.url is not None and st.url.startswith("http://127.0.0.1:")
    assert st.email == server.ADMIN_EMAIL
    assert st.credentials_path == ls_server.workspace.labelstudio_dir / "credentials.json"
    conn = ls_connection.connection(ls_server.workspace)
    assert conn.url == ls_server.url and conn.token_kind == "legacy"
    assert conn.source == "embedded"
    assert conn.token not in repr(st) + repr(conn)


@labelstudio
def test_database_runs_in_wal_mode(ls_server: LSServer) -> None:
    """Readers (pulls) and a writer (an import) proceed together: WAL, set before the server
    first opens the database and shown by `server status`."""
    db = ls_server.workspace.labelstudio_dir / "data" / "label_studio.sqlite3"
    assert server.journal_mode(db) == "wal"
    assert server.status(ls_server.workspace).journal_mode == "wal"


@labelstudio
def test_writers_queue_for_the_write_lock_instead_of_failing(
        ls_server: LSServer, project: dict[str, object]) -> None:
    """A writer holding SQLite's lock longer than Python's default 5 s busy timeout (here
    an outside connection, in real use an import or another annotator) makes Label Studio
    wait for it instead of answering "database is locked"."""
    import sqlite3
    import threading

    pid = int(str(project["id"]))
    paths = server.ServerPaths.of(ls_server.workspace)
    with ls_server.client() as c:
        [tid] = c.import_tasks(pid, [{"data": {"text": "lock test"}}])
        done: dict[str, Any] = {}

        def write() -> None:
            try:
                done["annotation"] = c.create_annotation(tid, _result("claim"))
                done["import"] = c.import_tasks(pid, [{"data": {"text": "during lock"}}])
            except Exception as exc:  # reported by the assert below
                done["error"] = exc

        con = sqlite3.connect(paths.database, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            worker = threading.Thread(target=write, daemon=True)
            worker.start()
            time.sleep(server.SQLITE_BUSY_TIMEOUT / 3)  # > 5 s, the old busy timeout
            con.execute("COMMIT")
        finally:
            con.close()
        worker.join(120)
        assert not worker.is_alive() and "error" not in done, done
        assert [a["id"] for a in c.list_annotations(tid)] == [done["annotation"]["id"]]
        assert len(done["import"]) == 1
    assert (server.settings_dir(paths) / f"{server.SETTINGS_MODULE}.py").is_file()
    assert server.SETTINGS_MARKER in paths.log.read_text(encoding="utf-8")


def test_enable_wal_on_a_rollback_journal_database(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "x.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("create table t (x)")
        con.commit()
    assert server.journal_mode(db) == "delete"
    server.enable_wal(db)
    assert server.journal_mode(db) == "wal"
    assert server.journal_mode(tmp_path / "none.sqlite3") is None


def test_credentials_file_is_private_and_holds_the_token(ls_server: LSServer) -> None:
    path = ls_server.workspace.labelstudio_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    creds = json.loads(path.read_text())
    assert creds["token"] == ls_server.token
    assert creds["email"] == server.ADMIN_EMAIL
    assert len(creds["password"]) >= 24


@labelstudio
def test_secrets_are_not_in_argv(ls_server: LSServer) -> None:
    creds = json.loads((ls_server.workspace.labelstudio_dir / "credentials.json").read_text())
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "label_studio.server" in ps
    assert creds["token"] not in ps
    assert creds["password"] not in ps
    cmdline = psutil.Process(ls_server.info.pid).cmdline()
    assert not any(creds["token"] in a or creds["password"] in a for a in cmdline)


@labelstudio
def test_server_log_has_no_secrets(ls_server: LSServer) -> None:
    creds = json.loads((ls_server.workspace.labelstudio_dir / "credentials.json").read_text())
    log = (ls_server.workspace.labelstudio_dir / "server.log").read_text(errors="replace")
    assert creds["token"] not in log and creds["password"] not in log


def _non_loopback_ipv4() -> str | None:
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return str(a.address)
    return None


@labelstudio
def test_listens_on_loopback_only(ls_server: LSServer) -> None:
    proc = psutil.Process(ls_server.info.pid)
    listening = [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening, "the server process listens on nothing"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    port = listening[0].laddr.port
    assert ls_server.url == f"http://127.0.0.1:{port}"
    ip = _non_loopback_ipv4()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(2)
        s.connect((ip, port))


# ----------------------------------------------------------------------------- auth


@labelstudio
def test_whoami_with_legacy_token(ls_server: LSServer) -> None:
    with ls_server.client() as c:
        assert c.token_kind == "legacy"
        assert c.whoami()["email"] == server.ADMIN_EMAIL


@pytest.fixture(scope="module")
def personal_token(ls_server: LSServer) -> str:
    with ls_server.client() as c:
        try:
            return c.create_personal_token()
        except Exception as exc:
            if not ls_server.reused:
                raise
            # 409 on a reused workspace: one live personal token per user already exists.
            pytest.skip(f"reused workspace already has a personal access token: {exc}")


@labelstudio
def test_whoami_with_personal_access_token(ls_server: LSServer, personal_token: str) -> None:
    assert ls_connection.token_kind(personal_token) == "personal"
    with ls_server.client(personal_token) as c:
        assert c.token_kind == "personal"
        assert c.whoami()["email"] == server.ADMIN_EMAIL
        # A revoked/garbled access token (the SDK still thinks it valid: it does not
        # verify signatures) is rejected by the server, then refreshed once transparently.
        tokens = c._tokens()
        assert tokens is not None and tokens._access_token
        garbled = tokens._access_token[:-4] + "AAAA"
        tokens._access_token = garbled
        assert c.whoami()["email"] == server.ADMIN_EMAIL
        assert tokens._access_token and tokens._access_token != garbled


@labelstudio
def test_personal_token_via_env(ls_server: LSServer, personal_token: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", personal_token)
    conn = ls_connection.connection(ls_server.workspace)
    assert conn.source == "env" and conn.token_kind == "personal"
    with LabelStudioClient.from_connection(conn) as c:
        assert c.whoami()["email"] == server.ADMIN_EMAIL


@labelstudio
@pytest.mark.parametrize("bad", ["0" * 40, "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"])
def test_bad_token_gives_auth_error(ls_server: LSServer, bad: str) -> None:
    with ls_server.client(bad) as c, pytest.raises(AuthError) as info:
        c.whoami()
    text = str(info.value)
    assert bad not in text and ls_server.token not in text
    assert "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN" in text
    assert ls_server.url in info.value.message


# ----------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def project(ls_server: LSServer) -> Iterator[dict[str, object]]:
    with ls_server.client() as c:
        p = c.create_project("server test project", LABEL_CONFIG,
                             expert_instruction="<p>read me</p>", show_instruction=True)
        yield p
        c.delete_project(int(str(p["id"])))


@labelstudio
def test_project_crud(ls_server: LSServer, project: dict[str, object]) -> None:
    pid = int(str(project["id"]))
    with ls_server.client() as c:
        assert c.get_project(pid)["show_instruction"] is True
        assert c.update_project(pid, expert_instruction="<p>v2</p>")["expert_instruction"] == (
            "<p>v2</p>")
        assert pid in [p["id"] for p in c.list_projects(title="server test project")]


@labelstudio
def test_import_returns_ids_in_order(ls_server: LSServer, project: dict[str, object]) -> None:
    pid = int(str(project["id"]))
    tasks = [{"data": {"text": f"sentence {i}"}, "meta": {"sentence_id": f"s{i}"}}
             for i in range(25)]
    with ls_server.client() as c:
        ids = c.import_tasks(pid, tasks, batch_size=10)
        assert len(ids) == 25 and len(set(ids)) == 25
        for i in (0, 9, 10, 24):
            task = c.get_task(ids[i])
            assert task["data"]["text"] == f"sentence {i}"
            assert task["meta"] == {"sentence_id": f"s{i}"}


@labelstudio
def test_updated_at_filter_and_annotations(ls_server: LSServer,
                                           project: dict[str, object]) -> None:
    pid = int(str(project["id"]))
    with ls_server.client() as c:
        ids = c.import_tasks(pid, [{"data": {"text": f"filter {i}"}} for i in range(3)])
        time.sleep(0.05)
        mark = datetime.now(timezone.utc)
        time.sleep(0.05)
        assert c.list_tasks(pid, updated_after=mark) == []

        ann = c.create_annotation(ids[1], _result("claim"), lead_time=1.5)
        changed = c.list_tasks(pid, updated_after=mark)
        assert [t["id"] for t in changed] == [ids[1]]
        assert changed[0]["annotations"][0]["result"][0]["value"]["choices"] == ["claim"]

        mark2 = datetime.now(timezone.utc)
        time.sleep(0.05)
        c.update_annotation(int(ann["id"]), result=_result("unsure"))
        assert [t["id"] for t in c.list_tasks(pid, updated_after=mark2)] == [ids[1]]

        mark3 = datetime.now(timezone.utc)
        time.sleep(0.05)
        c.delete_annotation(int(ann["id"]))
        gone = c.list_tasks(pid, updated_after=mark3)
        assert [t["id"] for t in gone] == [ids[1]] and gone[0]["annotations"] == []

        # Latency of the "nothing changed" poll (the pull fast path).
        future = datetime.now(timezone.utc)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            c.task_page(pid, page_size=100, query={"filters": {"conjunction": "and", "items": [{
                "filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime",
                "value": future.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}]}})
            times.append(time.perf_counter() - t0)
        print(f"\nupdated_at filter, nothing changed: median {sorted(times)[2] * 1000:.1f} ms")
        assert sorted(times)[2] < 2.0


@labelstudio
def test_second_annotator(ls_server: LSServer, project: dict[str, object]) -> None:
    pid = int(str(project["id"]))
    user_id, token = ls_server.add_user("annotator2@claim-corpus.local")
    assert token != ls_server.token
    assert ls_server.add_user("annotator2@claim-corpus.local") == (user_id, token)
    with ls_server.client(token) as c2, ls_server.client() as admin:
        assert c2.whoami()["email"] == "annotator2@claim-corpus.local"
        (tid,) = admin.import_tasks(pid, [{"data": {"text": "two annotators"}}])
        admin.create_annotation(tid, _result("claim"))
        c2.create_annotation(tid, _result("no_claim"))
        anns = admin.get_task(tid)["annotations"]
        by = {a["completed_by"]["email"] if isinstance(a["completed_by"], dict)
              else a["completed_by"] for a in anns}
        assert len(anns) == 2 and len(by) == 2
        assert "annotator2@claim-corpus.local" in [u["email"] for u in admin.list_users()]


@labelstudio
def test_export(ls_server: LSServer, project: dict[str, object]) -> None:
    with ls_server.client() as c:
        exported = c.export(int(str(project["id"])))
    assert isinstance(exported, list)


# ----------------------------------------------------------------------------- lifecycle


@labelstudio
def test_start_again_returns_the_running_server(ls_server: LSServer) -> None:
    info = server.start(ls_server.workspace)
    assert not info.started and info.pid == ls_server.info.pid and info.url == ls_server.url


def _decoy(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *args],
                            start_new_session=True)


def _write_state(ws: Workspace, proc: subprocess.Popen[bytes], port: int = 1) -> None:
    d = ws.labelstudio_dir
    d.mkdir(parents=True, exist_ok=True)
    (d / "server.json").write_text(json.dumps({
        "pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}",
        **server.process_stamp(psutil.Process(proc.pid))}))


def test_our_server_is_still_ours_after_the_wall_clock_steps(tmp_path: Path) -> None:
    """NTP stepping the clock moves psutil's create_time (boot time + ticks); it is still ours."""
    ws = Workspace(tmp_path)
    decoy = _decoy(["label_studio.server", "--data-dir", str(ws.labelstudio_dir / "data")])
    try:
        _write_state(ws, decoy)
        state = json.loads((ws.labelstudio_dir / "server.json").read_text())
        state["create_time"] += 1.0000002  # /proc/stat btime moved by a second
        (ws.labelstudio_dir / "server.json").write_text(json.dumps(state))
        assert server.status(ws).running is True
    finally:
        decoy.kill()
        decoy.wait()


@pytest.mark.parametrize("extra", [[], ["label_studio.server", "--data-dir", "/elsewhere/data"]])
def test_stop_never_kills_a_process_that_is_not_ours(tmp_path: Path, extra: list[str]) -> None:
    ws = Workspace(tmp_path)
    decoy = _decoy(extra)
    try:
        _write_state(ws, decoy)
        assert server.status(ws).running is False
        assert server.stop(ws) is False
        time.sleep(0.2)
        assert decoy.poll() is None, "the decoy was killed"
        assert not (ws.labelstudio_dir / "server.json").exists(), "stale state is removed"
    finally:
        decoy.kill()
        decoy.wait()


def test_stop_kills_our_process_group(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    decoy = _decoy(["label_studio.server", "--data-dir", str(ws.labelstudio_dir / "data")])
    try:
        _write_state(ws, decoy)
        assert server.status(ws).running is True
        assert server.stop(ws, grace=5) is True
        decoy.wait(timeout=5)
        assert server.status(ws).running is False
    finally:
        if decoy.poll() is None:
            decoy.kill()
            decoy.wait()


def test_stop_ignores_a_reused_pid(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    decoy = _decoy(["label_studio.server", "--data-dir", str(ws.labelstudio_dir / "data")])
    try:
        _write_state(ws, decoy)
        state = json.loads((ws.labelstudio_dir / "server.json").read_text())
        state["create_time"] -= 1000  # as if the recorded process had died and the pid reused
        state["start_ticks"] -= 100_000
        (ws.labelstudio_dir / "server.json").write_text(json.dumps(state))
        assert server.stop(ws) is False
        assert decoy.poll() is None
    finally:
        decoy.kill()
        decoy.wait()


@labelstudio
def test_stop_and_restart(ls_server: LSServer, no_ls_env: None) -> None:
    """Stop the session server for real, then bring it back on the same port."""
    if ls_server.reused:
        pytest.skip("reused workspace server: not stopping it")
    pid, port = ls_server.info.pid, ls_server.info.port
    assert server.stop(ls_server.workspace) is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert server.status(ls_server.workspace).running is False
    with pytest.raises(ServerUnavailable, match=r"no Label Studio server is running"):
        ls_connection.connection(ls_server.workspace)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{ls_server.url}/health", timeout=2)
    assert server.stop(ls_server.workspace) is False

    info = server.start(ls_server.workspace, port=port, timeout=240)
    assert info.started and info.url == ls_server.url
    ls_server.info = info
    with ls_server.client() as c:
        assert c.whoami()["email"] == server.ADMIN_EMAIL


@labelstudio
def test_ensure_installed_returns_the_existing_venv(ls_server: LSServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With Label Studio installed (the session server runs from it), nothing is reinstalled."""
    def no_install(cmd: list[str], say: object) -> None:
        raise AssertionError(f"ensure_installed ran {cmd}")

    monkeypatch.setattr(install, "_run_streaming", no_install)
    venv = install.default_venv_dir()
    assert install.ensure_installed(venv) == venv


def _fake_venv(root: Path, script: str) -> Path:
    venv = root / "fake-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "python3.11" / "site-packages" /
     f"label_studio-{install.LS_VERSION}.dist-info").mkdir(parents=True)
    py = venv / "bin" / "python"
    py.write_text(f"#!/bin/sh\n{script}\n")
    py.chmod(0o755)
    return venv


def test_start_reports_a_dying_server_with_its_log(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, 'echo "django.core.exceptions.ImproperlyConfigured: boom" >&2\n'
                                "exit 3")
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(LabelStudioError) as info:
        server.start(ws, venv_dir=venv, timeout=30)
    assert "exited with code 3" in info.value.message and "boom" in info.value.message
    assert "server.log" in (info.value.hint or "")
    assert not (ws.labelstudio_dir / "server.json").exists()
    assert server.status(ws).running is False


def test_start_times_out_and_cleans_up(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, '[ "$3" = init ] && exit 1\necho still starting; exec sleep 60')
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(LabelStudioError, match="did not become ready within 2 s"):
        server.start(ws, venv_dir=venv, timeout=2)
    assert not (ws.labelstudio_dir / "server.json").exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(ws.labelstudio_dir / "data") not in ps, "the stuck server was not killed"


def test_ensure_installed_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "ls-venv"
    calls: list[list[str]] = []

    def fail_pip(cmd: list[str], say: object) -> None:
        calls.append(cmd)
        if "venv" in cmd:
            (Path(cmd[-1]) / "bin").mkdir(parents=True)
            (Path(cmd[-1]) / "bin" / "python").write_text("")
            return
        raise LabelStudioError("installing Label Studio failed (killed)")

    monkeypatch.setattr(install, "_run_streaming", fail_pip)
    with pytest.raises(LabelStudioError):
        install.ensure_installed(venv)
    assert not venv.exists(), "a failed install must not leave a venv in place"

    def ok_pip(cmd: list[str], say: object) -> None:
        calls.append(cmd)
        if "venv" in cmd:
            (Path(cmd[-1]) / "bin").mkdir(parents=True)
            (Path(cmd[-1]) / "bin" / "python").write_text("")
            return
        assert f"label-studio=={install.LS_VERSION}" in cmd
        assert Path(cmd[0]).parent.parent.name.startswith(".tmp-")
        site = Path(cmd[0]).parent.parent / "lib" / "python3.11" / "site-packages"
        (site / f"label_studio-{install.LS_VERSION}.dist-info").mkdir(parents=True)

    monkeypatch.setattr(install, "_run_streaming", ok_pip)
    lines: list[str] = []
    assert install.ensure_installed(venv, progress=lines.append) == venv
    assert install.venv_python(venv).exists()
    assert not list(tmp_path.glob(".tmp-*"))
    assert any("installed" in ln for ln in lines)
