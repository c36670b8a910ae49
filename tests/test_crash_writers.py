"""Issue 6: SIGKILL `corpus push`, `corpus pull` and `corpus release` in the middle of
their writes; the workspace stays readable, no file is half-written, and a re-run
finishes with no duplicate task and nothing missing.

Kill points are found by polling for the writers' files (``.tmp-<name>.*`` temporaries,
``pending.json``, the release's ``.tmp-`` folder) and by random short delays. For the
temporaries to be visible long enough, some runs use a ``python -c`` wrapper around the
real CLI whose ``os.fsync`` sleeps first (the file is then complete but not yet renamed:
the "crash between write and rename" case); the release uses its own slow-down hook
``CORPUS_TEST_SLOW_RELEASE``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from robust_helpers import (
    REPO,
    TARGETS,
    assert_matches_label_studio,
    make_workspace,
    random_result,
    sentence_ids,
    tasks_per_sentence,
)

from corpus.labelschema import load_schema
from corpus.labelstudio.tasks import read_ledger
from corpus.workspace import Workspace

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

_SLOW_FSYNC = (
    "import os, sys, time\n"
    "_real = os.fsync\n"
    "def _slow(fd):\n"
    "    time.sleep(float(os.environ['SLOW_FSYNC']))\n"
    "    return _real(fd)\n"
    "os.fsync = _slow\n"
    "from corpus.cli.main import main\n"
    "sys.argv = ['corpus', *sys.argv[1:]]\n"
    "main()\n"
)


def _env(ls_server: Any, **extra: str) -> dict[str, str]:
    return {**os.environ, "LABEL_STUDIO_URL": ls_server.url,
            "LABEL_STUDIO_API_KEY": ls_server.token, **extra}


def _start(args: list[str], env: dict[str, str], slow: float = 0.0) -> subprocess.Popen[str]:
    if slow:
        cmd = [sys.executable, "-c", _SLOW_FSYNC, *args]
        env = {**env, "SLOW_FSYNC": str(slow)}
    else:
        cmd = [sys.executable, "-m", "corpus.cli.main", *args]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "corpus.cli.main", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"corpus {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def _kill_when(proc: subprocess.Popen[str], root: Path, pattern: str,
               timeout: float = 300) -> bool:
    """SIGKILL ``proc`` as soon as ``root.glob(pattern)`` finds something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(root.glob(pattern)):
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            return True
        time.sleep(0.003)
    out, err = proc.communicate()
    proc.output = f"exit {proc.returncode}: {out[-1000:]} {err[-1000:]}"  # type: ignore[attr-defined]
    return False


def _kill_after(proc: subprocess.Popen[str], delay: float) -> bool:
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        return True
    proc.communicate()
    return False


def _check_readable(ws: Workspace) -> None:
    """Every parquet/json/jsonl of the workspace (temporaries aside) parses completely."""
    for path in ws.root.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or "labelstudio" in path.parts \
                or any(p.startswith(".tmp-") for p in path.relative_to(ws.root).parts):
            continue
        if path.suffix == ".parquet":
            pq.read_table(path)
        elif path.suffix == ".json":
            json.loads(path.read_text("utf-8"))
        elif path.suffix == ".jsonl":
            for line in path.read_text("utf-8").splitlines():
                json.loads(line)
    if ws.annotations.exists():
        ids = pq.read_table(ws.annotations, columns=["annotation_id"]).column(0).to_pylist()
        assert len(ids) == len(set(ids))


def _leftovers(ws: Workspace, *targets: str) -> list[str]:
    """Temporaries ``.tmp-<target>.*`` of killed writers still in the workspace."""
    return sorted(str(p.relative_to(ws.root)) for p in ws.root.rglob(".tmp-*")
                  if "labelstudio" not in p.parts
                  and any(p.name.startswith(f".tmp-{t}.") for t in targets))


@pytest.fixture(scope="module")
def crash_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("crash-writers"), 30)


@pytest.fixture(scope="module")
def project(crash_ws: Workspace) -> str:
    return f"crash-{os.getpid()}-{int(time.time())}"


