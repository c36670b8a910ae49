"""Issue 11: hostile workspace state and hostile sizes.

- A SIGKILL in the middle of a parallel split (`corpus split` or the split phase of
  `corpus ingest`) leaves no worker behind and no `.split.lock` held: the pool workers die
  with their parent and never keep the lock's open file description alive.
- A corrupt workspace table (articles, sentences, annotations) gives a one-line error
  naming the file and the command that rebuilds it, from every reader, never a traceback;
  `corpus push` reads its input before it connects to Label Studio.
- An article over ``--max-article-mb`` is refused with a one-line error naming the file
  (a JSONL line is never read whole); the rest of the batch is kept. `corpus split`
  skips articles of the table above the limit, naming each one.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.errors import ConfigError, CorpusError, WorkspaceError
from corpus.sentences import split
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_68e5fa63c6607158.txt"
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _news(target_chars: int, seed: int = 11) -> list[str]:
    """Distinct Chinese news articles (paragraphs of the seed article reshuffled)."""
    rng = random.Random(seed)
    paragraphs = [p for p in SEED.read_text(encoding="utf-8").split("\n") if len(p) > 20]
    out: list[str] = []
    total = 0
    while total < target_chars:
        picked = rng.choices(paragraphs, k=20)
        text = f"第{len(out) + 1}篇报道。\n\n" + "\n\n".join(
            re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 99)), p) for p in picked)
        out.append(text)
        total += len(text)
    return out


def _write_articles(folder: Path, target_chars: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(_news(target_chars)):
        (folder / f"a{i:05d}.txt").write_text(text, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- item 1


def _children(pid: int) -> set[int]:
    kids: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _kill_mid_split(args: list[str], tmp_path: Path) -> set[int]:
    """Start `corpus ARGS`, SIGKILL it once its pool workers exist; return the worker pids."""
    log = (tmp_path / "out.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "corpus.cli.main", *args], cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.02)
        assert len(workers) >= 2, (
            f"no pool workers seen (exit {proc.poll()}): {(tmp_path / 'out.log').read_text()}")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, "the split finished before the kill"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        log.close()
    return workers


def _assert_workers_die(workers: set[int]) -> None:
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.05)
        survivors = {p for p in workers if _alive(p)}
        assert not survivors, f"pool workers {sorted(survivors)} outlived their killed parent"
    finally:  # never leave our own orphans behind, whatever the outcome
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@linux_only
@pytest.mark.slow
def test_sigkill_parallel_split_leaves_no_worker_and_no_lock(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    # 1.3M characters: two jobs of the pool, so both workers get one
    report = ingest([_write_articles(tmp_path / "in", 1_300_000)], ws)
    assert not report.failed
    workers = _kill_mid_split(["split", "-w", str(ws.root), "--workers", "2"], tmp_path)
    _assert_workers_die(workers)
    # the lock is free at once, and a rerun (no waiting) finishes the job
    res = CliRunner().invoke(app, ["split", "-w", str(ws.root), "--workers", "2"])
    assert res.exit_code == 0, res.output
    assert "another" not in res.output
    ids = set(pq.read_table(ws.sentences, columns=["article_id"]).column(0).to_pylist())
    assert len(ids) == len(report.added)


@linux_only
@pytest.mark.slow
def test_sigkill_ingest_in_split_phase_leaves_no_worker_and_no_lock(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    # above PARALLEL_THRESHOLD (4M characters), so ingest splits with every core
    folder = _write_articles(tmp_path / "in", 4_500_000)
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: ingest splits in one process")
    workers = _kill_mid_split(["ingest", str(folder), "-w", str(ws.root)], tmp_path)
    _assert_workers_die(workers)
    assert ws.articles.exists()  # ingest had finished its own part
    with ws.lock("split"), ws.lock("ingest"):  # both free: WorkspaceError if still held
        pass


_FORK_HOLDER = """
import os, sys
from corpus.workspace import Workspace
ws = Workspace.resolve(sys.argv[1])
with ws.lock("split"):
    if os.fork() == 0:  # like a pool worker: forked while the lock is held, then idle
        os.write(1, b"child\\n")  # after the fork hooks have run (one write: no interleaving)
        os.read(0, 1)   # until the test closes our stdin
        os._exit(0)
    os.write(1, b"forked\\n")
    os._exit(0)         # the parent dies without releasing anything, as under SIGKILL
