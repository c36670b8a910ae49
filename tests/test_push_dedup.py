"""Push with near-duplicate clusters against the REAL Label Studio: one task per cluster,
the pushed member stays the representative when articles are added, ``--dedup off``
sends every sentence."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from dedup_cases import ARTICLES, BASE, write_jsonl
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.labelstudio.tasks import push, read_ledger
from corpus.sentences import split
from corpus.storage.tables import sentence_id_for
from corpus.workspace import Workspace

pytestmark = pytest.mark.labelstudio

TARGETS = ["英伟达"]
_counter = itertools.count()


def _project(name: str) -> str:
    return f"{name}-{os.getpid()}-{next(_counter)}"


@pytest.fixture()
def dup_ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws").ensure()
    ingest([write_jsonl(tmp_path / "a.jsonl", ARTICLES)], ws)
    split(ws)
    return ws


def _rows(ws: Workspace) -> list[dict[str, Any]]:
    return [r for r in pq.read_table(ws.sentences).to_pylist() if r["kind"] == "sentence"]


def _task_sids(client: Any, project_id: int) -> list[str]:
    return sorted(t["data"]["sentence_id"]
                  for t in client.list_tasks(project_id, fields="task_only", page_size=1000))


def test_push_sends_one_representative_per_cluster(ls_server: Any, dup_ws: Workspace,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    client = ls_server.client()
    rows = _rows(dup_ws)
    clusters: dict[str, list[str]] = {}
    for r in rows:
        clusters.setdefault(r["cluster_id"], []).append(r["sentence_id"])
    assert sorted(len(m) for m in clusters.values() if len(m) > 1) == [2, 3]
    name = _project("dedup")
    report = push(dup_ws, name, targets=TARGETS, client=client)
    expected = sorted(min(m) for m in clusters.values())
    assert report.imported == len(expected) == len(rows) - 3 and report.dedup_saved == 3
    assert _task_sids(client, report.project_id) == expected
    assert "3 tasks saved by sending one sentence per cluster of repeats" in report.summary()

    # a new article repeats BASE with a sentence id smaller than the pushed representative:
    # the cluster's id moves to it, but the task stays where annotators may be working
    base_cluster = next(c for c, m in clusters.items() if len(m) == 3)
    aid = next(a for a in (f"n{i}" for i in range(10_000))
               if sentence_id_for(a, 0, len(BASE), BASE) < base_cluster)
    ingest([write_jsonl(tmp_path / "b.jsonl", {aid: f"{BASE}\n\n新文章里另一句只在这里出现的话。"})],
           dup_ws)
    split(dup_ws)
    newer = {r["sentence_id"]: r["cluster_id"] for r in _rows(dup_ws)}
    new_sid = sentence_id_for(aid, 0, len(BASE), BASE)
    assert newer[new_sid] == new_sid == newer[base_cluster]      # the smallest id now
    again = push(dup_ws, name, targets=TARGETS, client=client)
    assert again.imported == 1 and again.dedup_saved == 4        # only the new singleton
    ledger = read_ledger(dup_ws, name)
    assert base_cluster in ledger and new_sid not in ledger
    assert _task_sids(client, report.project_id) == sorted(ledger)

    # --dedup off (CLI) sends every sentence, to another project
    other = _project("all")
    result = CliRunner().invoke(app, ["push", "-p", other, "--targets", "英伟达", "--dedup",
                                      "off", "-w", str(dup_ws.root)])
    assert result.exit_code == 0, result.output
    assert "tasks saved" not in result.output
    state = json.loads((dup_ws.sync_dir / other / "project.json").read_text())
    assert _task_sids(client, int(state["project_id"])) == sorted(newer)
    # and the CLI's default is on: a third project gets one task per cluster
    third = _project("on")
    result = CliRunner().invoke(app, ["push", "-p", third, "--targets", "英伟达",
                                      "-w", str(dup_ws.root)])
    assert result.exit_code == 0, result.output
    assert "4 tasks saved" in result.output
    assert len(read_ledger(dup_ws, third)) == len(newer) - 4
    result = CliRunner().invoke(app, ["push", "-p", third, "--dedup", "maybe",
                                      "-w", str(dup_ws.root)])
    assert result.exit_code == 2
