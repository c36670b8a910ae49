"""Release: members of a cluster of repeated sentences get the cluster's labels
(``label_source = propagated``); ``--no-propagate`` leaves them out; the card says how many."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from dedup_cases import ARTICLES, BASE, EN, EN_NEAR, NEAR, write_jsonl
from factories import annotation_rows_table
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.releases.build import release
from corpus.sentences import split
from corpus.workspace import Workspace

SPAN = {"start": 0, "end": 3, "label": "source", "text": "英伟达"}


@pytest.fixture()
def labelled(tmp_path: Path) -> tuple[Workspace, dict[str, dict[str, Any]]]:
    """Repeats split into clusters; one member of each is annotated."""
    ws = Workspace(tmp_path / "ws").ensure()
    articles = {**ARTICLES, "d3": f"{BASE}\n\n另一句只在这里出现的话，讲的是旅游。"}
    ingest([write_jsonl(tmp_path / "a.jsonl", articles)], ws)
    split(ws)
    rows = [r for r in pq.read_table(ws.sentences).to_pylist() if r["kind"] == "sentence"]
    reps = {r["cluster_id"] for r in rows}
    # the annotated member of each cluster (any member: the release needs no more)
    base_rep = next(r for r in rows if r["text"] == BASE and r["article_id"] == "d0")
    en_rep = next(r for r in rows if r["text"] == EN)
    single = next(r for r in rows if r["text"].startswith("今天的天气"))
    ann = []
    for who in ("a@x.org", "b@x.org"):
        ann.append({"sentence_id": base_rep["sentence_id"], "annotator": who, "claim": "claim",
                    "checkworthy": "yes", "claim_span": [SPAN], "stance": [{"target": "英伟达", "label": "neutral"}]})
        ann.append({"sentence_id": en_rep["sentence_id"], "annotator": who,
                    "claim": "no_claim"})
    ann.append({"sentence_id": single["sentence_id"], "annotator": "a@x.org",
                "claim": "no_claim"})
    table = annotation_rows_table(ann)
    pq.write_table(table, ws.annotations)
    assert len(reps) < len(rows)
    return ws, {"base": base_rep, "en": en_rep, "single": single}


def test_members_get_the_cluster_labels(labelled: tuple[Workspace, dict[str, Any]]) -> None:
    ws, reps = labelled
    info = release(ws, "claims")
    data = [r for s in ("train", "validation", "test")
            for r in pq.read_table(info.path / "data" / f"{s}-00000-of-00001.parquet").to_pylist()]
    by_text: dict[str, list[dict[str, Any]]] = {}
    for r in data:
        by_text.setdefault(r["text"], []).append(r)
    base_rep = reps["base"]
    # BASE x2 (d0, d3), NEAR, BASE with a half-width comma; EN_NEAR: 4 propagated rows
    assert info.propagated == 4
    assert sum(r["label_source"] == "propagated" for r in data) == 4
    assert {r["label_source"] for r in data if r["sentence_id"] in
            {base_rep["sentence_id"], reps["en"]["sentence_id"], reps["single"]["sentence_id"]}
            } == {"annotated"}
    members = [r for r in data if r["cluster_id"] == base_rep["cluster_id"]
               and r["sentence_id"] != base_rep["sentence_id"]]
    assert len(members) == 3 and {m["text"] for m in members} >= {NEAR}
    src = next(r for r in data if r["sentence_id"] == base_rep["sentence_id"])
    for m in members:
        assert m["label_source"] == "propagated"
        assert m["propagated_from"] == base_rep["sentence_id"]
        assert (m["claim"], m["checkworthy"], m["n_annotators"]) == ("claim", "yes", 2)
        assert m["stance"] == [{"target": "英伟达", "label": "neutral"}]
        assert m["split"] == src["split"]                 # copies never straddle splits
        # spans are offsets into the text: kept only for an identical text
        if m["text"] == src["text"]:
            assert [s["text"] for s in m["claim_span"]] == [s["text"] for s in src["claim_span"]]
        else:
            assert m["claim_span"] is None
        assert m["article_id"] != src["article_id"]
    en_near = by_text[EN_NEAR][0]
    assert (en_near["claim"], en_near["label_source"]) == ("no_claim", "propagated")
    assert all(r["label_source"] in ("annotated", "adjudicated") for r in data
               if r["propagated_from"] is None)
    # the card and manifest say how many
    card = (info.path / "README.md").read_text(encoding="utf-8")
    assert f"**4 of {len(data)} rows** (`label_source = propagated`)" in card
    manifest = json.loads((info.path / "manifest.json").read_text())
    assert manifest["propagated"] == 4 and manifest["params"]["propagate"] is True
    assert "label_source" in card and "propagated_from" in card


def test_no_propagate_leaves_members_out(labelled: tuple[Workspace, dict[str, Any]]) -> None:
    ws, _ = labelled
    result = CliRunner().invoke(app, ["release", "claims", "-w", str(ws.root),
                                      "--no-propagate"])
    assert result.exit_code == 0, result.output
    assert "propagated" not in result.output
    version = ws.releases_dir / "claims" / "v0001"
    data = [r for s in ("train", "validation", "test")
            for r in pq.read_table(version / "data" / f"{s}-00000-of-00001.parquet").to_pylist()]
    assert len(data) == 3 and {r["label_source"] for r in data} == {"annotated"}
    assert "not propagated (`--no-propagate`)" in (version / "README.md").read_text()
    # and the default (CLI) propagates: a new version with the members
    result = CliRunner().invoke(app, ["release", "claims", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "4 of them with labels propagated from a repeat" in result.output
    assert NEAR in {r["text"] for r in pq.read_table(
        ws.releases_dir / "claims" / "v0002" / "data").to_pylist()}
