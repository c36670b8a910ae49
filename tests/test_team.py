"""A team on one project, against the REAL Label Studio of the ``ls_server`` fixture:
overlap through Label Studio's own queue, annotator accounts added, listed and removed."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.errors import ConfigError, LabelStudioError
from corpus.labelschema import load_schema
from corpus.labelstudio.annotations import pull, read_annotations
from corpus.labelstudio.client import LabelStudioClient
from corpus.labelstudio.tasks import push, read_ledger
from corpus.labelstudio.team import annotator_stats
from corpus.labelstudio.users import (
    add_annotators,
    list_accounts,
    passwords_path,
    remove_annotator,
)
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TARGETS = ["英伟达", "特朗普"]
_counter = itertools.count()

pytestmark = pytest.mark.labelstudio


def _name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def _next(client: LabelStudioClient, project_id: int) -> dict[str, Any] | None:
    """The task Label Studio's queue gives this annotator next (None: nothing left)."""
    try:
        got: dict[str, Any] = client.request("GET", f"/api/projects/{project_id}/next")
    except LabelStudioError as exc:
        if exc.status == 404:
            return None
        raise
    return got


def _claim(value: str) -> list[dict[str, Any]]:
    return [{"from_name": "claim", "to_name": "text", "type": "choices",
             "value": {"choices": [value]}}]


def _label_through_queue(clients: list[LabelStudioClient], project_id: int,
                         bound: int) -> dict[int, list[str]]:
    """Every annotator takes tasks from the queue in turn until it is empty for all."""
    by_task: dict[int, list[str]] = defaultdict(list)
    done = [False] * len(clients)
    for step in range(bound):
        i = step % len(clients)
        if all(done):
            break
        if done[i]:
            continue
        task = _next(clients[i], project_id)
        if task is None:
            done[i] = True
            continue
        clients[i].create_annotation(int(task["id"]), _claim("claim" if i % 2 else "no_claim"))
        by_task[int(task["id"])].append(clients[i].whoami()["email"])
    assert all(done), f"the queue still had tasks after {bound} steps"
    return by_task


def test_overlap_queue_gives_each_task_to_n_distinct_annotators(
        ls_server: Any, seed_ws: Workspace) -> None:
    admin = ls_server.client()
    name = _name("overlap")
    report = push(seed_ws, name, targets=TARGETS, client=admin, limit=6, overlap=2)
    assert report.overlap == 2 and not report.overlap_changed
    proj = admin.get_project(report.project_id)
    assert proj["maximum_annotations"] == 2
    clients = []
    for k in range(3):
        _, token = ls_server.add_user(f"queue{k}-{name}@example.org")
        clients.append(ls_server.client(token))
    by_task = _label_through_queue(clients, report.project_id, bound=200)
    assert len(by_task) == 6
    for task_id, who in by_task.items():
        assert len(who) == 2 and len(set(who)) == 2, (task_id, who)
    # what Label Studio itself recorded agrees
    for task in admin.list_tasks(report.project_id, fields="all", page_size=100):
        assert task["total_annotations"] == 2 and task["is_labeled"]

    # overlap 1 by default on an existing project stays; an explicit change updates it
    again = push(seed_ws, name, client=admin, limit=0)
    assert again.overlap == 2 and not again.overlap_changed
    more = push(seed_ws, name, client=admin, limit=2, overlap=3)
    assert more.overlap == 3 and more.overlap_changed
    assert admin.get_project(report.project_id)["maximum_annotations"] == 3
    assert "each task for 3 annotators (changed)" in more.summary()
    new_tasks = _label_through_queue(clients, report.project_id, bound=200)
    # the two new tasks get 3 annotators; the six old ones one more each
    assert sorted(len(set(w)) for w in new_tasks.values()) == [1] * 6 + [3] * 2


