"""Pre-annotations (``corpus predict``) and the queue order (``push --order``).

Golden cases of the heuristic model; Suggestion -> Label Studio result; then against the
REAL Label Studio of the ``ls_server`` fixture: bulk predictions, idempotency, a new model
version, the editor's settings, predictions never counting as annotations (pull, status,
release), pull's acceptance columns, and the order Label Studio's own queue
(``/api/projects/{id}/next``) serves tasks in for each ``--order``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.errors import ConfigError, SchemaError, WorkspaceError
from corpus.labelschema import (
    LabelSchema,
    annotation_arrow_schema,
    load_schema,
    schema_from_dict,
    stance_control_name,
    target_slug,
)
from corpus.labelstudio.annotations import pull, read_annotations
from corpus.labelstudio.predictions import (
    import_predictions,
    list_predictions,
    predict,
    prediction_result,
    read_predictions,
)
from corpus.labelstudio.queue import ORDERS, QUEUE_TAB, TAB_ORDERING, queue_tab
from corpus.labelstudio.render import TEXT_NAME
from corpus.labelstudio.tasks import build_tasks, push, read_ledger
from corpus.labelstudio.team import prediction_acceptance, project_status
from corpus.models.heuristic import VERSION, HeuristicModel, find_cues
from corpus.models.suggestions import SentenceInput, Suggestion
from corpus.releases.build import release
from corpus.releases.reader import load
from corpus.workspace import Workspace

SCHEMA = load_schema()


def _v1(schema: LabelSchema) -> LabelSchema:
    """Label schema v1's shape: one stance holder per sentence (a single field)."""
    doc = schema.to_dict()
    doc["version"] = 1
    for f in doc["fields"]:
        if f["name"] == "stance_holder":
            f["kind"] = "single"
            f.pop("of", None)
            f.pop("shown_when", None)
    return schema_from_dict(doc)


SCHEMA_V1 = _v1(SCHEMA)
TARGETS = ["英伟达", "特朗普", "美国"]
ALIASES = {"英伟达": ["Nvidia", "NVIDIA"]}
_counter = itertools.count()


def _project(name: str) -> str:
    return f"{name}-{os.getpid()}-{next(_counter)}"


def _suggest(text: str, targets: Sequence[str] = TARGETS,
             schema: LabelSchema = SCHEMA_V1) -> Suggestion:
    return HeuristicModel(schema, aliases=ALIASES).suggest_one(
        SentenceInput("s1", text, targets=tuple(targets)))


def _stance(target: str) -> str:
    return stance_control_name(SCHEMA.field("stance"), target)


# --------------------------------------------------------------------------- heuristic golden