def test_sigkill_push_at_every_write(ls_server: Any, crash_ws: Workspace, project: str) -> None:
    ws, env = crash_ws, _env(ls_server)
    sync = f"sync/{project}"
    args = ["push", "--project", project, "--targets", ",".join(TARGETS),
            "--batch-size", "150", "-w", str(ws.root)]
    kills: list[str] = []
    # (pattern, fsync delay): the first ones MUST be hit
    for pattern, slow in ((f"{sync}/.tmp-project.json.*", 0.5),
                          (f"{sync}/pending.json", 0.0),
                          (f"{sync}/.tmp-ledger.parquet.*", 0.5),
                          (f"{sync}/.tmp-pending.json.*", 0.5),
                          (f"{sync}/.tmp-ledger.parquet.*", 0.5)):
        proc = _start(args, env, slow)
        assert _kill_when(proc, ws.root, pattern), \
            f"push finished before {pattern} appeared: {proc.output}"  # type: ignore[attr-defined]
        kills.append(pattern)
        _check_readable(ws)
        read_ledger(ws, project)
    rng = random.Random(6)
    for _ in range(4):
        if _kill_after(_start(args, env), rng.uniform(1.0, 5.0)):
            kills.append("random")
        _check_readable(ws)
    _run(args, env)
    _check_readable(ws)
    client = ls_server.client()
    state = json.loads((ws.sync_dir / project / "project.json").read_text("utf-8"))
    per_sentence = tasks_per_sentence(client, state["project_id"])
    assert set(per_sentence) == sentence_ids(ws), "tasks missing after the re-run"
    dup = {s: c for s, c in per_sentence.items() if c > 1}
    assert not dup, f"{len(dup)} sentences were imported twice after kills at {kills}"
    ledger = read_ledger(ws, project)
    assert set(ledger) == set(per_sentence)
    assert not (ws.sync_dir / project / "pending.json").exists()
    left = _leftovers(ws, "project.json", "ledger.parquet", "pending.json")
    assert not left, f"push never removes the temporaries of killed pushes: {left}"


def _annotate(ls_server: Any, ws: Workspace, project: str, n: int, seed: int) -> None:
    client = ls_server.client()
    email = "crash-second@example.org"
    _, token2 = ls_server.add_user(email)
    other = ls_server.client(token2)
    rng = random.Random(seed)
    schema = load_schema()
    ledger = read_ledger(ws, project)
    texts = {r["sentence_id"]: r["text"] for r in
             pq.read_table(ws.sentences, columns=["sentence_id", "text"]).to_pylist()}
    for sid in rng.sample(sorted(ledger), n):
        c = client if rng.random() < 0.5 else other
        c.create_annotation(ledger[sid], random_result(schema, texts[sid], TARGETS, rng))


