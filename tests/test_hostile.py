"""Issue 6: hostile input never changes or breaks anything.

- HTML/JS, right-to-left scripts, combining characters, emoji (also ZWJ sequences),
  a 20,000-character run without punctuation and a 1-character article go through
  ingest, split, push and pull UNCHANGED as text: the text Label Studio stores for each
  task is the sentences.parquet text, and annotation span texts round-trip.
- NUL bytes, lone surrogates (JSONL "\\ud800" escapes), bidi overrides and other control
  characters are removed by ingest (``corpus.text.normalize.normalize``) and never break a
  later stage.
- Malformed schema YAML -> SchemaError with an exact message; an unknown label in a
  pulled result -> the rejects file with the reason; a hand-edited manifest -> `corpus
  verify` fails naming manifest.json.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from robust_helpers import TARGETS, assert_matches_label_studio, ls_tasks, write_jsonl
from typer.testing import CliRunner

from corpus.errors import SchemaError
from corpus.labelschema import load_schema
from corpus.labelstudio.annotations import pull
from corpus.labelstudio.tasks import push
from corpus.text.normalize import normalize
from corpus.text.segmenter import sentence_text
from corpus.workspace import Workspace

HTML_JS = ("<script>alert(1)</script>这是第一句话。<img src=x onerror=alert(2)>第二句话！\n\n"
           "<a href=\"javascript:alert(3)\">链接</a>第三句。{{ 7*7 }} ${jndi:ldap://x} "
           "'; DROP TABLE task; -- 结束了。\n\n&lt;b&gt;实体&amp;nbsp;不解码&#x27;。")
RTL = ("هذه جملة عربية عن الاقتصاد. وهذه جملة أخرى!\n\n"
       "זה משפט בעברית על השוק. עוד משפט?\n\n"
       "中文与العربية混排的句子，还有עברית。")
COMBINING = ("Zalgo: Z̴̡̛a̵̢l̶̨g̷̛o̸̧ 文字出现了。q̇ 和 ṇ̃ 与 g̈ 都是组合字符！"
             "越南语：Tiếng Việt có dấu。天城文：हिन्दी में वाक्य है।")
EMOJI = ("家庭 👨‍👩‍👧‍👦 很幸福。点赞 👍🏽 很多！彩虹旗 🏳️‍🌈 飘扬。"
         "科学家 👩🏿‍🔬 发表论文。国旗 🇨🇳🇺🇸 并列。数学 𝕏𝕐 和古字 𠀀𠀁 出现。")
EMOJI_ZWJ = ["👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏿‍🔬"]
LONG_RUN = "数据" * 10_000          # 20,000 characters, no sentence punctuation
ONE_CHAR = "好"
CONTROL = ("第一句\u0000话有NUL。\ud800第二句有孤立代理\udfff！\u202e反转\u202c第三句\u2066隔离\u2069。"
           "响铃\u0007与转义\u001b[31m红色\u001b[0m以及DEL\u007f和C1\u0085控制符。"
           "零宽\u200b空格与BOM\ufeff和LRM\u200e标记。")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                        "\ufeff\ud800-\udfff]")


def _rows() -> list[dict[str, Any]]:
    return [
        {"id": "html", "title": "<script>alert('t')</script>标题", "text": HTML_JS},
        {"id": "rtl", "title": "عنوان כותרת", "text": RTL},
        {"id": "comb", "title": "Zalgo", "text": COMBINING},
        {"id": "emoji", "title": "表情 🏳️‍🌈", "text": EMOJI},
        {"id": "long", "title": "长", "text": LONG_RUN},
        {"id": "one", "title": "一", "text": ONE_CHAR},
        {"id": "ctrl", "title": "控制\u0000符\ud800", "text": CONTROL},
    ]


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from corpus.articles.ingestion import ingest
    from corpus.sentences import split

    root = tmp_path_factory.mktemp("hostile")
    # json.dumps (ensure_ascii) writes \u0000 and the lone surrogates as JSON escapes
    src = write_jsonl(root / "hostile.jsonl", [])
    with src.open("w", encoding="ascii") as fh:
        for row in _rows():
            fh.write(json.dumps(row) + "\n")
    assert "\\ud800" in src.read_text() and "\\u0000" in src.read_text()
    ws = Workspace(root / "ws").ensure()
    report = ingest([src], ws)
    assert not report.failed, [str(p) for p in report.errors]
    assert any("20,000 characters" in p.message for p in report.warnings)
    split(workspace=ws)
    return ws


def _articles(ws: Workspace) -> dict[str, dict[str, Any]]:
    return {r["article_id"]: r for r in pq.read_table(ws.articles).to_pylist()}


def _sentences(ws: Workspace) -> list[dict[str, Any]]:
    return pq.read_table(ws.sentences).to_pylist()


# --------------------------------------------------------------------------- ingest + split


def test_ingest_keeps_hostile_text_verbatim(hostile_ws: Workspace) -> None:
    arts = _articles(hostile_ws)
    assert set(arts) == {"html", "rtl", "comb", "emoji", "long", "one", "ctrl"}
    for key, raw in (("html", HTML_JS), ("rtl", RTL), ("comb", COMBINING), ("long", LONG_RUN),
                     ("one", ONE_CHAR)):
        assert arts[key]["text"] == unicodedata.normalize("NFC", raw), key
    assert "<script>alert(1)</script>" in arts["html"]["text"]
    assert "&lt;b&gt;" in arts["html"]["text"]            # entities are not decoded
    assert arts["html"]["title"] == "<script>alert('t')</script>标题"
    assert "Z̴̡̛a̵̢l̶̨g̷̛o̸̧" in arts["comb"]["text"]
    assert len(arts["long"]["text"]) == 20_000 and arts["one"]["text"] == "好"
    assert arts["rtl"]["title"] == "عنوان כותרת"


def test_ingest_keeps_emoji_zwj_sequences(hostile_ws: Workspace) -> None:
    """ZWJ (U+200D) glues emoji sequences (and ZWNJ U+200C shapes Persian and Indic
    words): removing it changes what the annotator sees (👨‍👩‍👧‍👦 becomes 👨👩👧👦)."""
    text = _articles(hostile_ws)["emoji"]["text"]
    for seq in EMOJI_ZWJ:
        assert seq in text, f"{seq!r} was altered by ingest: {text!r}"
    assert text == unicodedata.normalize("NFC", EMOJI)
    assert normalize("می\u200cخواهم") == "می\u200cخواهم"  # Persian: "I want" needs its ZWNJ


def test_ingest_removes_control_characters_as_documented(hostile_ws: Workspace) -> None:
    arts = _articles(hostile_ws)
    ctrl = arts["ctrl"]
    assert ctrl["text"] == normalize(CONTROL)
    for value in (ctrl["text"], ctrl["title"]):
        assert not _FORBIDDEN.search(value), repr(value)
        assert "\u200b" not in value and "\u200e" not in value
        value.encode("utf-8")                          # no lone surrogate left
    assert ctrl["text"].startswith("第一句话有NUL。第二句有孤立代理！反转第三句隔离。")
    assert "[31m红色[0m" in ctrl["text"]                # ESC removed, the rest kept
    assert ctrl["title"] == "控制符"
    for a in arts.values():
        assert not _FORBIDDEN.search(a["text"]), a["article_id"]


def test_split_offsets_are_exact_on_hostile_text(hostile_ws: Workspace) -> None:
    arts = _articles(hostile_ws)
    sents = _sentences(hostile_ws)
    for s in sents:
        assert sentence_text(arts[s["article_id"]]["text"][s["start"]:s["end"]]) == s["text"]
        assert not _FORBIDDEN.search(s["text"])
        s["text"].encode("utf-8")
    long = [s for s in sents if s["article_id"] == "long"]
    assert "".join(s["text"] for s in long) == LONG_RUN
    assert max(len(s["text"]) for s in long) <= 300
    one = [s for s in sents if s["article_id"] == "one"]
    assert [(s["text"], s["kind"]) for s in one] == [("好", "heading")]  # context only
    joined = "".join(s["text"] for s in sents if s["article_id"] == "emoji")
    assert "🇨🇳🇺🇸" in joined and "𠀀𠀁" in joined


# --------------------------------------------------------------------------- push + pull


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.labelstudio
def test_push_pull_round_trip_hostile_text(ls_server: Any, hostile_ws: Workspace) -> None:
    client = ls_server.client()
    name = f"hostile-{os.getpid()}"
    # every sentence as a task: the 20,000-character line is cut into identical pieces,
    # which a deduplicated push would send once
    report = push(hostile_ws, name, targets=TARGETS, client=client, dedup=False)
    sents = {s["sentence_id"]: s for s in _sentences(hostile_ws)}
    tasks = ls_tasks(client, report.project_id, "task_only")
    expected = {sid for sid, s in sents.items() if s["kind"] == "sentence"}
    assert sorted(t["data"]["sentence_id"] for t in tasks) == sorted(expected)
    arts = _articles(hostile_ws)
    for t in tasks:
        s = sents[t["data"]["sentence_id"]]
        assert t["data"]["text"] == s["text"], "Label Studio stored a different text"
        assert t["data"]["title"] == (arts[s["article_id"]]["title"] or "")
    stored = {t["data"]["text"] for t in tasks}
    assert any("<script>alert(1)</script>" in x for x in stored)
    assert any("هذه جملة عربية" in x for x in stored)
    assert any("🇨🇳🇺🇸" in x for x in stored)

    # spans over hostile substrings: once with Python offsets, once with the UTF-16
    # offsets a browser sends; both must come back as the same exact text
    needles = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "عربية",
               "עברית", "Z̴̡̛a̵̢l̶̨g̷̛o̸̧", "👍🏽", "🇨🇳🇺🇸", "𠀀𠀁", "数据数据"]
    annotated: dict[int, tuple[str, str]] = {}
    by_text = {t["data"]["text"]: t for t in tasks}
    for needle in needles:
        text = next(x for x in by_text if needle in x)
        task = by_text[text]
        start = text.index(needle)
        end = start + len(needle)
        u_start = _utf16_len(text[:start])
        u_end = u_start + _utf16_len(needle)
        for s0, e0 in {(start, end), (u_start, u_end)}:
            ann = client.create_annotation(task["id"], [
                {"from_name": "claim", "to_name": "text", "type": "choices",
                 "value": {"choices": ["claim"]}},
                {"from_name": "claim_span", "to_name": "text", "type": "labels",
                 "value": {"start": s0, "end": e0, "text": needle, "labels": ["source"]}},
            ])
            annotated[ann["id"]] = (text, needle)
    rep = pull(hostile_ws, name, client=client)
    assert rep.rejected == 0, (hostile_ws.sync_dir / name / "rejects.jsonl").read_text()
    rows = {r["annotation_id"]: r for r in pq.read_table(hostile_ws.annotations).to_pylist()}
    for aid, (text, needle) in annotated.items():
        span = rows[aid]["claim_span"]
        assert len(span) == 1 and span[0]["text"] == needle, (needle, span)
        assert text[span[0]["start"]:span[0]["end"]] == needle
    assert_matches_label_studio(hostile_ws, client, report.project_id, TARGETS)


@pytest.mark.labelstudio
def test_unknown_label_goes_to_rejects_with_reason(ls_server: Any,
                                                   hostile_ws: Workspace) -> None:
    client = ls_server.client()
    name = f"hostile-rej-{os.getpid()}"
    report = push(hostile_ws, name, targets=TARGETS, client=client, limit=2)
    t_ok, t_bad = sorted(t["id"] for t in ls_tasks(client, report.project_id, "task_only"))
    ok = client.create_annotation(t_ok, [{"from_name": "claim", "to_name": "text",
                                          "type": "choices", "value": {"choices": ["unsure"]}}])
    bad = client.create_annotation(t_bad, [{"from_name": "claim", "to_name": "text",
                                            "type": "choices",
                                            "value": {"choices": ["<script>x</script>"]}}])
    rep = pull(hostile_ws, name, client=client)
    assert rep.rejected == 1 and rep.added == 1
    lines = [json.loads(x) for x in
             (hostile_ws.sync_dir / name / "rejects.jsonl").read_text("utf-8").splitlines()]
    assert [x["annotation_id"] for x in lines] == [bad["id"]]
    assert lines[0]["reason"].startswith("'claim': unknown label '<script>x</script>' (schema "
                                         "'claims_stance' v2 allows: claim, no_claim, unsure)")
    assert lines[0]["result"][0]["value"]["choices"] == ["<script>x</script>"]
    ids = pq.read_table(hostile_ws.annotations).column("annotation_id").to_pylist()
    assert ok["id"] in ids and bad["id"] not in ids


# --------------------------------------------------------------------------- schema + manifest


@pytest.mark.parametrize(("yaml_text", "where", "problem"), [
    ("name: x\nversion: 1\nfields:\n  - name: claim\n   kind: single\n", "line 5, column 4",
     "expected <block end>, but found '<block mapping start>'"),
    ("name: x\nversion: 1\nfields: [\n", "line 4, column 1",
     "expected the node content, but found '<stream end>'"),
    ("name: x\nversion: 1\nfields:\n\t- name: claim\n", "line 4, column 1",
     "found character '\\t' that cannot start any token"),
])
def test_malformed_schema_yaml_gives_exact_schema_error(tmp_path: Path, yaml_text: str,
                                                        where: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        load_schema(path)
    assert exc.value.message == f"{path}: malformed YAML at {where}: {problem}"
    assert exc.value.hint == "fix the YAML syntax there (indentation, quotes, colons)"
    assert str(exc.value) == f"{exc.value.message} ({exc.value.hint})"
    assert "\n" not in str(exc.value)


def test_schema_with_a_hostile_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nversion: 1\n'<script>': 1\nfields: []\n", encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        load_schema(path)
    assert exc.value.message == f"{path}: <script>: unknown key '<script>'"


def test_hand_edited_manifest_fails_verify_naming_manifest_json(tmp_path: Path) -> None:
    from factories import make_workspace

    from corpus.cli.main import app
    from corpus.releases.build import release

    ws = make_workspace(tmp_path / "ws", n_sentences=200, annotators_per_sentence=2)
    info = release(ws, "hostile")
    runner = CliRunner()
    res = runner.invoke(app, ["verify", "hostile", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    manifest = info.path / "manifest.json"
    doc = json.loads(manifest.read_text("utf-8"))
    doc["rows"]["train"] += 1                       # a "small fix" by hand
    manifest.chmod(0o644)                           # (released files are read-only)
    manifest.write_text(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                        encoding="utf-8")
    res = runner.invoke(app, ["verify", "hostile", "-w", str(ws.root)])
    assert res.exit_code != 0
    first = res.output.strip().splitlines()[0]
    assert first.startswith("error: ") and str(manifest) in first, res.output
    assert "edited after release" in first
    assert "Traceback" not in res.output
