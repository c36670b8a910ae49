"""The baseline pre-annotation model: trained on a workspace's pulled labels (no Label Studio).

The workspaces are made here: sentences whose words decide their labels (claims carry a
reporting verb and a number, stance sentences 支持/反对 a target), one annotator each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import annotation_rows_table

from corpus.errors import CorpusError, WorkspaceError
from corpus.labelschema import load_schema, stance_control_name
from corpus.labelstudio.sync import ProjectSync
from corpus.models import baseline
from corpus.models.baseline import NotEnoughLabels, fit
from corpus.models.features import FeatureConfig, cross_validate, fit_linear, from_arrays, to_arrays
from corpus.models.suggestions import Model, SentenceInput
from corpus.storage.atomic import write_table
from corpus.storage.tables import SENTENCE_SCHEMA
from corpus.workspace import Workspace

PROJECT = "news-p"
TARGETS = ["央行", "英伟达"]
COMPANIES = ["华为", "小米", "比亚迪", "腾讯", "阿里", "京东"]
CHATTER = ["今天天气很好", "我们去公园散步", "大家周末愉快", "欢迎读者留言", "请继续关注",
           "图片来自网络", "编辑：小王", "点击阅读原文"]


def _claim_text(i: int) -> str:
    return f"{COMPANIES[i % 6]}表示，今年收入增长{10 + i}%，预计明年继续上涨。"


def _chatter_text(i: int) -> str:
    return f"{CHATTER[i % 8]}，第{i}期。"


def _stance_text(i: int) -> tuple[str, str, str]:
    target = TARGETS[i % 2]
    if i % 4 < 2:
        return f"专家强烈支持{target}的做法，认为非常正确{i}。", target, "favor"
    return f"网友坚决反对{target}的决定，批评太糟糕{i}。", target, "against"


def _rows(n_claim: int, n_chatter: int, n_stance: int) -> tuple[list[dict[str, Any]],
                                                               list[dict[str, Any]]]:
    sentences: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []

    def add(text: str, answer: dict[str, Any]) -> None:
        i = len(sentences)
        sid = f"s{i:04d}"
        sentences.append({"sentence_id": sid, "article_id": f"a{i // 10}", "para_idx": 0,
                          "sent_idx": i % 10, "start": 0, "end": len(text), "text": text,
                          "kind": "sentence", "tokens": [], "lang": "zh"})
        annotations.append({"sentence_id": sid, "ls_task_id": i + 1, **answer})

    for i in range(n_claim):
        add(_claim_text(i), {"claim": "claim", "checkworthy": "yes" if i % 2 else "no"})
    for i in range(n_chatter):
        add(_chatter_text(i), {"claim": "no_claim"})
    for i in range(n_stance):
        text, target, label = _stance_text(i)
        other = TARGETS[(i + 1) % 2]
        add(text, {"claim": "no_claim",
                   "stance": [{"target": target, "label": label},
                              {"target": other, "label": "not_about"}]})
    return sentences, annotations


def make_labelled(root: Path, *, n_claim: int = 24, n_chatter: int = 24,
                  n_stance: int = 24) -> Workspace:
    """A workspace with sentences, one annotation each, and the project's push state."""
    ws = Workspace.resolve(root).ensure()
    sentences, annotations = _rows(n_claim, n_chatter, n_stance)
    pq.write_table(pa.Table.from_pylist(sentences, schema=SENTENCE_SCHEMA), ws.sentences)
    write_table(ws.annotations, annotation_rows_table(annotations))
    ProjectSync.of(ws, PROJECT).write_state({
        "project": PROJECT, "project_id": 1, "targets": TARGETS,
        "target_details": [{"target": "英伟达", "aliases": ["Nvidia"], "description": ""},
                           {"target": "央行", "aliases": [], "description": ""}]})
    return ws


def relabel(ws: Workspace, sentence_id: str, **answer: Any) -> None:
    table = pq.read_table(ws.annotations)
    rows = table.to_pylist()
    for r in rows:
        if r["sentence_id"] == sentence_id:
            r.update(answer)
    write_table(ws.annotations, pa.Table.from_pylist(rows, schema=table.schema))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_labelled(tmp_path / "ws")