"""


def test_lock_is_not_held_by_a_forked_child(tmp_path: Path) -> None:
    """A child forked while the lock is held (as a pool worker is) does not keep it."""
    ws = Workspace(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _FORK_HOLDER, str(ws.root)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert {proc.stdout.readline(), proc.stdout.readline()} == {"forked\n", "child\n"}
        proc.wait(timeout=60)
        with ws.lock("split"):  # WorkspaceError while the orphaned child holds it
            pass
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # lets the orphan exit
        proc.stdout.close()


# --------------------------------------------------------------------------- item 5


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garble_middle(path: Path) -> None:
    """Keep header and footer, overwrite the data pages: the footer parses, reading fails."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    for i in range(4, len(data) - footer):
        data[i] = 0x5A
    path.write_bytes(bytes(data))


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "empty": lambda p: p.write_bytes(b""),
    "not parquet": lambda p: p.write_text("hello\n"),
    "garbled pages": _garble_middle,
}


@pytest.fixture
def split_ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    folder = tmp_path / "in"
    folder.mkdir()
    for i, text in enumerate(_news(20_000)):
        (folder / f"a{i}.txt").write_text(text, encoding="utf-8")
    assert not ingest([folder], ws).failed
    split(ws)
    return ws


def _one_line_naming(output: str, table: Path, fix: str) -> None:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if table.name in line]
    assert lines, output
    joined = " ".join(output.split())  # rich may wrap a long line in the runner's 80 columns
    assert str(table) in joined or table.name in joined, output
    assert fix in joined, output


def _cli(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, args)
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), (
        f"{type(res.exception).__name__}: {res.exception}")
    return res.exit_code, res.output


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_articles_table_named_by_split_and_ingest(split_ws: Workspace, how: str,
                                                          tmp_path: Path) -> None:
    ws = split_ws
    CORRUPTIONS[how](ws.articles)
    with pytest.raises(WorkspaceError) as err:
        split(ws)
    assert str(ws.articles) in err.value.message and "\n" not in err.value.message
    assert "corpus ingest" in (err.value.hint or "")
    rc, out = _cli(["split", "-w", str(ws.root)])
    assert rc != 0
    _one_line_naming(out, ws.articles, "corpus ingest")
    new = tmp_path / "new.txt"
    new.write_text(_news(500, seed=3)[0], encoding="utf-8")
    rc, out = _cli(["ingest", str(new), "-w", str(ws.root)])
    assert rc != 0
    _one_line_naming(out, ws.articles, "corpus ingest")


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_sentences_table_named_by_push_before_connecting(
        split_ws: Workspace, how: str, no_ls_env: None) -> None:
    from corpus.labelstudio.targets import suggest_targets
    from corpus.labelstudio.tasks import build_tasks, push

    ws = split_ws
    CORRUPTIONS[how](ws.sentences)
    # no Label Studio is configured: the table is read (and refused) before any connection
    for call in (lambda: push(ws, "proj-x"), lambda: build_tasks(ws),
                 lambda: suggest_targets(ws)):
        with pytest.raises(WorkspaceError) as err:
            call()
        assert str(ws.sentences) in err.value.message and "\n" not in err.value.message
        assert "corpus split" in (err.value.hint or "")
    rc, out = _cli(["push", "-p", "proj-x", "-w", str(ws.root)])
    assert rc != 0
    _one_line_naming(out, ws.sentences, "corpus split")


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_articles_table_named_by_push(split_ws: Workspace, how: str,
                                              no_ls_env: None) -> None:
    from corpus.labelstudio.tasks import push

    CORRUPTIONS[how](split_ws.articles)
    with pytest.raises(WorkspaceError) as err:
        push(split_ws, "proj-x")
    assert str(split_ws.articles) in err.value.message
    assert "corpus ingest" in (err.value.hint or "")


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_annotations_table_named(split_ws: Workspace, how: str) -> None:
    from factories import annotation_rows_table

    from corpus.labelschema import load_schema
    from corpus.labelstudio.annotations import read_annotations
    from corpus.releases.build import release

    ws = split_ws
    sid = pq.read_table(ws.sentences, columns=["sentence_id"]).column(0).to_pylist()[0]
    pq.write_table(annotation_rows_table([{"sentence_id": sid}]), ws.annotations)
    CORRUPTIONS[how](ws.annotations)
    for call in (lambda: read_annotations(ws, load_schema()), lambda: release(ws, "claims")):
        with pytest.raises(WorkspaceError) as err:
            call()
        assert str(ws.annotations) in err.value.message and "\n" not in err.value.message
        assert "corpus pull --full" in (err.value.hint or "")
    rc, out = _cli(["release", "claims", "-w", str(ws.root)])
    assert rc != 0
    _one_line_naming(out, ws.annotations, "corpus pull --full")


# --------------------------------------------------------------------------- item 12


