"""SIGKILL during `corpus ingest` / `corpus split` writes: the workspace stays readable,
no table is half-written, and a re-run finishes with nothing missing and no duplicate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_68e5fa63c6607158.txt"
N_ARTICLES = 150


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = SEED.read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("crash") / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(N_ARTICLES):
            fh.write(json.dumps({"id": f"c{i}", "text": f"第{i}篇。\n\n{base}"},
                                ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def expected(corpus_file: Path) -> list[str]:
    """Sentence ids of an uninterrupted run."""
    reference = corpus_file.parent / "reference"
    assert run_ingest(corpus_file, reference).wait() == 0
    ids = pq.read_table(reference / "sentences.parquet", columns=["sentence_id"]).column(0)
    return sorted(ids.to_pylist())


def run_ingest(src: Path, ws: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "corpus.cli.main", "ingest", str(src), "-w", str(ws)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def kill_when(proc: subprocess.Popen[bytes], ws: Path, pattern: str, timeout: float = 120) -> bool:
    """SIGKILL ``proc`` as soon as a file matching ``pattern`` exists in ``ws``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ws.exists() and any(ws.glob(pattern)):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait()
    return False


def check_readable(ws: Path) -> None:
    """Every table present is a complete, consistent Parquet file."""
    if (ws / "articles.parquet").exists():
        ids = pq.read_table(ws / "articles.parquet", columns=["article_id"]).column(0).to_pylist()
        assert len(ids) == len(set(ids))
        assert len(ids) in (0, N_ARTICLES)  # one batch of articles is written as one table
    if (ws / "sentences.parquet").exists():
        art = set(pq.read_table(ws / "articles.parquet", columns=["article_id"]).column(0)
                  .to_pylist())
        sent = pq.read_table(ws / "sentences.parquet", columns=["article_id"]).column(0)
        assert set(sent.to_pylist()) == art


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [".tmp-articles.parquet.*", ".tmp-sentences.parquet.*",
                                     "articles.parquet"])
def test_sigkill_during_ingest_or_split(corpus_file: Path, expected: list[str], tmp_path: Path,
                                        kill_at: str) -> None:
    ws = tmp_path / "ws"
    proc = run_ingest(corpus_file, ws)
    assert kill_when(proc, ws, kill_at), f"the run finished before {kill_at} appeared"
    check_readable(ws)

    assert run_ingest(corpus_file, ws).wait() == 0  # re-run finishes the job
    check_readable(ws)
    assert not list(ws.glob(".tmp-*")), "stale temporary files were not cleaned up"
    assert pq.read_table(ws / "articles.parquet").num_rows == N_ARTICLES
    got = pq.read_table(ws / "sentences.parquet", columns=["sentence_id"]).column(0)
    assert sorted(got.to_pylist()) == expected