GOLDEN: list[tuple[str, dict[str, Any], list[str]]] = [
    ("英伟达表示，2024年第三季度营收增长了30%，达到350亿美元。",
     {"claim": "claim", "claim_type": ("comparison", "event", "quote", "statistic"),
      "checkworthy": "yes", _stance("特朗普"): "not_about", _stance("美国"): "not_about",
      "stance_holder": "quoted_source"},
     ["reporting verb: 表示", "date: 2024年", "date: 第三季度", "comparative: 增长",
      "percent: 30%", "money: 350亿美元", "target named: 英伟达"]),
    ("Nvidia said revenue rose 30% to $35 billion last year.",
     {"claim": "claim", "claim_type": ("comparison", "event", "quote", "statistic"),
      "checkworthy": "yes", _stance("特朗普"): "not_about", _stance("美国"): "not_about",
      "stance_holder": "quoted_source"},
     ["reporting verb: said", "comparative: rose", "percent: 30%", "money: $35 billion",
      "date: last year", "target named: 英伟达"]),
    ("他认为关税将导致物价上涨。",
     {"claim": "claim", "claim_type": ("causal", "comparison", "policy", "quote"),
      "checkworthy": "yes", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     ["reporting verb: 认为", "policy: 关税", "causal: 导致", "comparative: 上涨"]),
    ("特朗普称美国是世界上最强大的国家。",
     {"claim": "claim", "claim_type": ("comparison", "quote"), "checkworthy": "yes",
      _stance("英伟达"): "not_about", "stance_holder": "quoted_source"},
     ["reporting verb: 称", "superlative: 最强", "target named: 特朗普", "target named: 美国"]),
    ("The company will cut prices because demand fell.",
     {"claim": "claim", "claim_type": ("causal", "comparison", "prediction"),
      "checkworthy": "yes", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     ["prediction: will", "causal: because", "comparative: fell"]),
    ("今天天气很好。",  # a date alone is no claim
     {"claim": "no_claim", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     ["date: 今天"]),
    ("这是真的吗？",
     {"claim": "no_claim", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     ["question: ends with a question mark"]),
    ("名称和对称都不是报道。",  # 称 in 名称/对称 is no reporting verb
     {"claim": "no_claim", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     []),
    ("老黄搞出了H20芯片。",  # a model name is no number
     {"claim": "no_claim", _stance("英伟达"): "not_about", _stance("特朗普"): "not_about",
      _stance("美国"): "not_about"},
     []),
]


@pytest.mark.parametrize(("text", "answers", "cues"), GOLDEN, ids=[f"golden{i}" for i in range(len(GOLDEN))])
def test_heuristic_golden(text: str, answers: dict[str, Any], cues: list[str]) -> None:
    got = _suggest(text)
    assert dict(got.answers) == answers
    assert list(got.cues) == cues
    # schema v2 asks stance only for the targets a task names, and the holder per answer:
    # the same claim answers, and no stance or holder answer
    v2 = _suggest(text, schema=SCHEMA)
    assert dict(v2.answers) == {k: v for k, v in answers.items()
                                if not k.startswith("stance")}
    assert list(v2.cues) == cues
    assert 0.0 < got.score <= 1.0


def test_heuristic_scores_order_by_evidence() -> None:
    """More kinds of cue, more confidence; a question is less sure; the score is the lowest
    field confidence (what "least certain first" sorts by)."""
    many = _suggest("英伟达表示，2024年营收增长了30%，因为需求上升。", targets=[])
    one = _suggest("新能源车的产量超过了燃油车。", targets=[])
    none_short = _suggest("你好。", targets=[])
    question = _suggest("营收增长了30%吗？", targets=[])
    statement = _suggest("营收增长了30%。", targets=[])
    assert many.score > one.score
    assert question.score < statement.score
    assert none_short.answers == {"claim": "no_claim"} and none_short.score == 0.75


def test_heuristic_aliases_and_english_word_boundaries() -> None:
    """A target named by an alias is left for the annotator; an alias inside a longer word is
    not a mention."""
    named = _suggest("NVIDIA shares fell.", targets=["英伟达"])
    assert _stance("英伟达") not in named.answers
    assert "target named: 英伟达" in named.cues
    inside = _suggest("The nvidiaish thing.", targets=["英伟达"])
    assert inside.answers[_stance("英伟达")] == "not_about"


def test_heuristic_answers_only_what_the_schema_has() -> None:
    """A project's own schema without checkworthy or claim_type values gets no such answers."""
    doc = SCHEMA.to_dict()
    doc["fields"] = [f for f in doc["fields"] if f["name"] not in ("checkworthy",)]
    for f in doc["fields"]:
        for v in f["values"]:
            if v["hotkey"] is None:
                del v["hotkey"]
        if f["name"] == "claim_type":
            f["values"] = [v for v in f["values"] if v["value"] != "quote"]
    own = schema_from_dict(doc)
    got = HeuristicModel(own).suggest_one(SentenceInput("s", "他表示营收增长了30%。"))
    assert "checkworthy" not in got.answers
    assert got.answers["claim_type"] == ("comparison", "statistic")
    assert "reporting verb: 表示" in got.cues


def test_find_cues_overlaps_prefer_the_specific_kind() -> None:
    kinds = [(c.kind, c.text) for c in find_cues("价格上涨了5个百分点，约合100元。")]
    assert kinds == [("comparative", "上涨"), ("percent", "5个百分点"), ("money", "100元")]


def test_heuristic_is_a_model() -> None:
    model = HeuristicModel()
    assert model.version == VERSION
    got = model.suggest([SentenceInput("a", "营收增长了30%。"), SentenceInput("b", "你好。")])
    assert [s.sentence_id for s in got] == ["a", "b"]


# --------------------------------------------------------------------------- results


def test_prediction_result_uses_schema_and_screen_names() -> None:
    s = Suggestion("s1", {"claim": "no_claim", "checkworthy": "yes",
                          "claim_type": ("statistic",), _stance("美国"): "favor"}, 0.5)
    items = prediction_result(SCHEMA, s, TARGETS)
    # claim_type and checkworthy are shown only when claim=claim: left out
    assert items == [
        {"from_name": "claim", "to_name": TEXT_NAME, "type": "choices",
         "value": {"choices": ["no_claim"]}},
        {"from_name": _stance("美国"), "to_name": TEXT_NAME, "type": "choices",
         "value": {"choices": ["favor"]}},
    ]
    # the result reads back as the answers (what an accepted prediction becomes)
    from corpus.labelschema import parse_result

    parsed = parse_result(SCHEMA, items, "x", targets=TARGETS)
    assert parsed["claim"] == "no_claim"
    assert parsed["stance"] == [{"target": "美国", "label": "favor"}]


@pytest.mark.parametrize(("answers", "message"), [
    ({"bogus": "x"}, "does not have"),
    ({"claim": "maybe"}, "unknown value 'maybe'"),
    ({"claim": ("claim", "no_claim")}, "has 2 values"),
    ({_stance("欧盟"): "favor"}, "not a stance target"),
    ({"claim_span": "claim"}, "span field"),
])
def test_prediction_result_refuses_what_the_screen_cannot_show(answers: dict[str, Any],
                                                               message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        prediction_result(SCHEMA, Suggestion("s1", answers, 0.5), TARGETS)


def test_acceptance_counts_per_model_version() -> None:
    rows = [
        {"prediction_model_version": "m1", "prediction_accepted": True, "was_cancelled": False},
        {"prediction_model_version": "m1", "prediction_accepted": False, "was_cancelled": False},
        {"prediction_model_version": "m2", "prediction_accepted": True, "was_cancelled": False},
        {"prediction_model_version": "m2", "prediction_accepted": None, "was_cancelled": True},
        {"prediction_model_version": None, "prediction_accepted": None, "was_cancelled": False},
    ]
    table = pa.Table.from_pylist(rows)
    got = prediction_acceptance(table, {"m0": 3, "m1": 10, "m2": 5})
    assert [(a.model_version, a.predicted, a.started, a.accepted, a.rate) for a in got] == [
        ("m0", 3, 0, 0, None), ("m1", 10, 2, 1, 0.5), ("m2", 5, 1, 1, 1.0)]


def test_read_annotations_adds_prediction_columns_to_an_older_table(tmp_path: Any) -> None:
    """A table pulled before predictions were recorded reads with those columns null."""
    from corpus.labelschema import PREDICTION_FIELDS
    from corpus.storage.atomic import write_table

    ws = Workspace(tmp_path / "ws").ensure()
    full = annotation_arrow_schema(SCHEMA)
    old = pa.schema([f for f in full if f.name not in {p.name for p in PREDICTION_FIELDS}])
    write_table(ws.annotations, pa.Table.from_pylist(
        [{"sentence_id": "s1", "annotation_id": 1, "claim": "claim"}], schema=old))
    table = read_annotations(ws, SCHEMA)
    assert table.schema == full
    assert table.to_pylist()[0]["parent_prediction"] is None
    assert table.to_pylist()[0]["claim"] == "claim"


# --------------------------------------------------------------------------- real server


class _Fixed:
    """A model of our own: every sentence gets the same answers and score."""

    def __init__(self, version: str, score: float = 0.5) -> None:
        self._version, self.score = version, score

    @property
    def version(self) -> str:
        return self._version

    def suggest(self, sentences: Sequence[SentenceInput]) -> list[Suggestion]:
        return [Suggestion(s.sentence_id, {"claim": "unsure"}, self.score) for s in sentences]


def _per_task(client: Any, project_id: int) -> dict[tuple[int, str], int]:
    counts: dict[tuple[int, str], int] = {}
    for p in list_predictions(client, project_id):
        key = (int(p["task"]), str(p["model_version"]))
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.labelstudio
def test_predict_attaches_once_per_version_and_prefills(ls_server: Any,
                                                        seed_ws: Workspace) -> None:
    client = ls_server.client()
    name = _project("predict")
    pushed = push(seed_ws, name, targets=TARGETS, client=client)
    ledger = read_ledger(seed_ws, name)
    calls: list[tuple[int, int]] = []
    report = predict(seed_ws, name, client=client, batch_size=20,
                     progress=lambda d, t: calls.append((d, t)))
    assert report.created == len(ledger) == pushed.imported
    assert calls[0] == (0, len(ledger)) and calls[-1] == (len(ledger), len(ledger))
    assert _per_task(client, pushed.project_id) == {(t, VERSION): 1 for t in ledger.values()}
    proj = client.get_project(pushed.project_id)
    assert proj["model_version"] == VERSION and proj["show_collab_predictions"] is True
    # what the editor is handed: the task with this version's prediction
    first = client.request("GET", f"/api/projects/{pushed.project_id}/next")
    assert [p["model_version"] for p in first["predictions"]] == [VERSION]
    # schema v2: a pre-filled screen asks what an empty one would, so each prediction
    # ticks its task's mentioned targets (Label Studio pre-ticks only an empty annotation)
    ticked = 0
    for task in client.request("GET", "/api/tasks", params={
            "project": pushed.project_id, "page_size": 1000, "fields": "all"})["tasks"]:
        asked = [t for t in TARGETS
                 if (task["data"].get("stance_mentioned") or {}).get(target_slug(t))]
        (pred,) = task["predictions"]
        items = [r["value"]["choices"] for r in pred["result"]
                 if r["from_name"] == "stance_mentioned"]
        assert items == ([asked] if asked else []), task["id"]
        ticked += bool(asked)
    assert ticked > 0

    recorded = read_predictions(seed_ws, name)
    assert recorded.num_rows == len(ledger)
    assert set(recorded["ls_task_id"].to_pylist()) == set(ledger.values())
    assert all(isinstance(i, int) for i in recorded["prediction_id"].to_pylist())
    assert any(recorded["cues"].to_pylist())

    # again: nothing new; a copy left by an interrupted import is deleted (oldest kept)
    task = next(iter(ledger.values()))
    import_predictions(client, pushed.project_id, [
        {"task": task, "result": [], "score": 0.1, "model_version": VERSION}])
    again = predict(seed_ws, name, client=client)
    assert (again.created, again.already, again.duplicates_deleted) == (0, len(ledger), 1)
    assert _per_task(client, pushed.project_id) == {(t, VERSION): 1 for t in ledger.values()}

    # a new version adds its predictions and becomes the project's; the old ones stay
    newer = predict(seed_ws, name, client=client, model=_Fixed("fixed-2"))
    assert newer.created == len(ledger)
    counts = _per_task(client, pushed.project_id)
    assert {v for _, v in counts} == {VERSION, "fixed-2"} and set(counts.values()) == {1}
    assert client.get_project(pushed.project_id)["model_version"] == "fixed-2"
    versions = read_predictions(seed_ws, name)["model_version"].to_pylist()
    assert versions.count(VERSION) == versions.count("fixed-2") == len(ledger)

    # predictions are not annotations: nothing to pull, nothing counted
    pulled = pull(seed_ws, name, client=client)
    assert pulled.total_rows == 0
    counts_now = client.project_counts(pushed.project_id, "total_annotations_number")
    assert counts_now["total_annotations_number"] == 0


@pytest.mark.labelstudio
def test_pull_records_acceptance_and_predictions_never_count(ls_server: Any,
                                                             seed_ws: Workspace) -> None:
    """Annotations submitted from a prediction as Label Studio's editor sends them (with
    ``parent_prediction``; the browser test checks the editor really does): pull marks
    which were accepted unchanged; status counts them per version; agreement and the
    release see annotations only."""
    client = ls_server.client()
    name = _project("accept")
    pushed = push(seed_ws, name, targets=TARGETS, client=client)
    predict(seed_ws, name, client=client)
    ledger = read_ledger(seed_ws, name)
    recorded = {r["sentence_id"]: r for r in read_predictions(seed_ws, name).to_pylist()}
    accepted_sid, edited_sid, plain_sid = sorted(ledger)[:3]

    def parent(sid: str) -> dict[str, Any]:
        [p] = [p for p in client.list_predictions(ledger[sid]) if p["model_version"] == VERSION]
        return p

    p1 = parent(accepted_sid)
    client.create_annotation(ledger[accepted_sid], p1["result"], parent_prediction=p1["id"])
    p2 = parent(edited_sid)
    edited = [dict(r) for r in p2["result"] if r["from_name"] != "claim"] + [
        {"from_name": "claim", "to_name": TEXT_NAME, "type": "choices",
         "value": {"choices": ["unsure"]}}]
    client.create_annotation(ledger[edited_sid], edited, parent_prediction=p2["id"])
    client.create_annotation(ledger[plain_sid], [
        {"from_name": "claim", "to_name": TEXT_NAME, "type": "choices",
         "value": {"choices": ["claim"]}}])

    for full in (True, False):  # snapshot (embeds the parent) and Data Manager pages
        if not full:
            # an incremental pull re-reads a changed task: from its recorded prediction
            client.update_annotation(int(client.list_annotations(ledger[accepted_sid])[0]["id"]),
                                     lead_time=2.0)
        report = pull(seed_ws, name, client=client, full=full)
        assert report.total_rows == 3
        rows = {r["sentence_id"]: r for r in read_annotations(seed_ws, SCHEMA).to_pylist()
                if r["ls_project_id"] == pushed.project_id}
        assert rows[accepted_sid]["prediction_accepted"] is True
        assert rows[edited_sid]["prediction_accepted"] is False
        assert rows[plain_sid]["prediction_accepted"] is None
        assert rows[plain_sid]["parent_prediction"] is None
        assert rows[accepted_sid]["parent_prediction"] == recorded[accepted_sid]["prediction_id"]
        assert {rows[s]["prediction_model_version"] for s in (accepted_sid, edited_sid)} == {
            VERSION}
        assert rows[plain_sid]["prediction_model_version"] is None

    status = project_status(seed_ws, name, SCHEMA)
    [acc] = status.predictions
    assert (acc.model_version, acc.predicted, acc.started, acc.accepted) == (
        VERSION, len(ledger), 2, 1)
    assert status.progress == {0: len(ledger) - 3, 1: 3}
    assert all(f.units <= 3 for f in status.fields)

    info = release(seed_ws, name)
    table = load(info.path.parent, "latest", split="all")
    assert sorted(table["sentence_id"].to_pylist()) == sorted([accepted_sid, edited_sid,
                                                               plain_sid])
    assert set(table["n_annotators"].to_pylist()) == {1}
    by_sid = {r["sentence_id"]: r for r in table.to_pylist()}
    assert by_sid[edited_sid]["claim"] == "unsure"  # the annotator's, not the prediction's

    runner = CliRunner()
    result = runner.invoke(app, ["status", "-p", name, "-w", str(seed_ws.root)])
    assert result.exit_code == 0, result.output
    assert "accepted unchanged per model version" in result.output
    assert "1 (50%)" in result.output
    result = runner.invoke(app, ["status", "-p", name, "-w", str(seed_ws.root), "--json"])
    got = json.loads(result.output)["predictions"]
    assert got == [{"model_version": VERSION, "predicted": len(ledger), "started": 2,
                    "accepted": 1, "rate": 0.5}]


def _served(client: Any, project_id: int, n: int, tab: dict[str, Any] | None = None
            ) -> list[int]:
    """The first ``n`` tasks Label Studio serves (each skipped to get the next): by
    ``/api/projects/{id}/next``, or, given a Data Manager tab, as the web UI's labelling
    stream asks for them (``POST /api/dm/actions?id=next_task`` with the tab's filters and
    ordering in the body, what the browser sends; see tests/test_predict_browser.py)."""
    out: list[int] = []
    for _ in range(n):
        if tab is None:
            task = client.request("GET", f"/api/projects/{project_id}/next")
        else:
            data = tab.get("data") or {}
            task = client.request(
                "POST", "/api/dm/actions", idempotent=False,
                params={"id": "next_task", "tabID": tab["id"], "project": project_id},
                json_body={"ordering": data.get("ordering") or [],
                           "selectedItems": {"all": False, "included": []},
                           "filters": data.get("filters"), "project": str(project_id)})
        out.append(int(task["id"]))
        client.create_annotation(int(task["id"]), [], was_cancelled=True)
    return out


class _Scored:
    """Scores that put the tasks in a known order (not the import order)."""

    version = "scored-1"

    def __init__(self, ledger: dict[str, int]) -> None:
        ids = sorted(ledger.values())
        # a fixed shuffle: task k gets score rank (k * 7) % n
        self.score = {sid: ((ids.index(t) * 7) % len(ids) + 1) / (len(ids) + 1)
                      for sid, t in ledger.items()}

    def suggest(self, sentences: Sequence[SentenceInput]) -> list[Suggestion]:
        return [Suggestion(s.sentence_id, {"claim": "unsure"}, self.score[s.sentence_id])
                for s in sentences]


@pytest.mark.labelstudio
@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("queue", ["api", "stream"])
def test_push_order_decides_what_the_queue_serves(ls_server: Any, seed_ws: Workspace,
                                                  order: str, queue: str) -> None:
    client = ls_server.client()
    name = _project(f"order-{order}")
    pushed = push(seed_ws, name, targets=TARGETS, client=client, order=order)
    assert pushed.order == order and pushed.order_changed
    ledger = read_ledger(seed_ws, name)
    model = _Scored(ledger)
    # the heuristic first, then the scored model: the queue follows the project's version
    predict(seed_ws, name, client=client)
    predict(seed_ws, name, client=client, model=model)
    assert client.get_project(pushed.project_id)["sampling"] == ORDERS[order]
    tab = queue_tab(client, pushed.project_id)
    assert tab is not None and tab["data"]["title"] == QUEUE_TAB
    assert tab["data"]["ordering"] == TAB_ORDERING[order]
    served = _served(client, pushed.project_id, 6, tab if queue == "stream" else None)
    by_score = [ledger[s] for s in sorted(ledger, key=lambda s: model.score[s])]
    by_id = sorted(ledger.values())
    if order == "uncertain":
        assert served == by_score[:6]  # least certain first
    elif order == "article":
        assert served == by_id[:6]  # push order
    else:
        assert served != by_id[:6] and served != by_score[:6]
        assert len(set(served)) == 6
        if queue == "stream":  # a fixed shuffle: by the sentence id hash
            assert served == [ledger[s] for s in sorted(ledger)][:6]


@pytest.mark.labelstudio
def test_push_order_keeps_one_queue_tab_first(ls_server: Any, seed_ws: Workspace) -> None:
    """Re-running changes nothing; another order re-sorts the same tab; a tab someone made
    before stays, after ours."""
    client = ls_server.client()
    name = _project("order-tab")
    pushed = push(seed_ws, name, targets=TARGETS, client=client)
    theirs = client.create_view(pushed.project_id, {"conjunction": "and", "items": []},
                                title="Default")
    assert push(seed_ws, name, client=client, order="article").order_changed
    assert not push(seed_ws, name, client=client, order="article").order_changed
    assert push(seed_ws, name, client=client, order="uncertain").order_changed
    views = client.request("GET", "/api/dm/views/", params={"project": pushed.project_id})
    ours = [v for v in views if v["data"].get("title") == QUEUE_TAB]
    assert len(ours) == 1 and ours[0]["data"]["ordering"] == TAB_ORDERING["uncertain"]
    assert sorted(views, key=lambda v: (v["order"], v["id"]))[0]["id"] == ours[0]["id"]
    assert theirs["id"] in {v["id"] for v in views}


@pytest.mark.labelstudio
def test_push_order_cli_and_predict_cli(ls_server: Any, seed_ws: Workspace,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    name = _project("cli-predict")
    runner = CliRunner()
    ws = str(seed_ws.root)
    result = runner.invoke(app, ["push", "-p", name, "--targets", ",".join(TARGETS),
                                 "--order", "uncertain", "-w", ws])
    assert result.exit_code == 0, result.output
    assert "queue order uncertain (changed)" in result.output
    assert "no predictions yet: run `corpus predict`" in result.output
    result = runner.invoke(app, ["predict", "-p", name, "-w", ws, "--show", "3"])
    assert result.exit_code == 0, result.output
    assert f"with {VERSION}" in result.output and "predictions created" in result.output
    assert "least certain first" in result.output
    assert "claim=claim" in result.output  # the answers table
    again = runner.invoke(app, ["predict", "-p", name, "-w", ws])
    assert again.exit_code == 0, again.output
    assert "0 predictions created" in again.output
    result = runner.invoke(app, ["push", "-p", name, "--order", "uncertain", "-w", ws])
    assert result.exit_code == 0, result.output
    assert "no predictions yet" not in result.output
    assert "(changed)" not in result.output.split("queue order")[1].split(";")[0]


def test_predict_cli_usage_and_errors(tmp_path: Any) -> None:
    runner = CliRunner()
    ws = Workspace(tmp_path / "ws").ensure()
    bad = runner.invoke(app, ["predict", "-p", "never", "--model", "bogus", "-w", str(ws.root)])
    assert bad.exit_code == 2
    never = runner.invoke(app, ["predict", "-p", "never", "-w", str(ws.root)])
    assert never.exit_code == 1
    assert "was never pushed" in never.output and "corpus push --project never" in never.output
    with pytest.raises(WorkspaceError, match="never pushed"):
        predict(ws, "never")
    bad_order = runner.invoke(app, ["push", "-p", "some", "--order", "sideways", "-w",
                                    str(ws.root)])
    assert bad_order.exit_code == 2
    with pytest.raises(ConfigError, match="unknown order"):
        push(ws, "some", order="sideways")


@pytest.mark.labelstudio
def test_predict_with_the_baseline_trained_on_pulled_labels(
        ls_server: Any, seed_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--model baseline``: trained on the project's pulled labels, its macro-F1 printed,
    its predictions attached under its own version; unchanged labels reuse it."""
    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    client = ls_server.client()
    name = _project("baseline")
    pushed = push(seed_ws, name, targets=TARGETS, client=client)
    ledger = read_ledger(seed_ws, name)
    texts = {t["sentence_id"]: t["text"] for t in build_tasks(seed_ws)}
    heuristic = HeuristicModel(SCHEMA)
    for sid, task in ledger.items():  # labels a linear model can learn: the cues' verdict
        claim = heuristic.suggest_one(SentenceInput(sid, texts[sid])).answers["claim"]
        client.create_annotation(task, [{"from_name": "claim", "to_name": TEXT_NAME,
                                         "type": "choices", "value": {"choices": [claim]}}])
    pull(seed_ws, name, client=client)
    runner = CliRunner()
    ws = str(seed_ws.root)
    result = runner.invoke(app, ["predict", "-p", name, "--model", "baseline", "-w", ws])
    assert result.exit_code == 0, result.output
    assert re.search(r"claim: 52 labels \(claim \d+, no_claim \d+\), 5-fold CV macro-F1 0\.\d{3}",
                     result.output), result.output
    version = client.get_project(pushed.project_id)["model_version"]
    assert version.startswith("baseline-") and f"with {version}" in result.output
    counts = _per_task(client, pushed.project_id)
    assert {v for _, v in counts} == {version} and len(counts) == len(ledger)
    again = runner.invoke(app, ["predict", "-p", name, "--model", "baseline", "-w", ws])
    assert again.exit_code == 0, again.output
    assert "labels unchanged" in again.output and "0 predictions created" in again.output