def test_overlap_is_validated_before_any_request(seed_ws: Workspace, no_ls_env: None) -> None:
    with pytest.raises(ConfigError, match="overlap"):
        push(seed_ws, "x-overlap", overlap=0)
    res = CliRunner().invoke(app, ["push", "-p", "x-overlap", "--overlap", "0",
                                   "-w", str(seed_ws.root)])
    assert res.exit_code == 2 and "overlap" in res.output


def test_up_takes_overlap_and_the_article_size_cap(
        ls_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`corpus up` passes `--overlap` to the project (and warns that the organisation has
    too few accounts for it) and `--max-article-mb` to ingest (a bigger article is refused
    with a line naming it, the other one goes through)."""
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    src = tmp_path / "in"
    src.mkdir()
    seed = next((Path(__file__).resolve().parents[1] / "seeds").glob("*"))
    (src / "seed.txt").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (src / "big.txt").write_text("英伟达发布了新的芯片。" * 20000, encoding="utf-8")  # ~0.6 MB
    name = _name("up")
    ws = tmp_path / "ws"
    res = CliRunner().invoke(app, ["up", str(src), "--project", name, "--targets", "英伟达",
                                   "--overlap", "50", "--max-article-mb", "0.5",
                                   "-w", str(ws)])
    assert "big.txt" in res.output and "--max-article-mb" in res.output, res.output
    admin = ls_server.client()
    (proj,) = admin.list_projects(title=name)
    assert admin.get_project(int(proj["id"]))["maximum_annotations"] == 50
    assert "each task waits for 50 annotators" in res.output
    assert "each goes to 50 annotators" in res.output
    ledger = read_ledger(Workspace(ws), name)
    assert ledger and ls_server.token not in res.output


def _can_log_in(url: str, email: str, password: str, origin: str | None = None) -> bool:
    """Log in through Label Studio's own login form (CSRF cookie and all), as a browser
    at ``origin`` (default: ``url`` itself) would."""
    origin = origin or url
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http:
        page = http.get("/user/login/")
        # read the cookie from the header: behind TLS it is Secure, which httpx keeps from http
        token = next((c.split("=", 1)[1].split(";", 1)[0]
                      for c in page.headers.get_list("set-cookie")
                      if c.startswith("csrftoken=")), "")
        http.cookies.clear()
        got = http.post("/user/login/", data={"email": email, "password": password,
                                              "csrfmiddlewaretoken": token},
                        headers={"Referer": f"{origin}/user/login/", "Origin": origin,
                                 "Cookie": f"csrftoken={token}"})
        assert page.status_code == 200
        return got.status_code == 302 and "/user/login" not in got.headers.get("location", "")


def test_annotators_add_list_remove_on_the_embedded_server(
        ls_server: Any, seed_ws: Workspace, no_ls_env: None) -> None:
    ws = ls_server.workspace
    admin = ls_server.client()
    a, b = f"ann-a-{_name('t')}@example.org", f"ann-b-{_name('t')}@example.org"
    added = add_annotators(ws, admin, [a, b, a], embedded=True)
    assert [x.email for x in added] == [a, b] and all(x.created for x in added)
    path = passwords_path(ws)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = json.loads(path.read_text(encoding="utf-8"))
    assert kept[a]["password"] == added[0].password
    assert _can_log_in(ls_server.url, a, added[0].password or "")
    assert not _can_log_in(ls_server.url, a, "wrong-password")
    accounts = {x.email: x for x in list_accounts(admin)}
    assert accounts[a].active and accounts[b].active and not accounts[a].is_you

    # b annotates, then is removed: no access, annotations kept and pulled with b's e-mail
    _, token_b = ls_server.add_user(b)  # same account: the token of b
    client_b = ls_server.client(token_b)
    name = _name("team")
    report = push(seed_ws, name, targets=TARGETS, client=admin, limit=2, overlap=1)
    task = _next(client_b, report.project_id)
    assert task is not None
    client_b.create_annotation(int(task["id"]), _claim("claim"))
    b_id = next(x.id for x in list_accounts(admin) if x.email == b)
    # the lead's workspace (the one that pulls) removes b; the server's keeps b's password
    removed = remove_annotator(seed_ws, admin, b)
    assert not removed.active and b in json.loads(path.read_text(encoding="utf-8"))
    assert b not in {x.email for x in list_accounts(admin) if x.active}
    assert not {x.email: x for x in list_accounts(admin, seed_ws)}[b].active
    assert f"user:{b_id}" in {x.email for x in list_accounts(admin) if not x.active}
    with pytest.raises(LabelStudioError):
        client_b.request("GET", f"/api/projects/{report.project_id}/next")
    pull(seed_ws, name, client=admin)
    rows = read_annotations(seed_ws, load_schema()).to_pylist()
    assert [r["annotator"] for r in rows] == [b]
    # a workspace that never saw b gets b's user id, never Label Studio's "Deleted"
    other_ws = Workspace(seed_ws.root.parent / "other").ensure()
    for table in ("articles", "sentences"):
        (other_ws.root / f"{table}.parquet").write_bytes(
            (seed_ws.root / f"{table}.parquet").read_bytes())
    pull(other_ws, name, client=admin)
    rows = read_annotations(other_ws, load_schema()).to_pylist()
    assert [r["annotator"] for r in rows] == [f"user:{b_id}"]
    with pytest.raises(ConfigError, match="cannot remove itself"):
        remove_annotator(ws, admin, admin.whoami()["email"])
    with pytest.raises(ConfigError, match="no active account"):
        remove_annotator(ws, admin, b)
    with pytest.raises(ConfigError, match="no active account"):
        remove_annotator(ws, admin, "nobody-here@example.org")
    with pytest.raises(ConfigError, match="e-mail"):
        add_annotators(ws, admin, ["not-an-email"], embedded=True)

    # adding b again re-activates the account with a new password
    back = add_annotators(ws, admin, [b], embedded=True)
    assert b in json.loads(path.read_text(encoding="utf-8"))
    assert not back[0].created and _can_log_in(ls_server.url, b, back[0].password or "")
    assert {x.email: x for x in list_accounts(admin)}[b].active
    assert task["id"] in {int(t["id"]) for t in ls_server.client(token_b).list_tasks(
        report.project_id, fields="task_only", page_size=10)}


def test_annotators_cli(ls_server: Any, seed_ws: Workspace, no_ls_env: None,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    email = f"cli-{_name('t')}@example.org"
    res = runner.invoke(app, ["annotators", "add", email, "-w", str(ls_server.workspace.root)])
    assert res.exit_code == 0, res.output
    password = json.loads(passwords_path(ls_server.workspace).read_text())[email]["password"]
    assert password in res.output and "shown only now" in res.output

    # two annotators label through the queue; list shows their work and agreement
    admin = ls_server.client()
    name = _name("cli-team")
    report = push(seed_ws, name, targets=TARGETS, client=admin, limit=3, overlap=2)
    _, t1 = ls_server.add_user(email)
    other = f"cli-other-{_name('t')}@example.org"
    _, t2 = ls_server.add_user(other)
    c1, c2 = ls_server.client(t1), ls_server.client(t2)
    for c in (c1, c2):
        while (task := _next(c, report.project_id)) is not None:
            c.create_annotation(int(task["id"]), _claim("claim"))
    pull(seed_ws, name, client=admin)
    stats = annotator_stats(read_annotations(seed_ws, load_schema()), load_schema())
    assert stats[email].done == 3 and stats[other].done == 3
    assert stats[email].agreement == 1.0 and stats[email].shared == 3

    from corpus.cli import common

    monkeypatch.setattr(common.out, "width", 200)  # one table row per line
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    res = runner.invoke(app, ["annotators", "list", "-p", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if email in ln)
    assert re.search(r"active\s.*\b3\b.*\b0\b.*100% of 3", line), line
    assert password not in res.output and ls_server.token not in res.output

    # a remote server (the environment's URL): adding gives the sign-up link
    res = runner.invoke(app, ["annotators", "add", "new-remote@example.org",
                              "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    assert re.search(r"/user/signup/\?token=\w+", res.output), res.output

    res = runner.invoke(app, ["annotators", "remove", other, "-w", str(seed_ws.root)])
    assert res.exit_code == 0 and "annotations stay" in res.output
    res = runner.invoke(app, ["annotators", "list", "-w", str(seed_ws.root)])
    line = next(ln for ln in res.output.splitlines() if other in ln)
    assert "removed" in line and re.search(r"\b3\b", line), line


def test_plain_http_beyond_loopback_gets_a_warning() -> None:
    from corpus.labelstudio.server import exposure_warning

    lan = exposure_warning("192.168.1.20", 8080, None)
    assert lan is not None and "plain HTTP" in lan and "192.168.1.20:8080" in lan
    assert "--public-url https://" in lan
    assert "THIS_HOST:8080" in (exposure_warning("0.0.0.0", 8080, None) or "")
    behind = exposure_warning("192.168.1.20", 8080, "https://label.example.org")
    assert behind is not None and "--host 127.0.0.1" in behind
    assert exposure_warning("127.0.0.2", 8080, None) is None
    assert exposure_warning("::1", 8080, None) is None


def _listening(pid: int) -> set[tuple[str, int]]:
    import psutil

    proc = psutil.Process(pid)
    return {(c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN}


def test_server_for_a_team_listens_where_asked(tmp_path: Path, no_ls_env: None) -> None:
    """--host: listens on that address only (127.0.0.2 stands in for a LAN address), warns
    about plain HTTP, and logins work; --public-url: a TLS proxy's origin is trusted."""
    import socket

    from corpus.errors import ConfigError as CE
    from corpus.labelstudio import server

    ws = Workspace(tmp_path / "team-ws")
    runner = CliRunner()
    res = runner.invoke(app, ["server", "start", "--host", "127.0.0.2", "-w", str(ws.root),
                              "--timeout", "240"])
    try:
        assert res.exit_code == 0, res.output
        st = server.status(ws)
        assert st.running and st.url and st.url.startswith("http://127.0.0.2:")
        assert f"listening on 127.0.0.2, port {st.url.rsplit(':', 1)[1]}" in res.output
        assert "plain HTTP" not in res.output  # 127.0.0.2 is still this machine only
        port = int(st.url.rsplit(":", 1)[1])
        assert _listening(st.pid or 0) == {("127.0.0.2", port)}
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(2)
            sock.connect(("127.0.0.1", port))
        creds = server.load_credentials(ws)
        assert creds is not None
        assert _can_log_in(st.url, creds.email, creds.password)
        assert not _can_log_in(st.url, creds.email, creds.password,
                               origin="https://label.example.test")
        res = runner.invoke(app, ["server", "status", "-w", str(ws.root)])
        assert "listening on 127.0.0.2" in res.output
        with pytest.raises(CE, match=r"already runs on 127\.0\.0\.2"):
            server.start(ws, host="127.0.0.1")
        again = server.start(ws)  # no address asked: the running server as it is
        assert not again.started and again.host == "127.0.0.2"
    finally:
        server.stop(ws)

    info = server.start(ws, host="127.0.0.2", public_url="https://label.example.test/",
                        timeout=240)
    try:
        assert info.public_url == "https://label.example.test"
        creds = server.load_credentials(ws)
        assert creds is not None
        assert _can_log_in(info.url, creds.email, creds.password,
                           origin="https://label.example.test")
        with LabelStudioClient(info.url, creds.token) as lead:
            [added] = add_annotators(ws, lead, ["Behind@Proxy.example.org"], embedded=True)
        assert added.email == "behind@proxy.example.org"  # one spelling
        assert added.login_url == "https://label.example.test/user/login/"
    finally:
        server.stop(ws)
    for bad in (["--host", "localhost"], ["--host", "::1"],
                ["--host", "127.0.0.2", "--public-url", "ftp://x"]):
        res = runner.invoke(app, ["server", "start", *bad, "-w", str(ws.root)])
        assert res.exit_code == 2 and "error" in res.output, res.output


def test_status_while_labelling(ls_server: Any, seed_ws: Workspace, no_ls_env: None,
                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two annotators label through the queue, one marks a sentence junk: `corpus status`
    shows the progress, the alpha so far, both annotators and the segmenter feedback."""
    admin = ls_server.client()
    name = _name("status")
    report = push(seed_ws, name, targets=TARGETS, client=admin, limit=4, overlap=2)
    clients = [ls_server.client(ls_server.add_user(f"st{k}-{name}@example.org")[1])
               for k in range(2)]
    marked = None
    for i, c in enumerate(clients):
        while (task := _next(c, report.project_id)) is not None:
            result = _claim("claim")
            if i == 1 and marked is None:
                marked = int(task["id"])
                result.append({"from_name": "seg_quality", "to_name": "text",
                               "type": "choices", "value": {"choices": ["junk"]}})
            c.create_annotation(int(task["id"]), result)
    pull(seed_ws, name, client=admin)
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    png = tmp_path / "status.png"
    res = CliRunner().invoke(app, ["status", "-p", name, "--json", "--png", str(png),
                                   "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)
    assert st["tasks"] == 4 and st["overlap"] == 2 and st["progress"] == {"2": 4}
    assert {a["stats"]["annotator"] for a in st["annotators"]} == {
        f"st{k}-{name}@example.org" for k in range(2)}
    assert all(a["stats"]["done"] == 4 for a in st["annotators"])
    claim = next(f for f in st["fields"] if f["field"] == "claim")
    assert claim["units"] == 4
    [fb] = st["segment_feedback"]
    sid = next(s for s, t in read_ledger(seed_ws, name).items() if t == marked)
    assert fb["sentence_id"] == sid and fb["label"] == "junk" and fb["text"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = CliRunner().invoke(app, ["status", "-p", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0 and "4 tasks, each for 2 annotators; 4 complete" in res.output
    res = CliRunner().invoke(app, ["status", "-p", "never-pushed", "-w", str(seed_ws.root)])
    assert res.exit_code != 0 and "never pushed" in res.output


def test_status_flags_an_annotator_far_below_the_rest(tmp_path: Path) -> None:
    """Library level, no server: four annotators on 30 sentences, one mostly against the
    others' majority; alpha comes with a bootstrap interval around it."""
    import random

    import pyarrow as pa
    from factories import annotation_rows_table, sentence_rows

    from corpus.labelstudio.team import project_status
    from corpus.storage.atomic import write_json, write_table

    ws = Workspace(tmp_path / "ws").ensure()
    sents = sentence_rows("art", 30)
    write_table(ws.sentences, pa.Table.from_pylist(sents))
    rng = random.Random(4)
    rows = []
    for s in sents:
        truth = rng.choice(["claim", "no_claim"])
        wrong = "no_claim" if truth == "claim" else "claim"
        for who in ("a", "b", "c"):
            rows.append({"sentence_id": s["sentence_id"], "annotator": f"{who}@x.org",
                         "claim": truth if rng.random() < 0.95 else wrong})
        rows.append({"sentence_id": s["sentence_id"], "annotator": "d@x.org",
                     "claim": wrong if rng.random() < 0.7 else truth})
    rows = [{**r, "annotation_id": i + 1, "ls_project_id": 7} for i, r in enumerate(rows)]
    write_table(ws.annotations, annotation_rows_table(rows))
    (ws.sync_dir / "flagged").mkdir(parents=True)
    write_json(ws.sync_dir / "flagged" / "project.json",
               {"project": "flagged", "project_id": 7, "targets": [], "overlap": 4})
    st = project_status(ws, "flagged", load_schema())
    flagged = {a.stats.annotator for a in st.annotators if a.flagged}
    assert flagged == {"d@x.org"}
    assert st.progress == {4: 30}
    claim = next(f for f in st.fields if f.field == "claim")
    assert claim.alpha is not None and claim.low is not None and claim.high is not None
    assert claim.low <= claim.alpha <= claim.high