def test_sigkill_pull_at_every_write(ls_server: Any, crash_ws: Workspace, project: str) -> None:
    ws, env = crash_ws, _env(ls_server)
    if not (ws.sync_dir / project / "ledger.parquet").exists():
        _run(["push", "--project", project, "--targets", ",".join(TARGETS), "-w",
              str(ws.root)], env)
    client = ls_server.client()
    pid = json.loads((ws.sync_dir / project / "project.json").read_text("utf-8"))["project_id"]
    _annotate(ls_server, ws, project, 40, seed=1)
    bad_task = next(iter(read_ledger(ws, project).values()))
    bad = client.create_annotation(bad_task, [{"from_name": "claim", "to_name": "text",
                                               "type": "choices",
                                               "value": {"choices": ["nope"]}}])
    sync = f"sync/{project}"
    args = ["pull", "--project", project, "-w", str(ws.root)]
    rng = random.Random(7)
    for pattern, full in ((".tmp-annotations.parquet.*", False),
                          (f"{sync}/.tmp-rejects.jsonl.*", False),
                          (f"{sync}/.tmp-watermark.json.*", False),
                          (".tmp-annotations.parquet.*", True)):
        proc = _start([*args, *(["--full"] if full else [])], env, 0.5)
        assert _kill_when(proc, ws.root, pattern), \
            f"pull finished before {pattern} appeared: {proc.output}"  # type: ignore[attr-defined]
        _check_readable(ws)
        # the server moves on between crashes: updates, deletions, new annotations
        mine = [r for r in pq.read_table(ws.annotations).to_pylist()
                if r["ls_project_id"] == pid and r["annotation_id"] != bad["id"]] \
            if ws.annotations.exists() else []
        if mine:
            victim = rng.choice(mine)
            client.delete_annotation(victim["annotation_id"])
        _annotate(ls_server, ws, project, 3, seed=rng.randrange(10**6))
    for _ in range(3):
        _kill_after(_start(args, env), rng.uniform(0.5, 4.0))
        _check_readable(ws)
    out = _run(args, env)
    assert "REJECTED" in out.stdout or "did not fit" in out.stdout + out.stderr
    _check_readable(ws)
    assert_matches_label_studio(ws, client, pid, TARGETS)
    rejects = [json.loads(x) for x in
               (ws.sync_dir / project / "rejects.jsonl").read_text("utf-8").splitlines()]
    assert [r["annotation_id"] for r in rejects] == [bad["id"]]
    assert "unknown label 'nope'" in rejects[0]["reason"]
    left = _leftovers(ws, "annotations.parquet", "watermark.json", "rejects.jsonl")
    assert not left, f"pull never removes the temporaries of killed pulls: {left}"


def _release_state(ws: Workspace, name: str) -> list[str]:
    """Only complete versions (verify passes) besides ignorable .tmp- folders."""
    from corpus.releases.reader import load, verify, versions

    folder = ws.releases_dir / name
    if not folder.exists():
        return []
    for child in folder.iterdir():
        assert child.name.startswith(".tmp-") or child.name.startswith("stats-") or \
            (child.is_dir() and child.name[0] == "v"), f"unexpected {child}"
    names = versions(folder)
    for child in folder.iterdir():
        if child.is_dir() and not child.name.startswith(".tmp-"):
            assert child.name in names, f"{child} is not a complete version"
    if names:
        assert verify(folder) == names
        assert load(folder, split="all").num_rows > 0
    return names


def test_sigkill_release_at_every_write(ls_server: Any, crash_ws: Workspace,
                                        project: str) -> None:
    ws, env = crash_ws, _env(ls_server)
    if not ws.annotations.exists():
        _run(["push", "--project", project, "--targets", ",".join(TARGETS), "-w",
              str(ws.root)], env)
        _annotate(ls_server, ws, project, 20, seed=3)
        _run(["pull", "--project", project, "-w", str(ws.root)], env)
    name = "crashrel"
    args = ["release", name, "-w", str(ws.root)]
    slow = _env(ls_server, CORPUS_TEST_SLOW_RELEASE="0.8")
    pattern = f"releases/{name}/.tmp-*"
    expected: list[str] = []
    kills = 0
    for round_ in range(2):
        # kill as soon as the .tmp- folder appears, then later and later into the build
        # (CORPUS_TEST_SLOW_RELEASE pauses before the manifest and before the rename)
        for later in (0.0, 0.3, 1.0, 1.9):
            proc = _start(args, slow)
            deadline = time.monotonic() + 300
            while not any(ws.root.glob(pattern)) and proc.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.003)
            if _kill_after(proc, later):
                kills += 1
            state = _release_state(ws, name)
            assert state in (expected, [*expected, f"v{len(expected) + 1:04d}"]), state
            expected = state
        if len(expected) == round_:
            _run(args, env)
            expected = _release_state(ws, name)
        assert len(expected) == round_ + 1
        # something new to release in the next round
        _annotate(ls_server, ws, project, 5, seed=50 + round_)
        _run(["pull", "--project", project, "-w", str(ws.root)], env)
    assert kills >= 6, f"only {kills} releases were killed mid-way"
    assert expected == ["v0001", "v0002"]
    _run(["verify", name, "-w", str(ws.root)], env)
    assert not [p for p in (ws.releases_dir / name).iterdir() if p.name.startswith(".tmp-")]