def test_fit_trains_every_field_and_stores_cv_macro_f1(ws: Workspace) -> None:
    said: list[str] = []
    model = fit(ws, PROJECT, progress=said.append)
    as_model: Model = model                 # the protocol corpus predict calls
    assert as_model.version == model.version and callable(as_model.suggest)
    assert model.version.startswith("baseline-") and len(model.version) == len("baseline-") + 12
    assert set(model.metrics) == {"claim", "checkworthy", "stance"}
    assert all(0.0 <= v <= 1.0 for v in model.metrics.values())
    assert model.metrics["claim"] > 0.9          # the words decide the label
    assert model.metrics["stance"] > 0.8
    assert not model.reused and model.skipped == {}
    assert any(m.startswith("claim: 72 labels") and "CV macro-F1" in m for m in said)
    assert model.path == ws.root / "models" / PROJECT / model.version
    meta = json.loads((model.path / "model.json").read_text(encoding="utf-8"))
    assert meta["version"] == model.version
    stored = {f["name"]: f["metrics"]["macro_f1"] for f in meta["fields"]}
    assert stored == pytest.approx(model.metrics)
    claim = next(f for f in meta["fields"] if f["name"] == "claim")
    assert claim["metrics"]["counts"] == {"claim": 24, "no_claim": 48}
    assert claim["metrics"]["folds"] == 5
    # stance learns the targets a sentence mentions: the other target's not_about is not
    # a judgment the model is ever asked for
    stance = next(f for f in meta["fields"] if f["name"] == "stance")
    assert stance["metrics"]["counts"] == {"against": 12, "favor": 12}
    assert stance["targets"] == ["央行", "英伟达"]
    # plain arrays: loadable without pickle
    with np.load(model.path / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_suggest_answers_by_schema_field_and_stance_control_name(ws: Workspace) -> None:
    model = fit(ws, PROJECT)
    out = model.suggest([
        SentenceInput("n1", "苹果表示，今年收入增长35%，预计明年继续上涨。", targets=TARGETS),
        SentenceInput("n2", "今天天气很好，我们去公园散步。", targets=TARGETS),
        SentenceInput("n3", "网友坚决反对央行的决定，批评太糟糕。", targets=TARGETS),
        SentenceInput("n4", "专家强烈支持Nvidia的做法，认为非常正确。", targets=TARGETS),
    ])
    by_id = {s.sentence_id: s for s in out}
    assert set(by_id) == {"n1", "n2", "n3", "n4"}
    assert by_id["n1"].answers["claim"] == "claim"
    assert by_id["n1"].answers["checkworthy"] in ("yes", "no")
    assert by_id["n2"].answers == {"claim": "no_claim"}     # no checkworthy, no target named
    assert by_id["n3"].answers[stance_control_name("stance", "央行")] == "against"
    assert stance_control_name("stance", "英伟达") not in by_id["n3"].answers
    # an alias names the target; the answer is keyed by the target's control name
    assert by_id["n4"].answers[stance_control_name("stance", "英伟达")] == "favor"
    schema = load_schema()
    names = {f.name for f in schema.fields} | {stance_control_name("stance", t) for t in TARGETS}
    for s in out:
        assert set(s.answers) <= names
        assert 0.0 <= s.score <= 1.0
        assert s.score < 1.0 and s.score > 0.3
    assert model.suggest([]) == []


def test_checkworthy_only_when_claim_is_suggested(ws: Workspace) -> None:
    model = fit(ws, PROJECT)
    out = model.suggest([SentenceInput(f"c{i}", t) for i, t in enumerate(
        [_claim_text(100), _chatter_text(100), _claim_text(7), _chatter_text(3)])])
    for s in out:
        assert ("checkworthy" in s.answers) == (s.answers["claim"] == "claim")
    assert [s.answers["claim"] for s in out] == ["claim", "no_claim", "claim", "no_claim"]


def test_score_is_the_lowest_answer_probability(ws: Workspace) -> None:
    model = fit(ws, PROJECT)
    text = "专家强烈支持央行的做法，认为非常正确。"
    s = model.suggest([SentenceInput("x", text)])[0]
    probs = []
    for f in model.fields:
        if f.kind == "stance":
            p = f.model.probabilities([text], ["央行"])[0]
        else:
            p = f.model.probabilities([text])[0]
            if f.shown_when and s.answers.get(f.shown_when[0]) != f.shown_when[1]:
                continue
        probs.append(float(p.max()))
    assert s.score == pytest.approx(min(probs))


def test_unchanged_labels_reuse_the_stored_model(ws: Workspace) -> None:
    first = fit(ws, PROJECT)
    stamp = (first.path / "weights.npz").stat().st_mtime_ns
    said: list[str] = []
    again = fit(ws, PROJECT, progress=said.append)
    assert again.version == first.version and again.reused
    assert (first.path / "weights.npz").stat().st_mtime_ns == stamp      # not rewritten
    assert any("unchanged" in m for m in said)
    assert again.metrics == pytest.approx(first.metrics)
    inputs = [SentenceInput("a", _claim_text(3), targets=TARGETS),
              SentenceInput("b", _stance_text(5)[0], targets=TARGETS)]
    assert again.suggest(inputs) == first.suggest(inputs)


def test_changed_labels_retrain_a_new_version(ws: Workspace) -> None:
    first = fit(ws, PROJECT)
    relabel(ws, "s0001", checkworthy="urgent")      # a value with too few labels: dropped,
    second = fit(ws, PROJECT)                       # but the other rows changed
    assert second.version != first.version and not second.reused
    relabel(ws, "s0000", claim="no_claim", checkworthy=None)
    third = fit(ws, PROJECT)
    assert third.version not in (first.version, second.version)
    assert not third.reused
    versions = sorted(p.name for p in (ws.root / "models" / PROJECT).iterdir())
    assert versions == sorted([first.version, second.version, third.version])
    meta = json.loads((third.path / "model.json").read_text(encoding="utf-8"))
    claim = next(f for f in meta["fields"] if f["name"] == "claim")
    assert claim["metrics"]["counts"] == {"claim": 23, "no_claim": 49}


def test_another_feature_config_is_another_version(ws: Workspace) -> None:
    a = fit(ws, PROJECT)
    b = fit(ws, PROJECT, config=FeatureConfig(c=4.0))
    assert a.version != b.version


def test_damaged_stored_model_is_trained_again(ws: Workspace) -> None:
    first = fit(ws, PROJECT)
    (first.path / "weights.npz").write_bytes(b"not an npz")
    with pytest.raises(WorkspaceError, match=r"weights\.npz does not match"):
        baseline.load(first.path)
    again = fit(ws, PROJECT)
    assert again.version == first.version and not again.reused
    assert baseline.load(first.path).version == first.version


def test_too_few_labels_names_how_many_are_needed(tmp_path: Path) -> None:
    ws = make_labelled(tmp_path / "ws", n_claim=3, n_chatter=2, n_stance=0)
    with pytest.raises(NotEnoughLabels) as info:
        fit(ws, PROJECT)
    err = info.value
    assert isinstance(err, CorpusError)
    assert "claim: 5 labels (claim 3, no_claim 2)" in err.message
    assert "at least 5 labels of each of 2 or more values" in err.message
    assert "corpus pull --project news-p" in (err.hint or "")


def test_a_field_short_of_labels_is_skipped_and_named(tmp_path: Path) -> None:
    ws = make_labelled(tmp_path / "ws", n_claim=8, n_chatter=12, n_stance=0)
    said: list[str] = []
    model = fit(ws, PROJECT, progress=said.append)
    assert set(model.metrics) == {"claim"}
    assert model.skipped["checkworthy"].startswith("checkworthy: 8 labels (no 4, yes 4)")
    assert model.skipped["stance"].startswith(
        "stance: 0 labels of targets the sentence names (none)")
    assert any(m.startswith("skipped checkworthy") for m in said)
    out = model.suggest([SentenceInput("a", _claim_text(1), targets=TARGETS)])
    assert set(out[0].answers) == {"claim"}


def test_only_the_projects_own_annotations_count(ws: Workspace) -> None:
    first = fit(ws, PROJECT)
    table = pq.read_table(ws.annotations)
    other = table.slice(0, 10).to_pylist()
    for r in other:
        r["ls_project_id"] = 2
        r["annotation_id"] += 1000
        r["claim"] = "no_claim"
    write_table(ws.annotations, pa.concat_tables(
        [table, pa.Table.from_pylist(other, schema=table.schema)]))
    assert fit(ws, PROJECT).version == first.version


def test_never_pushed_project_is_a_workspace_error(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="never pushed"):
        fit(ws, "other-project")


def test_missing_scikit_learn_names_the_extra(ws: Workspace, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    from corpus.extras import MissingExtra
    monkeypatch.setitem(sys.modules, "sklearn", None)     # fault injection: not installed
    with pytest.raises(MissingExtra) as info:
        fit(ws, PROJECT)
    assert "claim-corpus[model]" in str(info.value)


def test_linear_model_round_trips_through_plain_arrays() -> None:
    texts = [_claim_text(i) for i in range(12)] + [_chatter_text(i) for i in range(12)]
    labels = ["claim"] * 12 + ["no_claim"] * 12
    m = fit_linear(texts, labels, FeatureConfig())
    arrays = to_arrays(m, "x")
    back = from_arrays(arrays, "x", FeatureConfig())
    probe = [_claim_text(50), _chatter_text(50)]
    assert np.allclose(back.probabilities(probe), m.probabilities(probe), atol=1e-6)
    assert list(m.classes[i] for i in m.probabilities(probe).argmax(axis=1)) == \
        ["claim", "no_claim"]
    assert np.allclose(m.probabilities(probe).sum(axis=1), 1.0)


def test_cross_validation_uses_fewer_folds_for_a_rare_class() -> None:
    texts = [_claim_text(i) for i in range(3)] + [_chatter_text(i) for i in range(20)]
    labels = ["claim"] * 3 + ["no_claim"] * 20
    cv = cross_validate(texts, labels, FeatureConfig())
    assert cv.folds == 3 and cv.n == 23
    assert set(cv.f1) == {"claim", "no_claim"}
    assert cv.macro_f1 == pytest.approx(np.mean(list(cv.f1.values())))


def test_stance_target_blocks_learn_per_target_cues() -> None:
    # the same word means favour for one target and against for the other: only the
    # target-specific blocks can tell
    texts, labels, targets = [], [], []
    for i in range(20):
        texts.append(f"大家都说涨价了{i}")
        targets.append("A" if i % 2 else "B")
        labels.append("favor" if i % 2 else "against")
    with_blocks = fit_linear(texts, labels, FeatureConfig(), targets=targets)
    shared = fit_linear(texts, labels, FeatureConfig(per_target=False), targets=targets)
    probe = ["大家都说涨价了99", "大家都说涨价了99"]
    p = with_blocks.probabilities(probe, ["A", "B"])
    assert [with_blocks.classes[i] for i in p.argmax(axis=1)] == ["favor", "against"]
    q = shared.probabilities(probe, ["A", "B"])
    assert np.allclose(q[0], q[1])


def test_a_ground_truth_annotation_decides_the_training_label(ws: Workspace) -> None:
    first = fit(ws, PROJECT)
    table = pq.read_table(ws.annotations)
    rows = table.to_pylist()
    two = [dict(r) for r in rows if r["sentence_id"] in ("s0030", "s0031")]   # chatter
    for r in two:
        r.update(annotation_id=r["annotation_id"] + 5000, annotator="lead@x.org",
                 ground_truth=True, claim="claim", checkworthy="no")
    write_table(ws.annotations, pa.concat_tables(
        [table, pa.Table.from_pylist(two, schema=table.schema)]))
    second = fit(ws, PROJECT)
    assert second.version != first.version
    meta = json.loads((second.path / "model.json").read_text(encoding="utf-8"))
    claim = next(f for f in meta["fields"] if f["name"] == "claim")
    assert claim["metrics"]["counts"] == {"claim": 26, "no_claim": 46}


def test_any_text_gets_scores_in_range(ws: Workspace) -> None:
    model = fit(ws, PROJECT)
    out = model.suggest([SentenceInput("e", ""), SentenceInput("z", "ąčęė ☃ 𝔘𝔫𝔦"),
                         SentenceInput("t", "央行" * 500, targets=["央行", "未知目标"]),
                         SentenceInput("u", "新目标：专家强烈支持新目标。", targets=["新目标"])])
    assert [s.sentence_id for s in out] == ["e", "z", "t", "u"]
    for s in out:
        assert 0.0 <= s.score <= 1.0 and s.answers["claim"] in ("claim", "no_claim")
    assert set(out[2].answers) >= {stance_control_name("stance", "央行")}
    assert stance_control_name("stance", "未知目标") not in out[2].answers   # not named
    # a target named but never labelled: the features shared by all targets answer
    assert out[3].answers[stance_control_name("stance", "新目标")] == "favor"


def test_cues_name_the_ngrams_that_spoke_for_each_answer(ws: Workspace) -> None:
    model = fit(ws, PROJECT)
    text = "网友坚决反对央行的决定，批评太糟糕。"
    s = model.suggest([SentenceInput("x", text, targets=TARGETS)])[0]
    by_answer = {c.split(": ", 1)[0]: c.split(": ", 1)[1] for c in s.cues}
    assert set(by_answer) == {"claim=no_claim", "stance 央行=against"}
    for shown in by_answer.values():
        grams = json.loads(f"[{shown}]")
        assert 1 <= len(grams) <= 3
        assert all(g.lower() in text.lower() for g in grams)     # n-grams of this sentence
    stance_grams = json.loads(f"[{by_answer['stance 央行=against']}]")
    assert any(ch in "".join(stance_grams) for ch in "反对批评糟")  # the against words


def test_nothing_pulled_yet_is_not_enough_labels(tmp_path: Path) -> None:
    ws = make_labelled(tmp_path / "ws", n_claim=0, n_chatter=0, n_stance=0)
    ws.annotations.unlink()
    with pytest.raises(NotEnoughLabels, match=r"claim: 0 labels \(none\)"):
        fit(ws, PROJECT)
    assert not (ws.root / "models").exists()