def _big_line(n_bytes: int) -> str:
    unit = "这是一篇很长的文章没有句号"  # 39 bytes of UTF-8
    return unit * (n_bytes // len(unit.encode("utf-8")) + 1)


def test_oversized_files_refused_by_default_rest_kept(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = _news(3000, seed=5)
    (folder / "good.txt").write_text(good[0], encoding="utf-8")
    (folder / "huge.txt").write_text(_big_line(21_000_000), encoding="utf-8")
    (folder / "huge.html").write_text(f"<p>{_big_line(21_000_000)}</p>", encoding="utf-8")
    with (folder / "rows.jsonl").open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "small1", "text": good[1]}, ensure_ascii=False) + "\n")
        fh.write(json.dumps({"id": "giant", "text": _big_line(21_000_000)},
                            ensure_ascii=False) + "\n")
        fh.write(json.dumps({"id": "small2", "text": good[2]}, ensure_ascii=False) + "\n")
    ws = Workspace(tmp_path / "ws")
    report = ingest([folder], ws)
    errors = [p.message for p in report.errors]
    assert len(errors) == 3, errors
    assert any(str(folder / "huge.txt") in e and "20 MB" in e for e in errors), errors
    assert any(str(folder / "huge.html") in e for e in errors), errors
    assert any(f"{folder / 'rows.jsonl'}:2" in e for e in errors), errors
    assert all("\n" not in e for e in errors)
    assert all("--max-article-mb" in (p.hint or "") for p in report.errors)
    ids = set(pq.read_table(ws.articles, columns=["article_id"]).column(0).to_pylist())
    assert {"small1", "small2"} <= ids and "giant" not in ids and len(ids) == 3


def test_max_article_mb_option_refuses_and_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    texts = _news(30_000, seed=9)
    small = [t for t in texts if len(t.encode("utf-8")) < 40_000][:2]
    (folder / "a.txt").write_text(small[0], encoding="utf-8")
    (folder / "big.txt").write_text(_big_line(60_000), encoding="utf-8")
    with (folder / "rows.jsonl").open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "big", "text": _big_line(70_000)}) + "\n")
        fh.write(json.dumps({"id": "ok", "text": small[1]}, ensure_ascii=False) + "\n")
    ws = tmp_path / "ws"
    rc, out = _cli(["ingest", str(folder), "-w", str(ws), "--max-article-mb", "0.05"])
    assert rc != 0
    joined = " ".join(out.split())
    assert "big.txt" in joined and "rows.jsonl:1" in joined, out
    assert "Traceback" not in out
    ids = set(pq.read_table(ws / "articles.parquet", columns=["article_id"]).column(0).to_pylist())
    assert "ok" in ids and "big" not in ids and len(ids) == 2
    assert (ws / "sentences.parquet").exists()  # the kept articles were split
    # a higher limit takes the big ones too
    rc, out = _cli(["ingest", str(folder), "-w", str(ws), "--max-article-mb", "1"])
    assert rc == 0, out
    assert pq.read_metadata(ws / "articles.parquet").num_rows == 4


@pytest.mark.parametrize("bad", ["0", "-1", "nan"])
def test_max_article_mb_must_be_positive(tmp_path: Path, bad: str) -> None:
    (tmp_path / "a.txt").write_text("一句话。", encoding="utf-8")
    with pytest.raises(ConfigError):
        ingest([tmp_path / "a.txt"], tmp_path / "ws", max_article_mb=float(bad))
    rc, out = _cli(["ingest", str(tmp_path / "a.txt"), "-w", str(tmp_path / "ws"),
                    "--max-article-mb", bad])
    assert rc != 0 and "max-article-mb" in out
    assert not (tmp_path / "ws" / "articles.parquet").exists()


def test_split_skips_table_articles_over_the_limit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    (tmp_path / "small.txt").write_text(_news(2000, seed=4)[0], encoding="utf-8")
    (tmp_path / "big.txt").write_text(_big_line(60_000), encoding="utf-8")
    report = ingest([tmp_path], ws)
    assert not report.failed and len(report.added) == 2
    big_id = next(a for a in report.added
                  if a != ingest([tmp_path / "small.txt"], tmp_path / "other").added[0])
    with pytest.raises(CorpusError):
        split(ws, max_article_mb=0)
    result = split(ws, max_article_mb=0.05)
    assert [aid for aid, _ in result.skipped] == [big_id]
    assert "--max-article-mb" in result.skipped[0][1]
    ids = set(pq.read_table(ws.sentences, columns=["article_id"]).column(0).to_pylist())
    assert big_id not in ids and len(ids) == 1
    rc, out = _cli(["split", "-w", str(ws.root), "--max-article-mb", "0.05"])
    assert rc != 0
    assert big_id in out and "Traceback" not in out
    rc, out = _cli(["split", "-w", str(ws.root)])  # default 20 MB: all split
    assert rc == 0, out
    ids = set(pq.read_table(ws.sentences, columns=["article_id"]).column(0).to_pylist())
    assert big_id in ids
