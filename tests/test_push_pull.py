"""Push and pull against the REAL Label Studio started by the ``ls_server`` fixture."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.errors import LabelStudioError, ServerUnavailable
from corpus.labelschema import load_schema, stance_control_name, target_from_slug
from corpus.labelstudio import annotations as pull_module
from corpus.labelstudio.annotations import pull
from corpus.labelstudio.tasks import build_tasks, push, read_ledger
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds"
TARGETS = ["英伟达", "特朗普"]
_counter = itertools.count()

pytestmark = pytest.mark.labelstudio


def _project(name: str) -> str:
    return f"{name}-{os.getpid()}-{next(_counter)}"


def _tasks(client: Any, project_id: int) -> list[dict[str, Any]]:
    return client.list_tasks(project_id, fields="task_only", page_size=1000)


def test_push_then_repush_imports_nothing(ls_server: Any, seed_ws: Workspace) -> None:
    client = ls_server.client()
    name = _project("push")
    expected = build_tasks(seed_ws)
    sent = pq.read_table(seed_ws.sentences).to_pylist()
    assert len(expected) == sum(1 for s in sent if s["kind"] == "sentence") > 20
    seen: list[tuple[int, int]] = []
    report = push(seed_ws, name, targets=TARGETS, batch_size=16, client=client,
                  progress=lambda d, t: seen.append((d, t)))
    assert report.created and report.imported == len(expected) and report.already == 0
    assert seen[0] == (0, len(expected)) and seen[-1] == (len(expected), len(expected))
    tasks = _tasks(client, report.project_id)
    ids = Counter(t["data"]["sentence_id"] for t in tasks)
    assert sorted(ids) == sorted(t["sentence_id"] for t in expected)
    assert set(ids.values()) == {1}
    # task data as designed; headings are context only
    by_sid = {t["data"]["sentence_id"]: t["data"] for t in tasks}
    first = by_sid[expected[1]["sentence_id"]]
    assert set(first) >= {"text", "title", "context_before", "context_after", "sentence_id",
                          "article_id"}
    assert first["title"].startswith("中企收到通知")
    assert first["context_before"] == expected[0]["text"]
    headings = [s["text"] for s in sent if s["kind"] == "heading"]
    assert not set(headings) & {t["data"]["text"] for t in tasks}
    # project config, instructions, sync state
    proj = client.get_project(report.project_id)
    assert proj["title"] == name
    assert "whenChoiceValue=\"claim\"" in proj["label_config"]
    assert "<HyperText" not in proj["label_config"]
    assert "标注指南" in (proj.get("expert_instruction") or "")
    state = json.loads((seed_ws.sync_dir / name / "project.json").read_text())
    assert state["project_id"] == report.project_id
    assert state["targets"] == TARGETS
    assert state["schema_sha256"] == load_schema().sha256
    assert read_ledger(seed_ws, name) == {t["data"]["sentence_id"]: t["id"] for t in tasks}

    again = push(seed_ws, name, client=client)
    assert again.imported == 0 and again.already == len(expected) and not again.created
    assert again.targets == TARGETS
    assert len(_tasks(client, report.project_id)) == len(expected)

    # a lost ledger is rebuilt from the project, not re-imported
    (seed_ws.sync_dir / name / "ledger.parquet").unlink()
    rebuilt = push(seed_ws, name, client=client)
    assert rebuilt.imported == 0 and rebuilt.reconciled == len(expected)
    assert len(_tasks(client, report.project_id)) == len(expected)


def test_push_limit_and_articles(ls_server: Any, seed_ws: Workspace) -> None:
    client = ls_server.client()
    name = _project("limit")
    total = len(build_tasks(seed_ws))
    r1 = push(seed_ws, name, targets=[], limit=10, client=client)
    assert r1.imported == 10 and r1.remaining == total - 10
    r2 = push(seed_ws, name, client=client)
    assert r2.imported == total - 10 and r2.already == 10
    r3 = push(seed_ws, _project("none"), targets=[], articles=["nope"], client=client)
    assert r3.imported == 0 and r3.candidates == 0


def test_push_killed_midway_never_duplicates(ls_server: Any, seed_ws: Workspace) -> None:
    """SIGKILL right after the first import call, before its ledger write; then re-run."""
    client = ls_server.client()
    name = _project("crash")
    script = textwrap.dedent(f"""
        import os, signal
        from corpus.labelstudio import tasks as P
        from corpus.labelstudio.client import LabelStudioClient
        from corpus.workspace import Workspace
        real_import = LabelStudioClient.import_tasks
        def import_then_die(self, *a, **k):
            ids = real_import(self, *a, **k)
            os.kill(os.getpid(), signal.SIGKILL)   # tasks are in LS, the ledger is not
            return ids
        LabelStudioClient.import_tasks = import_then_die
        client = LabelStudioClient({ls_server.url!r}, {ls_server.token!r})
        P.push({str(seed_ws.root)!r}, {name!r}, targets={TARGETS!r},
               batch_size=7, client=client)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    pending = seed_ws.sync_dir / name / "pending.json"
    assert pending.exists()
    assert read_ledger(seed_ws, name) == {}
    state = json.loads((seed_ws.sync_dir / name / "project.json").read_text())
    assert len(_tasks(client, state["project_id"])) == 7

    report = push(seed_ws, name, client=client, batch_size=7)
    expected = build_tasks(seed_ws)
    assert report.reconciled == 7
    assert report.imported == len(expected) - 7
    assert not pending.exists()
    ids = Counter(t["data"]["sentence_id"] for t in _tasks(client, report.project_id))
    assert len(ids) == len(expected) and set(ids.values()) == {1}


