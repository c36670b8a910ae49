"""Adjudication rounds: disagreements go to `P-adjudication`, decisions come back with
provenance and decide the release (end to end against the REAL Label Studio)."""

from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from factories import annotation_rows_table
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.errors import OptionError
from corpus.labelschema import load_schema
from corpus.labelstudio.adjudication import (
    VOTES_KEY,
    decisions_path,
    needing_decision,
    open_round,
    review_config,
)
from corpus.labelstudio.annotations import pull, read_annotations
from corpus.labelstudio.sync import ProjectSync
from corpus.labelstudio.tasks import push, read_ledger
from corpus.releases.aggregate import aggregate
from corpus.releases.build import release
from corpus.releases.reader import load
from corpus.workspace import Workspace

SCHEMA = load_schema()
TARGETS = ["英伟达", "特朗普"]
_counter = itertools.count()
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def _claim(value: str) -> list[dict[str, Any]]:
    return [{"from_name": "claim", "to_name": "text", "type": "choices",
             "value": {"choices": [value]}}]


def test_decision_is_the_label_and_not_a_vote() -> None:
    votes = annotation_rows_table([
        {"sentence_id": "s1", "annotator": "a@x.org", "claim": "claim", "annotation_id": 1},
        {"sentence_id": "s1", "annotator": "b@x.org", "claim": "no_claim", "annotation_id": 2},
        {"sentence_id": "s2", "annotator": "a@x.org", "claim": "claim", "annotation_id": 3},
        {"sentence_id": "s2", "annotator": "b@x.org", "claim": "claim", "annotation_id": 4,
         "ground_truth": True},
    ], SCHEMA)
    decisions = annotation_rows_table([
        {"sentence_id": "s1", "annotator": "judge@x.org", "claim": "unsure",
         "annotation_id": 10, "ls_project_id": 2, "updated_at": T0},
        {"sentence_id": "s1", "annotator": "judge@x.org", "claim": "no_claim",
         "annotation_id": 11, "ls_project_id": 2, "updated_at": T0 + timedelta(hours=1)},
        {"sentence_id": "s2", "annotator": "judge@x.org", "claim": "no_claim",
         "annotation_id": 12, "ls_project_id": 2},
        {"sentence_id": "s3", "annotator": "judge@x.org", "claim": "claim",
         "annotation_id": 13, "ls_project_id": 2},
    ], SCHEMA)
    agg = aggregate(votes, pa.array(["s1", "s2", "s3"]), SCHEMA, decisions=decisions,
                    min_annotations=2)
    claim = next(f for f in agg.fields if f.name == "claim")
    assert agg.sentence_ids.to_pylist() == ["s1", "s2", "s3"]
    assert claim.label.to_pylist() == ["no_claim", "no_claim", "claim"]   # latest decision
    assert agg.agreement.to_pylist() == ["adjudicated"] * 3
    assert [v["claim"] for v in claim.votes.to_pylist()] == [1, 2, 0]     # judge is no vote
    assert [v["no_claim"] for v in claim.votes.to_pylist()] == [1, 0, 0]
    assert agg.n_annotators.tolist() == [2, 2, 0]
    assert "judge@x.org" not in agg.annotators
    assert len(agg.row_released) == votes.num_rows


def test_default_rule_and_where() -> None:
    rows = annotation_rows_table([
        {"sentence_id": "dis", "annotator": "a@x.org", "claim": "claim", "annotation_id": 1},
        {"sentence_id": "dis", "annotator": "b@x.org", "claim": "no_claim", "annotation_id": 2},
        {"sentence_id": "same", "annotator": "a@x.org", "claim": "claim", "annotation_id": 3,
         "checkworthy": "yes"},
        {"sentence_id": "same", "annotator": "b@x.org", "claim": "claim", "annotation_id": 4,
         "checkworthy": "no"},                                   # a tie on another field
        {"sentence_id": "ok", "annotator": "a@x.org", "claim": "unsure", "annotation_id": 5},
        {"sentence_id": "ok", "annotator": "b@x.org", "claim": "unsure", "annotation_id": 6},
        {"sentence_id": "one", "annotator": "a@x.org", "claim": "claim", "annotation_id": 7},
        {"sentence_id": "st", "annotator": "a@x.org", "claim": "claim", "annotation_id": 8,
         "stance": [{"target": "美国", "label": "favor"}]},
        {"sentence_id": "st", "annotator": "b@x.org", "claim": "claim", "annotation_id": 9,
         "stance": [{"target": "美国", "label": "against"}]},      # a tied stance target
    ], SCHEMA)
    assert needing_decision(rows, SCHEMA) == {"dis": [1, 2], "same": [3, 4], "st": [8, 9]}
    assert needing_decision(rows, SCHEMA, ["claim=unsure"]) == {"ok": [5, 6]}
    assert set(needing_decision(rows, SCHEMA, ["agreement=unanimous"])) == {
        "same", "ok", "one", "st"}
    with pytest.raises(OptionError, match="KEY=VALUE"):
        needing_decision(rows, SCHEMA, ["stance=favor"])


def test_review_config_shows_the_votes_above_the_questions() -> None:
    cfg = review_config('<View><Text name="text" value="$text"/><Choices name="claim"/></View>')
    assert cfg.index(f'value="${VOTES_KEY}"') < cfg.index('name="text"')


