"""Label schema: loading and strict validation, Arrow schema, rendering, parse_result."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from corpus.errors import SchemaError
from corpus.labelschema import (
    LabelSchema,
    annotation_arrow_schema,
    default_schema_path,
    load_schema,
    parse_result,
    stance_ask_control_names,
    stance_control_name,
    target_from_slug,
    target_slug,
)
from corpus.labelstudio.render import markdown_to_html, render_label_config

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "黄仁勋这两天又火了，英伟达的H20芯片卖不动。"


@pytest.fixture(scope="module")
def schema() -> LabelSchema:
    return load_schema(REPO / "schema" / "claims_stance.yaml")


def _raw() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((REPO / "schema" / "claims_stance.yaml").read_text())
    return doc


def _write(tmp_path: Path, doc: Any) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, allow_unicode=True),
                 encoding="utf-8")
    return p


# --------------------------------------------------------------------------- loading


def test_real_schema_matches_design(schema: LabelSchema) -> None:
    assert schema.name == "claims_stance"
    assert schema.version == 2
    assert [f.name for f in schema.fields] == [
        "claim", "claim_type", "checkworthy", "stance", "stance_holder", "claim_span",
        "seg_quality",
    ]
    kinds = {f.name: f.kind for f in schema.fields}
    assert kinds == {"claim": "single", "claim_type": "multi", "checkworthy": "single",
                     "stance": "stance", "stance_holder": "stance", "claim_span": "spans",
                     "seg_quality": "single"}
    assert schema.field("claim").values == ("claim", "no_claim", "unsure")
    assert schema.field("claim").required
    assert schema.field("claim_type").values == (
        "statistic", "comparison", "quote", "causal", "prediction", "policy", "event", "other")
    assert schema.field("checkworthy").values == ("urgent", "yes", "no", "unsure")
    assert schema.field("stance").values == ("favor", "against", "neutral", "not_about")
    assert schema.field("stance_holder").values == ("author", "quoted_source", "unclear")
    assert schema.field("claim_span").values == ("claim", "source", "object")
    assert schema.field("seg_quality").values == ("ok", "bad_split", "junk")
    assert schema.field("claim_type").shown_when == ("claim", "claim")
    assert schema.field("checkworthy").shown_when == ("claim", "claim")
    # v2: the holder is answered per stance answer (not about: no holder)
    assert schema.field("stance_holder").of == "stance"
    assert schema.field("stance_holder").shown_values == ("favor", "against", "neutral")
    # bilingual, Chinese first
    assert schema.field("claim").labels["claim"] == "主张 claim"
    for f in schema.fields:
        for v in f.values:
            label = f.labels[v]
            assert "\u4e00" <= label[0] <= "\u9fff", label
    assert schema.field("claim").hotkeys["claim"] == "1"
    assert len(schema.sha256) == 64
    assert load_schema().sha256 == schema.sha256  # default path is the repo schema


def test_default_path_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CORPUS_SCHEMA", raising=False)
    assert default_schema_path() == REPO / "schema" / "claims_stance.yaml"
    monkeypatch.setenv("CORPUS_SCHEMA", str(tmp_path / "x.yaml"))
    assert default_schema_path() == tmp_path / "x.yaml"


def test_sha256_changes_with_values(tmp_path: Path, schema: LabelSchema) -> None:
    doc = _raw()
    assert load_schema(_write(tmp_path, doc)).sha256 == schema.sha256
    doc["fields"][0]["values"].append({"value": "maybe", "label": "也许 maybe"})
    assert load_schema(_write(tmp_path, doc)).sha256 != schema.sha256


def test_malformed_yaml_exact_message(tmp_path: Path) -> None:
    p = _write(tmp_path, "name: x\nversion: 1\nfields:\n  - name: a\n    kind: [single\n")
    with pytest.raises(SchemaError) as exc:
        load_schema(p)
    assert exc.value.message == (
        f"{p}: malformed YAML at line 6, column 1: expected ',' or ']', but got '<stream end>'"
    )
    assert exc.value.hint == "fix the YAML syntax there (indentation, quotes, colons)"


def test_unknown_kind_exact_message(tmp_path: Path) -> None:
    doc = _raw()
    doc["fields"][2]["kind"] = "singel"
    p = _write(tmp_path, doc)
    with pytest.raises(SchemaError) as exc:
        load_schema(p)
    assert exc.value.message == f"{p}: fields[2].kind: unknown kind 'singel'"
    assert exc.value.hint == "use one of: single, multi, stance, spans"


def test_unknown_key_exact_message(tmp_path: Path) -> None:
    doc = _raw()
    doc["fields"][1]["requird"] = True
    p = _write(tmp_path, doc)
    with pytest.raises(SchemaError) as exc:
        load_schema(p)
    assert exc.value.message == f"{p}: fields[1].requird: unknown key 'requird'"
    assert exc.value.hint == (
        "remove it or use one of: hint, kind, name, of, required, shown_when, title, values"
    )
    doc = _raw()
    doc["colour"] = "red"
    p = _write(tmp_path, doc)
    with pytest.raises(SchemaError, match=r"s\.yaml: colour: unknown key 'colour'"):
        load_schema(p)
    doc = _raw()
    doc["fields"][0]["values"][0]["colour"] = "red"
    with pytest.raises(SchemaError, match=r"fields\[0\]\.values\[0\]\.colour: unknown key"):
        load_schema(_write(tmp_path, doc))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(version="1"), r"version: expected a positive integer, got '1'"),
        (lambda d: d.pop("fields"), r"fields: missing"),
        (lambda d: d["fields"][2]["values"].__setitem__(1, {"value": True}),
         r"fields\[2\]\.values\[1\]\.value: expected a non-empty string, got bool True"),
        (lambda d: d["fields"][1].update(shown_when={"field": "claim", "value": "claims"}),
         r"fields\[1\]\.shown_when\.value: 'claims' is not a value of 'claim'"),
        (lambda d: d["fields"][1].update(shown_when={"field": "nope", "value": "claim"}),
         r"fields\[1\]\.shown_when\.field: unknown field 'nope'"),
        (lambda d: d["fields"][1].update(name="claim"),
         r"fields\[1\]\.name: duplicate field name 'claim'"),
        (lambda d: d["fields"][1]["values"][0].update(hotkey="1"),
         r"fields\[1\]\.values\[0\]\.hotkey: hotkey '1' is already used by claim=claim"),
        (lambda d: d["fields"][1]["values"][0].update(hotkey="u"),
         r"hotkey 'u' is taken by Label Studio"),
        (lambda d: d["fields"][0]["values"].append({"value": "claim"}),
         r"fields\[0\]\.values\[3\]\.value: duplicate value 'claim'"),
        (lambda d: d["fields"][0].update(name="Claim"), r"fields\[0\]\.name: bad field name"),
        (lambda d: d["fields"][1].update(name="annotator"),
         r"fields\[1\]\.name: field name 'annotator' is a column of the annotations table"),
        (lambda d: d["fields"][1].update(name="split"),
         r"fields\[1\]\.name: field name 'split' is a column of the release table"),
        (lambda d: d["fields"][1].update(name="tokens"),
         r"field name 'tokens' is a column of the sentences table"),
        (lambda d: d["fields"][1].update(name="claim_votes"),
         r"fields\[1\]\.name: field name 'claim_votes' is the vote-count column of field "
         r"'claim'"),
        (lambda d: d["fields"][1].update(of="claim"),
         r"fields\[1\]\.of: field 'claim_type' \(kind multi\) cannot be `of` 'claim'"),
        (lambda d: (d["fields"][4].pop("shown_when"), d["fields"][4].update(of="claim")),
         r"fields\[4\]\.of: field 'stance_holder' \(kind stance\) cannot be `of` 'claim'"),
        (lambda d: d["fields"][4].update(shown_when={"field": "stance", "value": ["favor", "x"]}),
         r"fields\[4\]\.shown_when\.value: 'x' is not a value of 'stance'"),
        (lambda d: d["fields"][2].update(shown_when={"field": "stance", "value": "favor"}),
         r"fields\[2\]\.shown_when\.field: field 'stance' is of kind stance"),
        (lambda d: d["fields"][1].update(name="stance_more"),
         r"field name 'stance_more' is the control that asks 'stance' for more targets"),
    ],
)
def test_validation_errors(tmp_path: Path, mutate: Any, expected: str) -> None:
    doc = _raw()
    mutate(doc)
    with pytest.raises(SchemaError, match=expected):
        load_schema(_write(tmp_path, doc))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "nope.yaml")


def test_unknown_field_lookup(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="has no field 'nope'"):
        schema.field("nope")


# --------------------------------------------------------------------------- Arrow


def test_annotation_arrow_schema(schema: LabelSchema) -> None:
    s = annotation_arrow_schema(schema)
    assert s.names == [
        "sentence_id", "annotation_id", "ls_task_id", "ls_project_id", "annotator",
        "created_at", "updated_at", "lead_time", "was_cancelled", "ground_truth",
        "schema_version", "parent_prediction", "prediction_model_version",
        "prediction_accepted", "last_action", "claim", "claim_type", "checkworthy", "stance", "stance_holder",
        "claim_span", "seg_quality",
    ]
    assert s.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert s.field("schema_version").type == pa.int32()
    assert s.field("claim").type == pa.string()
    assert s.field("claim_type").type == pa.list_(pa.string())
    assert s.field("stance").type == pa.list_(
        pa.struct([("target", pa.string()), ("label", pa.string())]))
    assert s.field("claim_span").type == pa.list_(pa.struct(
        [("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
         ("text", pa.string())]))


# --------------------------------------------------------------------------- render


def test_slug_roundtrip() -> None:
    for t in ["英伟达", "Nvidia", "a_b", "x y-z", "<script>", "特朗普 Trump_2", "😀"]:
        slug = target_slug(t)
        assert slug.isascii() and all(c.isalnum() or c == "_" for c in slug)
        assert target_from_slug(slug) == t
    assert stance_control_name("stance", "Nvidia") == "stance__Nvidia"


def test_render_parses_and_contains_every_value(schema: LabelSchema) -> None:
    targets = ["英伟达", "特朗普"]
    xml = render_label_config(schema, targets)
    root = ET.fromstring(xml)
    assert root.tag == "View"
    assert not root.findall(".//HyperText")
    texts = {t.get("name"): t.get("value") for t in root.iter("Text")}
    assert texts == {"context_before": "$context_before", "text": "$text",
                     "context_after": "$context_after"}
    headers_ = [h.get("value") for h in root.iter("Header")]
    assert "$title" in headers_
    # the sentence comes first (Label Studio's task list shows the first <Text> first)
    assert next(t.get("name") for t in root.iter("Text")) == "text"
    controls = {c.get("name"): c for c in root.iter() if c.tag in ("Choices", "Labels")}
    for f in schema.fields:
        names = ([stance_control_name(f, t) for t in targets] if f.kind == "stance"
                 else [f.name])
        for name in names:
            el = controls[name]
            assert el.get("toName") == "text"
            children = list(el)
            assert [c.get("alias") for c in children] == list(f.values)
            assert [c.get("value") for c in children] == [f.labels[v] for v in f.values]
    assert controls["claim_span"].tag == "Labels"
    assert controls["claim_type"].get("choice") == "multiple"
    assert controls["claim"].get("required") == "true"
    assert controls["claim"].find("Choice").get("hotkey") == "1"  # type: ignore[union-attr]
    # hotkeys are unique; the second target's stance keys are the first's with shift
    hotkeys = [c.get("hotkey") for c in root.iter() if c.get("hotkey")]
    assert len(hotkeys) == len(set(hotkeys))
    first, second = (controls[stance_control_name("stance", t)] for t in targets)
    assert [c.get("hotkey") for c in second] == [f"shift+{c.get('hotkey')}" for c in first]
    # dependent fields are wrapped
    wrappers = [v for v in root.iter("View") if v.get("visibleWhen")]
    assert {w.find("Choices").get("name") for w in wrappers} == {  # type: ignore[union-attr]
        "claim_type", "checkworthy", *(stance_control_name("stance_holder", t)
                                       for t in targets)}
    for w in wrappers:
        assert w.get("visibleWhen") == "choice-selected"
        if w.get("whenTagName") == "claim":
            assert w.get("whenChoiceValue") == "claim"
        else:
            assert w.get("whenChoiceValue") == "favor,against,neutral"
    # a target's block shows when its name is ticked in the pre-ticked (mentioned) or the
    # annotator's row; the pre-ticked choices come from task data through <Repeater>
    blocks = {v.get("whenChoiceValue"): v for v in root.iter("View")
              if v.get("whenChoiceValue") and not v.get("visibleWhen")}
    assert set(blocks) == set(targets)
    mentioned, more = stance_ask_control_names("stance")
    assert [c.get("alias") for c in controls[more]] == targets
    repeaters = list(controls[mentioned].iter("Repeater"))
    assert [r.get("on") for r in repeaters] == [f"$stance_mentioned.{target_slug(t)}"
                                                 for t in targets]
    assert [r.find("Choice").get("selected") for r in repeaters] == ["true", "true"]  # type: ignore[union-attr]
    # every header mentioning a target shows it
    headers = [h.get("value") or "" for h in root.iter("Header")]
    assert any("英伟达" in h for h in headers) and any("特朗普" in h for h in headers)


def test_render_escapes_script(schema: LabelSchema) -> None:
    xml = render_label_config(schema, ["<script>alert('x')</script>", "a&b $title"])
    assert "<script>" not in xml
    assert "&lt;script&gt;" in xml
    root = ET.fromstring(xml)
    headers = [h.get("value") for h in root.iter("Header")]
    assert any(h and "<script>alert('x')</script>" in h for h in headers)
    # a literal $ in static text would be substituted by Label Studio: never emitted
    assert not any(h and "$title" in h for h in headers if h != "$title")


def test_render_without_targets_has_no_stance(schema: LabelSchema) -> None:
    root = ET.fromstring(render_label_config(schema))
    assert not [c for c in root.iter("Choices") if (c.get("name") or "").startswith("stance__")]


def test_render_rejects_duplicate_targets(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="duplicate stance target"):
        render_label_config(schema, ["a", "a"])


def test_committed_label_config_is_current(schema: LabelSchema) -> None:
    committed = (REPO / "schema" / "label_config.xml").read_text(encoding="utf-8")
    assert committed == render_label_config(schema, ["英伟达", "特朗普"]), (
        "run `corpus schema render --targets 英伟达,特朗普 -o schema/label_config.xml`")


def test_guidelines_html() -> None:
    html = markdown_to_html((REPO / "schema" / "guidelines.md").read_text(encoding="utf-8"))
    assert html.startswith("<h1>")
    assert "<li>" in html and "<blockquote>" in html
    assert markdown_to_html("<script>x</script> **b**") == (
        "<p>&lt;script&gt;x&lt;/script&gt; <b>b</b></p>")


# --------------------------------------------------------------------------- parse_result


def _choice(name: str, *values: str) -> dict[str, Any]:
    return {"id": "r" + name[:5], "from_name": name, "to_name": "text", "type": "choices",
            "origin": "manual", "value": {"choices": list(values)}}


def _span(start: int, end: int, label: str, text: str | None = None) -> dict[str, Any]:
    return {"id": f"s{start}", "from_name": "claim_span", "to_name": "text", "type": "labels",
            "origin": "manual",
            "value": {"start": start, "end": end, "text": SENTENCE[start:end] if text is None
                      else text, "labels": [label]}}


def test_parse_result_every_kind(schema: LabelSchema) -> None:
    result = [
        _choice("claim", "claim"),
        _choice("claim_type", "statistic", "quote"),
        _choice("checkworthy", "yes"),
        _choice(stance_control_name("stance", "英伟达"), "against"),
        _choice(stance_control_name("stance", "特朗普"), "not_about"),
        _choice(stance_control_name("stance_holder", "英伟达"), "quoted_source"),
        _span(10, 13, "object"),
        _span(0, 3, "source"),
        _choice("seg_quality", "ok"),
    ]
    got = parse_result(schema, result, SENTENCE, targets=["英伟达", "特朗普"])
    assert got == {
        "claim": "claim",
        "claim_type": ["statistic", "quote"],
        "checkworthy": "yes",
        "stance": [{"target": "特朗普", "label": "not_about"},
                   {"target": "英伟达", "label": "against"}],
        "stance_holder": [{"target": "英伟达", "label": "quoted_source"}],
        "claim_span": [{"start": 0, "end": 3, "label": "source", "text": "黄仁勋"},
                       {"start": 10, "end": 13, "label": "object", "text": "英伟达"}],
        "seg_quality": "ok",
    }
    # the values fit the Arrow schema
    row = {"sentence_id": "s1", **got}
    pa.Table.from_pylist([row], schema=pa.schema(
        [annotation_arrow_schema(schema).field(n) for n in row]))


def test_parse_result_empty_and_hidden(schema: LabelSchema) -> None:
    got = parse_result(schema, [], SENTENCE)
    assert got == {"claim": None, "claim_type": None, "checkworthy": None, "stance": [],
                   "stance_holder": [], "claim_span": [], "seg_quality": None}
    # dependent answers left over from a hidden question are dropped
    got = parse_result(schema, [_choice("claim", "no_claim"), _choice("claim_type", "quote"),
                                _choice("checkworthy", "no")], SENTENCE)
    assert got["claim"] == "no_claim"
    assert got["claim_type"] is None and got["checkworthy"] is None


def test_parse_result_unknown_label(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError) as exc:
        parse_result(schema, [_choice("claim", "maybe")], SENTENCE)
    assert exc.value.message == "'claim': unknown label 'maybe'"
    assert "claim, no_claim, unsure" in (exc.value.hint or "")
    with pytest.raises(SchemaError, match="'claim_span': unknown label 'person'"):
        parse_result(schema, [_span(0, 3, "person")], SENTENCE)


def test_parse_result_unknown_control(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="unknown control 'sentiment'"):
        parse_result(schema, [_choice("sentiment", "positive")], SENTENCE)
    with pytest.raises(SchemaError, match="unknown stance target 'Biden'"):
        parse_result(schema, [_choice(stance_control_name("stance", "Biden"), "favor")],
                     SENTENCE, targets=["英伟达"])


def test_parse_result_span_mismatch(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="does not match the sentence text"):
        parse_result(schema, [_span(0, 3, "source", text="英伟达")], SENTENCE)
    with pytest.raises(SchemaError, match="does not match"):
        parse_result(schema, [_span(40, 45, "claim", text="x")], SENTENCE)


def test_parse_result_utf16_offsets(schema: LabelSchema) -> None:
    text = "😀英伟达涨了"
    # JavaScript offsets: the emoji counts as two code units
    item = {"from_name": "claim_span", "to_name": "text", "type": "labels",
            "value": {"start": 2, "end": 5, "text": "英伟达", "labels": ["object"]}}
    got = parse_result(schema, [item], text)
    assert got["claim_span"] == [{"start": 1, "end": 4, "label": "object", "text": "英伟达"}]


def test_parse_result_single_twice(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="single choice field"):
        parse_result(schema, [_choice("claim", "claim", "no_claim")], SENTENCE)
    bad = copy.deepcopy(_choice("claim", "claim"))
    bad["value"] = {"text": ["x"]}
    with pytest.raises(SchemaError, match=r"expected value\.choices"):
        parse_result(schema, [bad], SENTENCE)


# --------------------------------------------------------------------------- v2: asked


TARGETS = ["英伟达", "特朗普", "美国"]
MENTIONED, MORE = stance_ask_control_names("stance")


def test_stance_lists_every_target_asked_and_only_those(schema: LabelSchema) -> None:
    """Asked = pre-ticked (the task mentions it) or ticked by the annotator; an asked
    target without an answer has label None, a target not asked is absent."""
    result = [_choice(MENTIONED, "英伟达"), _choice(MORE, "美国"),
              _choice(stance_control_name("stance", "英伟达"), "favor"),
              _choice(stance_control_name("stance_holder", "英伟达"), "author")]
    got = parse_result(schema, result, SENTENCE, targets=TARGETS, mentioned=["英伟达"])
    assert got["stance"] == [{"target": "美国", "label": None},
                             {"target": "英伟达", "label": "favor"}]
    assert got["stance_holder"] == [{"target": "英伟达", "label": "author"}]
    # nothing mentioned, nothing ticked: no target asked at all
    got = parse_result(schema, [_choice("claim", "no_claim")], SENTENCE, targets=TARGETS,
                       mentioned=[])
    assert got["stance"] == [] and got["stance_holder"] == []


def test_answers_to_questions_never_shown_are_dropped(schema: LabelSchema) -> None:
    """Label Studio's hotkeys answer a hidden question too: a stance for a target the task
    does not mention (and nobody ticked) is dropped, and so is a holder for a not_about."""
    result = [_choice(stance_control_name("stance", "特朗普"), "against"),
              _choice(stance_control_name("stance_holder", "特朗普"), "author"),
              _choice(stance_control_name("stance", "英伟达"), "not_about"),
              _choice(stance_control_name("stance_holder", "英伟达"), "author")]
    got = parse_result(schema, result, SENTENCE, targets=TARGETS, mentioned=["英伟达"])
    assert got["stance"] == [{"target": "英伟达", "label": "not_about"}]
    assert got["stance_holder"] == []
    # without the task's list (a task pushed before v2) an answer says it was asked
    got = parse_result(schema, result, SENTENCE, targets=TARGETS)
    assert got["stance"] == [{"target": "特朗普", "label": "against"},
                             {"target": "英伟达", "label": "not_about"}]
    assert got["stance_holder"] == [{"target": "特朗普", "label": "author"}]


def test_v1_results_map_onto_v2(schema: LabelSchema) -> None:
    """A v1 screen asked every target and one holder per sentence: every target is asked,
    and the holder goes to each stance answer other than not_about."""
    result = [_choice(stance_control_name("stance", "英伟达"), "against"),
              _choice(stance_control_name("stance", "特朗普"), "not_about"),
              _choice("stance_holder", "quoted_source")]
    got = parse_result(schema, result, SENTENCE, targets=TARGETS, asks_every_target=True)
    assert got["stance"] == [{"target": "特朗普", "label": "not_about"},
                             {"target": "美国", "label": None},
                             {"target": "英伟达", "label": "against"}]
    assert got["stance_holder"] == [{"target": "英伟达", "label": "quoted_source"}]
    with pytest.raises(SchemaError, match="unknown label 'me'"):
        parse_result(schema, [_choice("stance_holder", "me")], SENTENCE, targets=TARGETS)


def test_mentioned_result_is_what_the_screen_pre_ticks(schema: LabelSchema) -> None:
    """A prediction carries the pre-ticked item itself (Label Studio applies default choices
    only to an annotation it starts empty); pulled, it makes those targets asked."""
    from corpus.labelschema import mentioned_result

    item = mentioned_result("stance", ["英伟达"])
    assert item["from_name"] == MENTIONED and item["value"] == {"choices": ["英伟达"]}
    got = parse_result(schema, [item], SENTENCE, targets=TARGETS)
    assert got["stance"] == [{"target": "英伟达", "label": None}]


def test_ask_controls_name_project_targets(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="unknown stance target 'Biden'"):
        parse_result(schema, [_choice(MORE, "Biden")], SENTENCE, targets=TARGETS)


def test_render_refuses_a_target_named_like_a_label(schema: LabelSchema) -> None:
    with pytest.raises(SchemaError, match="also a label value"):
        render_label_config(schema, ["claim"])


def test_mentioned_targets_by_name_or_alias() -> None:
    from corpus.labelstudio.targets import Target
    from corpus.labelstudio.tasks import add_mentions, mentioned_targets

    targets = [Target("英伟达", ("Nvidia", "老黄")), Target("特朗普"), Target("美国")]
    task = {"text": "NVIDIA 的芯片", "context_before": "", "context_after": "特朗普说。",
            "title": "美国"}
    assert mentioned_targets(task, targets) == ["英伟达", "特朗普"]  # not by the title
    add_mentions([task], targets)
    assert task["stance_mentioned"] == {target_slug("英伟达"): [1], target_slug("特朗普"): [1]}


def test_a_v1_annotation_table_is_named_with_the_fix(schema: LabelSchema, tmp_path: Path
                                                     ) -> None:
    """v1 stored one stance_holder string per sentence: reading such a table with v2 says
    which file, which column and what to run, instead of failing in Arrow."""
    import pyarrow.parquet as pq

    from corpus.errors import WorkspaceError
    from corpus.labelstudio.annotations import read_annotations
    from corpus.workspace import Workspace

    v2 = annotation_arrow_schema(schema)
    v1 = pa.schema([pa.field(f.name, pa.string()) if f.name == "stance_holder" else f
                    for f in v2])
    ws = Workspace(tmp_path / "ws")
    ws.annotations.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(v1.empty_table(), ws.annotations)
    with pytest.raises(WorkspaceError, match="stance_holder in another form") as exc:
        read_annotations(ws, schema)
    assert "corpus pull --full" in (exc.value.hint or "")