def test_targets_grow_on_an_annotated_project_and_answered_ones_stay(
    ls_server: Any, seed_ws: Workspace, tmp_path: Path
) -> None:
    from corpus.labelstudio.targets import load_targets_file

    client = ls_server.client()
    name = _project("cfg")
    r = push(seed_ws, name, targets=["英伟达"], client=client)
    # no annotations yet: a target change updates the config
    r2 = push(seed_ws, name, targets=TARGETS, client=client)
    assert r2.config_updated and r2.imported == 0
    task_id = next(iter(read_ledger(seed_ws, name).values()))
    nv = stance_control_name("stance", "英伟达")
    client.create_annotation(task_id, [_choice("claim", "claim"), _choice(nv, "favor")])
    before = pull(seed_ws, name, client=client)
    rows_before = pq.read_table(seed_ws.annotations).to_pylist()
    assert before.added == 1

    # annotated: adding a target and aliases (a targets file) updates the project
    targets_file = tmp_path / "targets.yaml"
    targets_file.write_text(
        "targets:\n  - target: 英伟达\n    aliases: [Nvidia, 老黄]\n"
        "  - target: 特朗普\n  - target: 美国\n    description: the government\n",
        encoding="utf-8")
    r3 = push(seed_ws, name, targets=load_targets_file(targets_file), client=client)
    assert r3.config_updated and r3.targets == ["英伟达", "特朗普", "美国"]
    config = client.get_project(r.project_id)["label_config"]
    assert "Nvidia / 老黄" in config and stance_control_name("stance", "美国") in config
    state = json.loads((seed_ws.sync_dir / name / "project.json").read_text())
    assert state["target_details"][0] == {"target": "英伟达", "aliases": ["Nvidia", "老黄"]}
    # the existing annotation is still valid and pulls unchanged
    after = pull(seed_ws, name, client=client, full=True)
    assert after.rejected == 0
    assert pq.read_table(seed_ws.annotations).to_pylist() == rows_before
    # no --targets: the project's own targets (with aliases) are kept
    r4 = push(seed_ws, name, client=client)
    assert not r4.config_updated and r4.targets == r3.targets
    # plain names the project has keep their stored aliases
    r4b = push(seed_ws, name, targets=["英伟达", "特朗普", "美国"], client=client)
    assert not r4b.config_updated
    assert "Nvidia / 老黄" in client.get_project(r.project_id)["label_config"]

    # removing a target that has answers is refused with what to do
    with pytest.raises(LabelStudioError, match="already have answers") as exc:
        push(seed_ws, name, targets=["特朗普", "美国"], client=client)
    assert "英伟达" in exc.value.message and "keep them" in (exc.value.hint or "")
    assert json.loads((seed_ws.sync_dir / name / "project.json").read_text())["targets"] == [
        "英伟达", "特朗普", "美国"]
    # removing one without answers works
    r5 = push(seed_ws, name, targets=["英伟达", "特朗普"], client=client)
    assert r5.config_updated and r.project_id == r5.project_id


def test_new_project_needs_its_targets_chosen(ls_server: Any, seed_ws: Workspace) -> None:
    from corpus.labelstudio.tasks import TargetsNotChosen

    client = ls_server.client()
    name = _project("choose")
    with pytest.raises(TargetsNotChosen) as exc:
        push(seed_ws, name, client=client)
    assert exc.value.suggestions and "--accept-suggested" in (exc.value.hint or "")
    assert not client.list_projects(title=name), "nothing may be created"
    assert not (seed_ws.sync_dir / name / "project.json").exists()
    res = CliRunner().invoke(app, ["push", "-p", name, "-w", str(seed_ws.root)],
                             env={"LABEL_STUDIO_URL": ls_server.url,
                                  "LABEL_STUDIO_API_KEY": ls_server.token})
    assert res.exit_code == 2 and exc.value.suggestions[0] in res.output, res.output
    assert "--targets" in res.output
    accepted = push(seed_ws, name, client=client, accept_suggested=True, limit=1)
    assert accepted.targets_suggested and accepted.targets == exc.value.suggestions