@pytest.mark.labelstudio
def test_round_end_to_end(ls_server: Any, seed_ws: Workspace, no_ls_env: None,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Two annotators disagree on two of four sentences: the round gets those two, the
    adjudicator decides one, pull brings it back with provenance, the release uses it; a
    new disagreement is added by the next round, nothing twice."""
    admin = ls_server.client()
    name = _name("adj")
    pushed = push(seed_ws, name, targets=TARGETS, client=admin, limit=4, overlap=2)
    ledger = read_ledger(seed_ws, name)
    sids = sorted(ledger, key=lambda s: ledger[s])
    a_mail, b_mail, j_mail = (f"{k}-{name}@example.org" for k in ("ann0", "ann1", "judge"))
    a, b, judge = (ls_server.client(ls_server.add_user(m)[1]) for m in (a_mail, b_mail, j_mail))
    b_ann: dict[str, int] = {}
    for i, sid in enumerate(sids):
        a.create_annotation(ledger[sid], _claim("claim"))
        got = b.create_annotation(ledger[sid], _claim("no_claim" if i < 2 else "claim"))
        b_ann[sid] = int(got["id"])
    pull(seed_ws, name, client=admin)

    report = open_round(seed_ws, name, client=admin)
    assert report.created and report.into == f"{name}-adjudication"
    assert (report.candidates, report.added, report.already) == (2, 2, 0)
    assert report.sentence_ids == sorted(sids[:2])
    tasks = {t["data"]["sentence_id"]: t for t in admin.list_tasks(report.project_id)}
    assert set(tasks) == set(sids[:2])
    first = tasks[sids[0]]["data"]
    original = admin.get_task(ledger[sids[0]])["data"]
    assert first["text"] == original["text"]
    assert first["context_before"] == original["context_before"]
    votes = first[VOTES_KEY]
    assert f"{a_mail}: claim=claim" in votes and f"{b_mail}: claim=no_claim" in votes
    config = admin.get_project(report.project_id)["label_config"]
    assert f"${VOTES_KEY}" in config and 'name="claim"' in config

    # the adjudicator decides the first sentence
    judge.create_annotation(int(tasks[sids[0]]["id"]), _claim("no_claim"))
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    res = CliRunner().invoke(app, ["pull", "-p", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    assert f"{name}-adjudication" in res.output
    dec = pq.read_table(decisions_path(seed_ws)).to_pylist()
    assert len(dec) == 1
    [d] = dec
    table = read_annotations(seed_ws, SCHEMA)
    resolved = table.filter(pc.and_(pc.equal(table["sentence_id"], sids[0]),
                                    pc.equal(table["ls_project_id"], pushed.project_id)))
    assert d["sentence_id"] == sids[0] and d["adjudicator"] == j_mail
    assert d["project"] == name and d["decided_at"] is not None
    assert sorted(d["resolves"]) == sorted(resolved["annotation_id"].to_pylist())
    assert sorted(d["resolves_annotators"]) == sorted([a_mail, b_mail])

    # a new disagreement: annotator b changes their mind on the third sentence
    b.update_annotation(b_ann[sids[2]], result=_claim("no_claim"))
    pull(seed_ws, name, client=admin)
    res = CliRunner().invoke(app, ["adjudicate", "-p", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    assert "3 sentences need a decision, 1 added, 2 already in the round" in res.output
    again = open_round(seed_ws, name, client=admin)
    assert (again.added, again.already, again.created) == (0, 3, False)
    listed = [t["data"]["sentence_id"] for t in admin.list_tasks(report.project_id)]
    assert sorted(listed) == sorted(sids[:3])                    # never a task twice
    assert len(ProjectSync.of(seed_ws, report.into).read_ledger()) == 3

    # the release: the decision is the label, the votes stay the annotators'
    info = release(seed_ws, name)
    rows = {r["sentence_id"]: r for s in ("train", "validation", "test")
            for r in load(info.path.parent, version=info.version, split=s).to_pylist()}
    assert rows[sids[0]]["claim"] == "no_claim"
    assert rows[sids[0]]["agreement"] == "adjudicated"
    assert rows[sids[0]]["claim_votes"]["claim"] == 1
    assert rows[sids[0]]["claim_votes"]["no_claim"] == 1
    assert rows[sids[0]]["n_annotators"] == 2
    assert rows[sids[1]]["agreement"] == "tie" and rows[sids[1]]["claim"] is None
    assert rows[sids[3]]["agreement"] == "unanimous"
    manifest = json.loads((info.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["agreement"]["rows"]["adjudicated"] == 1
    assert manifest["annotations"]["annotators"] == 2            # the adjudicator is no vote
    prov = pq.read_table(info.path / "adjudications.parquet").to_pylist()
    assert [p["sentence_id"] for p in prov] == [sids[0]]
    assert prov[0]["adjudicator"] not in (j_mail, a_mail, b_mail)   # pseudonymised
    assert prov[0]["adjudicator"] not in prov[0]["resolves_annotators"]
    assert sorted(prov[0]["resolves"]) == sorted(d["resolves"])
    assert "adjudications.parquet" in manifest["files"]
    card = (info.path / "README.md").read_text(encoding="utf-8")
    assert "`adjudications.parquet` holds the provenance" in card
    res = CliRunner().invoke(app, ["verify", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