def test_targets_file_errors_name_the_file_and_entry(tmp_path: Path) -> None:
    from corpus.errors import ConfigError
    from corpus.labelstudio.targets import load_targets_file

    cases = {
        "targets:\n  - target: A\n  - target: a\n": "appears twice",
        "targets:\n  - target: A\n    aliases: [B]\n  - target: B\n": "appears twice",
        "targets:\n  - name: A\n": "unknown key",
        "targets:\n  - target: [A]\n": "must be a text",
        "targets:\n  - target: A\n    aliases: 3\n": "list of texts",
        "targets: [\n": "not a readable YAML",
        "other: 1\n": "no `targets:` list",
    }
    for i, (text, message) in enumerate(cases.items()):
        f = tmp_path / f"t{i}.yaml"
        f.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message) as exc:
            load_targets_file(f)
        assert str(f) in exc.value.message
    with pytest.raises(ConfigError, match="cannot read"):
        load_targets_file(tmp_path / "missing.yaml")
    shipped = load_targets_file(SEED / "targets.yaml")
    assert [t.target for t in shipped] == ["英伟达", "特朗普", "美国"]


# --------------------------------------------------------------------------- pull


def _choice(name: str, *values: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices",
            "value": {"choices": list(values)}}


def _span(text: str, start: int, end: int, label: str) -> dict[str, Any]:
    return {"from_name": "claim_span", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def _rows(ws: Workspace) -> dict[int, dict[str, Any]]:
    return {r["annotation_id"]: r for r in pq.read_table(ws.annotations).to_pylist()}


def test_v1_project_pulls_with_the_documented_mapping(ls_server: Any,
                                                     seed_ws: Workspace) -> None:
    """A project pushed before schema v2 (its project.json without ``stance_asked``)
    asked every target on every task and one holder per sentence: pulled with v2, every
    target is asked and the holder goes to each favor/against/neutral answer."""
    from corpus.labelstudio.sync import ProjectSync

    admin = ls_server.client()
    name = _project("v1")
    report = push(seed_ws, name, targets=["英伟达", "特朗普"], client=admin)
    sync = ProjectSync.of(seed_ws, name)
    state = sync.read_state()
    assert state is not None and state.pop("stance_asked") == "mentioned"
    sync.write_state(state)
    tid = sorted(read_ledger(seed_ws, name).values())[0]
    ann = admin.create_annotation(tid, [
        _choice("claim", "claim"), _choice(stance_control_name("stance", "英伟达"), "against"),
        _choice("stance_holder", "quoted_source")])
    assert pull(seed_ws, name, client=admin).added == 1
    row = _rows(seed_ws)[ann["id"]]
    assert row["stance"] == [{"target": "特朗普", "label": None},
                             {"target": "英伟达", "label": "against"}]
    assert row["stance_holder"] == [{"target": "英伟达", "label": "quoted_source"}]
    assert report.project_id == row["ls_project_id"]


def test_pull_two_annotators(ls_server: Any, seed_ws: Workspace) -> None:
    admin = ls_server.client()
    name = _project("pull")
    report = push(seed_ws, name, targets=TARGETS, client=admin)
    email2 = f"annotator-{os.getpid()}-{next(_counter)}@example.org"
    _, token2 = ls_server.add_user(email2)
    other = ls_server.client(token2)
    admin_email = admin.whoami()["email"]

    ledger = read_ledger(seed_ws, name)
    tasks = {t["id"]: t for t in _tasks(admin, report.project_id)}
    tid = sorted(ledger.values())
    t_agree, t_disagree, t_cancel, t_update, t_delete = tid[1:6]
    text = tasks[t_agree]["data"]["text"]
    nv = stance_control_name("stance", "英伟达")

    full_result = [
        _choice("claim", "claim"), _choice("claim_type", "statistic", "comparison"),
        _choice("checkworthy", "yes"), _choice(nv, "against"),
        _choice(stance_control_name("stance_holder", "英伟达"), "author"),
        _span(text, 0, 3, "source"),
        _choice("seg_quality", "ok"),
    ]
    a1 = admin.create_annotation(t_agree, full_result, lead_time=4.0)
    a2 = other.create_annotation(t_agree, full_result, lead_time=6.5)
    d1 = admin.create_annotation(t_disagree, [_choice("claim", "claim")])
    d2 = other.create_annotation(t_disagree, [_choice("claim", "no_claim"),
                                              _choice("claim_type", "quote")])
    c1 = other.create_annotation(t_cancel, [], was_cancelled=True)
    u1 = admin.create_annotation(t_update, [_choice("claim", "unsure")])
    x1 = admin.create_annotation(t_delete, [_choice("claim", "no_claim")])

    first = pull(seed_ws, name, client=admin)
    assert first.added == 7 and first.rejected == 0 and first.total_rows == 7
    rows = _rows(seed_ws)
    assert set(rows) == {a["id"] for a in (a1, a2, d1, d2, c1, u1, x1)}
    r1, r2 = rows[a1["id"]], rows[a2["id"]]
    assert r1["annotator"] == admin_email and r2["annotator"] == email2
    for r in (r1, r2):
        assert r["claim"] == "claim" and r["claim_type"] == ["statistic", "comparison"]
        assert r["checkworthy"] == "yes"
        assert r["stance_holder"] == [{"target": "英伟达", "label": "author"}]
        # schema v2: every target the task mentions was asked; only 英伟达 was answered
        asked = {target_from_slug(k) for k in tasks[t_agree]["data"]["stance_mentioned"]}
        assert r["stance"] == sorted(
            [{"target": t, "label": None} for t in asked - {"英伟达"}]
            + [{"target": "英伟达", "label": "against"}], key=lambda x: str(x["target"]))
        assert r["claim_span"] == [{"start": 0, "end": 3, "label": "source",
                                    "text": text[:3]}]
        assert r["seg_quality"] == "ok"
        assert r["ls_task_id"] == t_agree and r["ls_project_id"] == report.project_id
        assert r["sentence_id"] == tasks[t_agree]["data"]["sentence_id"]
        assert r["schema_version"] == 2 and not r["was_cancelled"] and not r["ground_truth"]
        assert r["created_at"] is not None and r["created_at"].tzinfo is not None
    assert r1["lead_time"] == 4.0 and r2["lead_time"] == 6.5
    assert rows[d1["id"]]["claim"] == "claim" and rows[d1["id"]]["claim_type"] is None
    # the claim_type answer of a no_claim annotation was hidden: dropped
    assert rows[d2["id"]]["claim"] == "no_claim" and rows[d2["id"]]["claim_type"] is None
    assert rows[c1["id"]]["was_cancelled"] and rows[c1["id"]]["claim"] is None
    assert first.label_counts["claim"] == Counter({"claim": 3, "no_claim": 2, "unsure": 1})
    assert first.cancelled == 1

    # nothing changed: incremental pull is a no-op
    again = pull(seed_ws, name, client=admin)
    assert again.added == again.updated == again.removed == 0 and not again.full
    assert again.since is not None

    # update one, delete one
    admin.update_annotation(u1["id"], result=[_choice("claim", "claim"),
                                              _choice("checkworthy", "urgent")])
    admin.delete_annotation(x1["id"])
    inc = pull(seed_ws, name, client=admin)
    assert inc.updated == 1
    rows = _rows(seed_ws)
    assert rows[u1["id"]]["claim"] == "claim" and rows[u1["id"]]["checkworthy"] == "urgent"

    full = pull(seed_ws, name, full=True, client=admin)
    assert full.full
    rows = _rows(seed_ws)
    assert x1["id"] not in rows
    assert len(rows) == 6
    assert inc.removed + full.removed == 1

    # another project's rows are never touched by this project's pulls
    other_name = _project("pull-other")
    r_other = push(seed_ws, other_name, targets=[], client=admin, limit=1)
    t_other = next(iter(read_ledger(seed_ws, other_name).values()))
    admin.create_annotation(t_other, [_choice("claim", "unsure")])
    pull(seed_ws, other_name, client=admin)
    pull(seed_ws, name, full=True, client=admin)
    projects = Counter(r["ls_project_id"] for r in _rows(seed_ws).values())
    assert projects == {report.project_id: 6, r_other.project_id: 1}


def test_pull_rejects_unknown_labels(ls_server: Any, seed_ws: Workspace) -> None:
    admin = ls_server.client()
    name = _project("rejects")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=3)
    t_ok, t_bad, t_bad2 = sorted(read_ledger(seed_ws, name).values())
    ok = admin.create_annotation(t_ok, [_choice("claim", "claim")])
    bad = admin.create_annotation(t_bad, [_choice("claim", "maybe")])
    bad2 = admin.create_annotation(t_bad2, [_choice("sentiment", "positive")])
    report = pull(seed_ws, name, client=admin)
    assert report.rejected == 2 and report.added == 1
    assert set(_rows(seed_ws)) == {ok["id"]}
    lines = [json.loads(x) for x in
             (seed_ws.sync_dir / name / "rejects.jsonl").read_text().splitlines()]
    by_id = {x["annotation_id"]: x for x in lines}
    assert "unknown label 'maybe'" in by_id[bad["id"]]["reason"]
    assert "unknown control 'sentiment'" in by_id[bad2["id"]]["reason"]
    assert by_id[bad["id"]]["result"][0]["value"]["choices"] == ["maybe"]
    # re-pulling does not duplicate rejects; fixing the annotation clears it
    admin.update_annotation(bad["id"], result=[_choice("claim", "no_claim")])
    again = pull(seed_ws, name, client=admin)
    assert again.rejected == 1
    assert set(_rows(seed_ws)) == {ok["id"], bad["id"]}


@pytest.mark.parametrize("failing", ["snapshot", "task_page"])
def test_pull_server_failure_keeps_table(ls_server: Any, seed_ws: Workspace,
                                         failing: str, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """The server fails mid-pull (in the snapshot export of a full pull, or on a later Data
    Manager page of an incremental one): table and watermark stay as they were."""
    admin = ls_server.client()
    name = _project("fail")
    push(seed_ws, name, targets=[], client=admin, limit=3)
    for task_id in read_ledger(seed_ws, name).values():
        admin.create_annotation(task_id, [_choice("claim", "claim")])
    pull(seed_ws, name, client=admin)
    before = seed_ws.annotations.read_bytes()
    wm = (seed_ws.sync_dir / name / "watermark.json").read_bytes()

    class Failing:
        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self.calls = 0

        def __getattr__(self, attr: str) -> Any:
            return getattr(self._inner, attr)

            self.calls = 0

        def snapshot(self, *a: Any, **k: Any) -> Any:
            if failing == "snapshot":
                raise ServerUnavailable("Label Studio went away", hint="start it")
            return self._inner.snapshot(*a, **k)

        def task_page(self, *a: Any, **k: Any) -> Any:
            self.calls += 1  # a page of the changed tasks; the second one fails
            if failing == "task_page" and self.calls == 2:
                raise ServerUnavailable("Label Studio went away", hint="start it")
            return self._inner.task_page(*a, **k)

    for task_id in list(read_ledger(seed_ws, name).values())[:2]:
        admin.create_annotation(task_id, [_choice("claim", "no_claim")])
    wrapped = Failing(admin)
    monkeypatch.setattr(pull_module, "PAGE_SIZE", 1)  # one changed task per page
    with pytest.raises(ServerUnavailable):
        pull(seed_ws, name, full=failing == "snapshot", client=wrapped)
    assert failing == "snapshot" or wrapped.calls == 2
    assert seed_ws.annotations.read_bytes() == before
    assert (seed_ws.sync_dir / name / "watermark.json").read_bytes() == wm


def test_cli_push_pull(ls_server: Any, seed_ws: Workspace, monkeypatch: pytest.MonkeyPatch
                       ) -> None:
    from typer.testing import CliRunner

    from corpus.cli.main import app

    monkeypatch.setenv("LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    name = _project("cli")
    runner = CliRunner()
    res = runner.invoke(app, ["push", "--project", name, "--targets", "英伟达,特朗普",
                              "--limit", "5", "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    assert "5 tasks imported" in res.output
    assert ls_server.token not in res.output
    task_id = next(iter(read_ledger(seed_ws, name).values()))
    ls_server.client().create_annotation(task_id, [_choice("claim", "claim")])
    res = runner.invoke(app, ["pull", "--project", name, "-w", str(seed_ws.root)])
    assert res.exit_code == 0, res.output
    assert "1 added" in res.output and "claim" in res.output
    res = runner.invoke(app, ["pull", "--project", "never-pushed-x", "-w", str(seed_ws.root)])
    assert res.exit_code != 0 and "corpus push --project never-pushed-x" in res.output


def test_pull_right_after_push_fetches_only_annotated(ls_server: Any, seed_ws: Workspace
                                                      ) -> None:
    """Every task was just created (inside the overlap): a pull must not read them all."""
    admin = ls_server.client()
    name = _project("fresh")
    report = push(seed_ws, name, targets=TARGETS, client=admin)
    first = pull(seed_ws, name, client=admin)
    assert first.tasks_fetched == 0 and first.total_rows == 0
    assert (seed_ws.sync_dir / name / "watermark.json").exists()
    tid = sorted(read_ledger(seed_ws, name).values())
    a = admin.create_annotation(tid[2], [_choice("claim", "claim")])
    s = admin.create_annotation(tid[3], [], was_cancelled=True)
    inc = pull(seed_ws, name, client=admin)
    assert not inc.full and inc.since is not None
    assert inc.tasks_fetched == 2 and inc.added == 2  # not the ~all tasks updated by the push
    rows = _rows(seed_ws)
    assert set(rows) == {a["id"], s["id"]} and rows[s["id"]]["was_cancelled"]
    # a full pull reads the same two tasks only
    full = pull(seed_ws, name, full=True, client=admin)
    assert full.tasks_fetched == 2 and full.unchanged == 2 and full.total_rows == 2
    assert report.imported > 20


def test_pull_drops_rows_of_task_whose_last_annotation_was_deleted(
    ls_server: Any, seed_ws: Workspace
) -> None:
    admin = ls_server.client()
    name = _project("emptied")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=6)
    t_one, t_two, t_skip, t_bad, t_keep, _ = sorted(read_ledger(seed_ws, name).values())
    one = admin.create_annotation(t_one, [_choice("claim", "claim")])
    two_a = admin.create_annotation(t_two, [_choice("claim", "claim")])
    two_b = admin.create_annotation(t_two, [_choice("claim", "no_claim")])
    skip = admin.create_annotation(t_skip, [], was_cancelled=True)
    bad = admin.create_annotation(t_bad, [_choice("claim", "maybe")])
    keep = admin.create_annotation(t_keep, [_choice("claim", "unsure")])
    first = pull(seed_ws, name, client=admin)
    assert first.added == 5 and first.rejected == 1

    for ann in (one, two_a, two_b, skip, bad):  # every annotation of four tasks
        admin.delete_annotation(ann["id"])
    inc = pull(seed_ws, name, client=admin)
    assert not inc.full
    assert inc.removed == 4 and inc.added == inc.updated == 0
    assert set(_rows(seed_ws)) == {keep["id"]}
    assert inc.rejected == 0
    assert (seed_ws.sync_dir / name / "rejects.jsonl").read_text() == ""
    # and a later incremental pull with nothing changed keeps it that way
    again = pull(seed_ws, name, client=admin)
    assert again.removed == again.added == 0 and set(_rows(seed_ws)) == {keep["id"]}


def test_pull_pages_by_id_even_if_the_server_caps_page_size(
    ls_server: Any, seed_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server with TASK_API_PAGE_SIZE_MAX answers short pages: none may be taken as the end.
    (Without snapshot exports, as on a server that refuses them, the first pull reads pages.)"""
    import corpus.labelstudio.annotations as pull_mod

    admin = ls_server.client()
    name = _project("capped")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=7)
    tid = sorted(read_ledger(seed_ws, name).values())
    made = {admin.create_annotation(t, [_choice("claim", "claim")])["id"] for t in tid}

    real_page = admin.task_page
    sizes: list[int] = []

    def capped_page(project_id: int, **k: Any) -> Any:
        sizes.append(k.get("page_size", 100))
        k["page_size"] = min(2, k.get("page_size", 100))
        return real_page(project_id, **k)

    def no_snapshot(*a: Any, **k: Any) -> Any:
        raise LabelStudioError("snapshot exports are off", hint="-", status=405)

    monkeypatch.setattr(admin, "task_page", capped_page)
    monkeypatch.setattr(admin, "snapshot", no_snapshot)
    monkeypatch.setattr(pull_mod, "PAGE_SIZE", 3)
    monkeypatch.setattr(pull_mod, "WINDOW", 4)  # several windows, read in parallel
    report = pull(seed_ws, name, client=admin)
    assert 3 in sizes
    assert report.tasks_fetched == 7 and set(_rows(seed_ws)) == made


def test_pull_rereads_the_overlap_only_when_started_inside_it(
    ls_server: Any, seed_ws: Workspace
) -> None:
    """The next pull starts at min(watermark, server read time - overlap)."""
    import time
    from datetime import timedelta

    admin = ls_server.client()
    name = _project("overlap")
    push(seed_ws, name, targets=[], client=admin, limit=4)
    t1, t2, t3, t4 = sorted(read_ledger(seed_ws, name).values())
    for t in (t1, t2):
        admin.create_annotation(t, [_choice("claim", "claim")])
    wide, short = timedelta(seconds=600), timedelta(seconds=1)
    assert pull(seed_ws, name, client=admin, overlap=wide).added == 2
    admin.create_annotation(t3, [_choice("claim", "unsure")])
    # started inside a 600 s overlap of the first two: they are read again
    inside = pull(seed_ws, name, client=admin, overlap=wide)
    assert inside.tasks_fetched == 3 and inside.added == 1 and inside.unchanged == 2
    time.sleep(2.5)
    settled = pull(seed_ws, name, client=admin, overlap=short)  # read > 1 s after t3 changed
    admin.create_annotation(t4, [_choice("claim", "no_claim")])
    after = pull(seed_ws, name, client=admin, overlap=short)
    assert settled.tasks_fetched <= 3 and after.tasks_fetched == 1 and after.added == 1
    wm = json.loads((seed_ws.sync_dir / name / "watermark.json").read_text())
    assert wm["server_time"] is not None


def test_incremental_pull_notices_deleted_tasks(ls_server: Any, seed_ws: Workspace) -> None:
    """Deleting a task leaves no updated_at behind: the incremental pull still drops its rows
    (before, only `--full` did); and an annotated task missing from the table is read again."""
    admin = ls_server.client()
    name = _project("deleted")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=6)
    tid = sorted(read_ledger(seed_ws, name).values())
    made = {t: admin.create_annotation(t, [_choice("claim", "claim")])["id"] for t in tid}
    first = pull(seed_ws, name, client=admin)
    assert first.total_rows == 6
    admin.delete_task(tid[1])
    admin.delete_task(tid[4])
    inc = pull(seed_ws, name, client=admin)
    assert not inc.full and inc.tasks_gone == 2 and inc.removed == 2
    assert set(_rows(seed_ws)) == {made[t] for t in tid if t not in (tid[1], tid[4])}
    assert "2 tasks deleted" in inc.summary()
    # a row lost from the table (e.g. a restored old copy) comes back without --full
    table = pq.read_table(seed_ws.annotations)
    keep = pc.invert(pc.equal(table["ls_task_id"], tid[0]))
    pq.write_table(table.filter(keep), seed_ws.annotations)
    again = pull(seed_ws, name, client=admin)
    assert not again.full and again.added == 1 and again.tasks_gone == 0
    assert made[tid[0]] in _rows(seed_ws)
    quiet = pull(seed_ws, name, client=admin)
    assert quiet.added == quiet.removed == quiet.updated == quiet.tasks_gone == 0


class Recording:
    """The client, with the Data Manager requests and user listings it made."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.pages: list[str] = []
        self.users = 0

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def task_page(self, *a: Any, **k: Any) -> Any:
        self.pages.append(json.dumps(k.get("query") or {}))
        return self._inner.task_page(*a, **k)

    def iter_tasks(self, *a: Any, **k: Any) -> Any:
        self.pages.append(json.dumps(k.get("query") or {}))
        return self._inner.iter_tasks(*a, **k)

    def list_users(self) -> Any:
        self.users += 1
        return self._inner.list_users()

    def listings(self) -> int:
        """How many of the pages were the listing of every annotated task (deletions)."""
        return sum('"conjunction": "or"' in q or '"conjunction":"or"' in q for q in self.pages)


def test_incremental_pull_reads_only_what_changed(ls_server: Any, seed_ws: Workspace) -> None:
    """One page of the changed tasks (with their annotations) and the project's count: no
    listing of every annotated task unless something is missing, no user listing unless an
    annotator is new. Labelling that goes on after the read does not set off that listing;
    a surplus with nothing changing (rows lost here) does, and a deletion does."""
    admin = ls_server.client()
    short = timedelta(seconds=1)
    name = _project("cheap")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=6)
    tid = sorted(read_ledger(seed_ws, name).values())
    for t in tid[:3]:
        admin.create_annotation(t, [_choice("claim", "claim")])
    pull(seed_ws, name, client=admin, overlap=short)
    time.sleep(1.1)
    admin.create_annotation(tid[3], [_choice("claim", "no_claim")])
    rec = Recording(admin)
    got = pull(seed_ws, name, client=rec, overlap=short)
    assert got.added == 1
    assert len(rec.pages) == 1 and rec.listings() == 0 and rec.users == 0

    # labelling after the read: the server counts one more than we hold, and a task
    # changed after what we read: the next pull reads it, this one lists nothing more
    class LateAnnotation(Recording):
        def project_counts(self, *a: Any, **k: Any) -> Any:
            if not self.late:
                self.late.append(admin.create_annotation(tid[4], [_choice("claim", "claim")]))
            return self._inner.project_counts(*a, **k)

    late = LateAnnotation(admin)
    late.late = []
    during = pull(seed_ws, name, client=late, overlap=short)
    assert late.late and late.listings() == 0 and during.tasks_gone == 0
    after = pull(seed_ws, name, client=admin, overlap=short)
    assert after.added >= 1 and late.late[0]["id"] in _rows(seed_ws)

    # rows lost here while nothing changes on the server: found and read again
    time.sleep(2.5)
    pull(seed_ws, name, client=admin, overlap=short)
    table = pq.read_table(seed_ws.annotations)
    pq.write_table(table.filter(pc.invert(pc.equal(table["ls_task_id"], tid[0]))),
                   seed_ws.annotations)
    rec = Recording(admin)
    back = pull(seed_ws, name, client=rec, overlap=short)
    assert back.added == 1 and rec.listings() >= 1

    # a deletion: fewer on the server than we hold
    admin.delete_task(tid[2])
    rec = Recording(admin)
    gone = pull(seed_ws, name, client=rec, overlap=short)
    assert gone.tasks_gone == 1 and gone.removed == 1 and rec.listings() >= 1
    rec = Recording(admin)
    quiet = pull(seed_ws, name, client=rec, overlap=short)
    assert quiet.added == quiet.removed == quiet.tasks_gone == 0 and rec.listings() == 0


def test_push_and_pull_with_your_own_sdk_client(ls_server: Any, seed_ws: Workspace) -> None:
    """A `label_studio_sdk.LabelStudio` of the user's goes straight into push and pull."""
    from label_studio_sdk import LabelStudio

    sdk = LabelStudio(base_url=ls_server.url, api_key=ls_server.token)
    name = _project("own-sdk")
    rep = push(seed_ws, name, targets=TARGETS, client=sdk, limit=3)
    assert rep.imported == 3 and rep.url == ls_server.url
    tid = sorted(read_ledger(seed_ws, name).values())
    sdk.annotations.create(tid[0], result=[_choice("claim", "unsure")])
    got = pull(seed_ws, name, client=sdk)
    assert got.added == 1 and got.label_counts["claim"] == Counter({"unsure": 1})
    assert not sdk._client_wrapper.httpx_client.httpx_client.is_closed


def test_predictions_and_users_through_the_sdk(ls_server: Any, seed_ws: Workspace) -> None:
    admin = ls_server.client()
    name = _project("pred")
    push(seed_ws, name, targets=TARGETS, client=admin, limit=1)
    (task_id,) = read_ledger(seed_ws, name).values()
    made = admin.create_prediction(task_id, [_choice("claim", "claim")], model_version="m1",
                                   score=0.75)
    got = admin.list_predictions(task_id)
    assert [p["id"] for p in got] == [made["id"]]
    assert got[0]["model_version"] == "m1" and got[0]["score"] == 0.75
    assert got[0]["result"][0]["value"]["choices"] == ["claim"]
    me = admin.whoami()
    assert any(u["id"] == me["id"] for u in admin.list_users())


def test_label_counts_count_every_value_of_every_kind() -> None:
    """The summary's counts (Arrow, vectorised) equal a row-by-row count; skipped
    annotations and empty answers count nothing; an empty table gives empty counters."""
    import random

    import pyarrow as pa

    from corpus.labelschema import annotation_arrow_schema
    from corpus.labelstudio.annotations import label_counts

    schema = load_schema()
    arrow = annotation_arrow_schema(schema)
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    expected: dict[str, Counter[str]] = {f.name: Counter() for f in schema.fields}
    for i in range(300):
        cancelled = rng.random() < 0.1
        row: dict[str, Any] = {"annotation_id": i, "was_cancelled": cancelled}
        for f in schema.fields:
            values = list(f.values) or ["x"]
            got: list[str]
            if f.kind == "single":
                v = rng.choice([*values, None])
                row[f.name], got = v, ([] if v is None else [v])
            elif f.kind == "multi":
                row[f.name] = got = rng.sample(values, rng.randint(0, min(2, len(values))))
            elif f.kind == "stance":
                pairs = [{"target": t, "label": rng.choice(values)}
                         for t in rng.sample(["英伟达", "Nvidia", "AMD"], rng.randint(0, 2))]
                row[f.name] = pairs
                got = [f"{p['target']}:{p['label']}" for p in pairs]
            else:
                spans = [{"start": 0, "end": 1, "text": "a", "label": rng.choice(values)}
                         for _ in range(rng.randint(0, 2))]
                row[f.name], got = spans, [s["label"] for s in spans]
            if not cancelled:
                expected[f.name].update(got)
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=arrow)
    assert label_counts(table, schema) == expected
    assert any(expected[f.name] for f in schema.fields if f.kind == "stance")
    assert label_counts(arrow.empty_table(), schema) == {f.name: Counter()
                                                         for f in schema.fields}


def test_release_ships_what_annotators_saw_and_where_each_row_came_from(
        ls_server: Any, seed_ws: Workspace) -> None:
    """The version folder holds the label config and guidelines the project was pushed
    with (byte for byte what Label Studio serves), listed and hashed in the manifest; each
    released row carries its article's source and publication date."""
    from corpus.labelstudio.render import guidelines_path
    from corpus.releases.build import release
    from corpus.releases.manifest import read_manifest
    from corpus.releases.reader import load, verify

    admin = ls_server.client()
    name = _project("screen")
    rep = push(seed_ws, name, targets=TARGETS, client=admin, limit=3)
    for t in read_ledger(seed_ws, name).values():
        admin.create_annotation(t, [_choice("claim", "claim")])
    pull(seed_ws, name, client=admin)
    info = release(seed_ws, name, projects=[name], split_ratios="1,0,0")
    folder = Path(info.path) / "docs" / "projects" / name
    served = admin.get_project(rep.project_id)["label_config"]
    assert (folder / "label_config.xml").read_text(encoding="utf-8").strip() == served.strip()
    guidelines = (folder / "guidelines.md").read_text(encoding="utf-8")
    assert guidelines == guidelines_path().read_text(encoding="utf-8") and guidelines.strip()
    files = read_manifest(Path(info.path))["files"]
    assert f"docs/projects/{name}/label_config.xml" in files
    assert f"docs/projects/{name}/guidelines.md" in files
    assert f"docs/projects/{name}/guidelines.md" in (Path(info.path) / "README.md").read_text()
    assert verify(Path(info.path)) == [info.version]
    rows = load(Path(info.path), split="train").to_pylist()
    articles = {r["article_id"]: r for r in pq.read_table(seed_ws.articles).to_pylist()}
    assert rows and all(r["source"] == articles[r["article_id"]]["source"] and r["source"]
                        for r in rows)
    assert all(r["published_at"] == articles[r["article_id"]]["published_at"] for r in rows)
