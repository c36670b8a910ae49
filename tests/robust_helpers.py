"""Helpers shared by the load, crash, hostile-input and secrets tests (issue 6).

- ``make_workspace``: many synthetic articles from the seed article (numbers varied per
  article) through the real ``corpus.ingest.ingest``; sentences from the real segmenter,
  written with ``corpus.storage.tables.SENTENCE_SCHEMA`` (jieba tokens skipped: too slow for 20k
  sentences on a loaded machine; ``tokens`` are whitespace splits);
- ``random_result``: a random annotation ``result`` that is valid for the label schema;
- ``ls_annotations`` / ``assert_matches_label_studio``: Label Studio's own state of a
  project, read independently of ``corpus.labelstudio.annotations``, compared exactly with
  ``annotations.parquet``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.labelschema import (
    LabelSchema,
    load_schema,
    parse_result,
    stance_control_name,
    target_slug,
)
from corpus.labelstudio.client import LabelStudioClient
from corpus.sentences import append_sentence, empty_columns
from corpus.storage.tables import SENTENCE_SCHEMA
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_68e5fa63c6607158.txt"
TARGETS = ["英伟达", "特朗普"]
_DIGITS = re.compile(r"\d+")


def seed_variant(i: int, base: str | None = None) -> str:
    """The seed article with every number replaced by one derived from ``i``."""
    base = base if base is not None else SEED.read_text(encoding="utf-8")
    counter = iter(range(10**9))
    return _DIGITS.sub(lambda m: str((int(m.group()) * 7 + i * 13 + next(counter)) % 10000),
                       base)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def fast_split(ws: Workspace) -> int:
    """sentences.parquet from articles.parquet with the real segmenter, no jieba."""
    from corpus.text.segmenter import segment

    arts = pq.read_table(ws.articles, columns=["article_id", "text", "lang"]).to_pylist()
    cols = empty_columns()
    for a in arts:
        for s in segment(a["text"], a["lang"] or None):
            append_sentence(cols, a["article_id"], s, a["lang"], tokens=s.text.split(),
                            article_text=a["text"])
    table = pa.Table.from_pydict(cols, schema=SENTENCE_SCHEMA)
    pq.write_table(table, ws.sentences, compression="zstd")
    return table.num_rows


def make_workspace(root: Path, n_articles: int) -> Workspace:
    """A workspace with ``n_articles`` seed variants ingested and split (no jieba)."""
    from corpus.articles.ingestion import ingest

    base = SEED.read_text(encoding="utf-8")
    src = write_jsonl(root / "src" / "articles.jsonl", [
        {"id": f"art{i:05d}", "title": f"第{i}篇 {base.splitlines()[0][:20]}",
         "text": seed_variant(i, base)} for i in range(n_articles)])
    ws = Workspace(root / "ws").ensure()
    report = ingest([src], ws)
    assert not report.failed, report.errors
    fast_split(ws)
    return ws


def sentence_count(ws: Workspace) -> int:
    kinds = pq.read_table(ws.sentences, columns=["kind"]).column(0).to_pylist()
    return sum(1 for k in kinds if k == "sentence")


def sentence_ids(ws: Workspace) -> set[str]:
    t = pq.read_table(ws.sentences, columns=["sentence_id", "kind"]).to_pylist()
    return {r["sentence_id"] for r in t if r["kind"] == "sentence"}


# --------------------------------------------------------------------------- results


def random_result(schema: LabelSchema, text: str, targets: list[str],
                  rng: random.Random) -> list[dict[str, Any]]:
    """A random ``result`` list that ``parse_result`` accepts for ``schema``."""
    out: list[dict[str, Any]] = []
    chosen: dict[str, Any] = {}
    for f in schema.fields:
        if f.shown_when is not None:
            dep, val = f.shown_when
            if chosen.get(dep) != val:
                continue
        if not f.required and rng.random() < 0.3:
            continue
        if f.kind == "single":
            v = rng.choice(f.values)
            chosen[f.name] = v
            out.append({"from_name": f.name, "to_name": "text", "type": "choices",
                        "value": {"choices": [v]}})
        elif f.kind == "multi":
            vs = rng.sample(list(f.values), rng.randint(1, min(3, len(f.values))))
            out.append({"from_name": f.name, "to_name": "text", "type": "choices",
                        "value": {"choices": vs}})
        elif f.kind == "stance":
            for t in targets:
                if rng.random() < 0.7:
                    out.append({"from_name": stance_control_name(f, t), "to_name": "text",
                                "type": "choices", "value": {"choices": [rng.choice(f.values)]}})
        elif f.kind == "spans" and len(text) >= 2:
            for _ in range(rng.randint(1, 2)):
                a = rng.randrange(0, len(text) - 1)
                b = rng.randint(a + 1, min(len(text), a + 12))
                out.append({"from_name": f.name, "to_name": "text", "type": "labels",
                            "value": {"start": a, "end": b, "text": text[a:b],
                                      "labels": [rng.choice(f.values)]}})
    return out


# --------------------------------------------------------------------------- LS state


def ls_tasks(client: LabelStudioClient, project_id: int, fields: str = "all"
             ) -> list[dict[str, Any]]:
    """Every task of the project via the plain paged /api/tasks (no Data Manager filter)."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.request("GET", "/api/tasks/", params={
            "project": project_id, "page": page, "page_size": 1000, "fields": fields})
        tasks = body.get("tasks") or []
        out.extend(tasks)
        if not tasks or len(out) >= int(body.get("total") or 0):
            return out
        page += 1


def tasks_per_sentence(client: LabelStudioClient, project_id: int) -> Counter[str]:
    return Counter(t["data"]["sentence_id"] for t in ls_tasks(client, project_id, "task_only"))


def ls_annotations(client: LabelStudioClient, project_id: int) -> dict[int, dict[str, Any]]:
    """annotation id -> annotation (+ ``_task``) from Label Studio's synchronous JSON export.

    The export is a different code path than the Data Manager pages that pull reads.
    """
    body = client.export(project_id, "JSON", timeout=900)
    users = {int(u["id"]): u["email"] for u in client.list_users()}
    out: dict[int, dict[str, Any]] = {}
    for task in body:
        for ann in task.get("annotations") or []:
            by = ann.get("completed_by")
            if isinstance(by, dict):
                email = by.get("email")
            else:
                email = users.get(int(by)) if by is not None else None
            out[int(ann["id"])] = {**ann, "_task": task, "_email": email}
    return out


def _rejected_ids(ws: Workspace, project_id: int) -> set[int]:
    out: set[int] = set()
    for path in ws.sync_dir.glob("*/rejects.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("ls_project_id") == project_id:
                    out.add(int(r["annotation_id"]))
    return out


def assert_matches_label_studio(ws: Workspace, client: LabelStudioClient, project_id: int,
                                targets: list[str], schema: LabelSchema | None = None) -> int:
    """annotations.parquet rows of ``project_id`` == Label Studio's annotations, exactly.

    An annotation the schema refuses must be in the project's rejects.jsonl instead.
    Returns the number of annotations in the table.
    """
    from corpus.errors import SchemaError

    schema = schema or load_schema()
    truth = ls_annotations(client, project_id)
    expected: dict[int, dict[str, Any]] = {}
    refused: set[int] = set()
    for aid, ann in truth.items():
        try:
            data = ann["_task"]["data"]
            lists = data.get("stance_mentioned")   # schema v2: the targets the task names
            mentioned = None if lists is None else [t for t in targets
                                                     if lists.get(target_slug(t))]
            expected[aid] = parse_result(schema, ann.get("result") or [], data["text"],
                                         targets=targets, mentioned=mentioned)
        except SchemaError:
            refused.add(aid)
    assert _rejected_ids(ws, project_id) == refused, "rejects.jsonl != refused annotations"
    rows = pq.read_table(ws.annotations).to_pylist() if ws.annotations.exists() else []
    mine = [r for r in rows if r["ls_project_id"] == project_id]
    ids = [r["annotation_id"] for r in mine]
    assert len(ids) == len(set(ids)), "duplicate annotation ids in annotations.parquet"
    got = {r["annotation_id"]: r for r in mine}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing and not extra, (
        f"{len(missing)} annotations missing from annotations.parquet (e.g. {missing[:5]}), "
        f"{len(extra)} extra (e.g. {extra[:5]}); LS has {len(expected)} valid, table has "
        f"{len(got)}")
    field_names = [f.name for f in schema.fields]
    for aid, want in expected.items():
        ann, row = truth[aid], got[aid]
        task = ann["_task"]
        assert row["ls_task_id"] == task["id"]
        assert row["sentence_id"] == task["data"]["sentence_id"]
        assert row["annotator"] == ann["_email"], (aid, row["annotator"], ann["_email"])
        assert row["was_cancelled"] == bool(ann.get("was_cancelled"))
        have = {k: row[k] for k in field_names}
        assert have == want, f"annotation {aid}: table {have} != Label Studio {want}"
    return len(got)


# --------------------------------------------------------------------------- churn


def churn_main() -> None:
    """Create, update and delete annotations as several users until a stop file appears.

    Run in a separate process (``python -c 'import robust_helpers; ...churn_main()'``);
    configured through the environment (tokens never in argv): CHURN_URL, CHURN_TOKENS
    (JSON list), CHURN_WS, CHURN_PROJECT, CHURN_STOP, CHURN_SEED, CHURN_TARGETS.
    Prints a JSON count of operations when it stops.
    """
    import os
    import sys
    import time

    from corpus.errors import CorpusError
    from corpus.labelstudio.tasks import read_ledger

    env = os.environ
    url, tokens = env["CHURN_URL"], json.loads(env["CHURN_TOKENS"])
    ws, project = Workspace(Path(env["CHURN_WS"])), env["CHURN_PROJECT"]
    stop = Path(env["CHURN_STOP"])
    targets = json.loads(env.get("CHURN_TARGETS", "[]"))
    rng = random.Random(int(env.get("CHURN_SEED", "1")))
    schema = load_schema()
    clients = [LabelStudioClient(url, t, attempts=3, backoff=0.2) for t in tokens]
    texts = {r["sentence_id"]: r["text"] for r in
             pq.read_table(ws.sentences, columns=["sentence_id", "text"]).to_pylist()}
    own: list[dict[int, int]] = [{} for _ in tokens]  # annotation id -> task id, per user
    task_text: dict[int, str] = {}
    hot: list[int] = []
    ops: Counter[str] = Counter()
    last_refresh = 0.0
    live = stop.with_name(stop.name + ".ops")  # the counts so far, for the test to watch
    while not stop.exists():
        if time.monotonic() - last_refresh > 2.0:
            tmp = live.with_name(live.name + ".tmp")
            tmp.write_text(json.dumps(dict(ops)), encoding="utf-8")
            os.replace(tmp, live)
            try:
                ledger = read_ledger(ws, project)
            except CorpusError:
                ops["ledger_unreadable"] += 1  # must never happen: atomic writes
                ledger = {}
            task_text.update({tid: texts[sid] for sid, tid in ledger.items()})
            ids = sorted(task_text)
            hot = ids[: 300] + ids[-50:]
            last_refresh = time.monotonic()
        if not hot:
            time.sleep(0.2)
            continue
        u = rng.randrange(len(clients))
        c = clients[u]
        r = rng.random()
        try:
            if r < 0.55 or not own[u]:
                tid = rng.choice(hot) if rng.random() < 0.8 else rng.choice(list(task_text))
                if rng.random() < 0.05:
                    ann = c.create_annotation(tid, [], was_cancelled=True)
                else:
                    ann = c.create_annotation(tid, random_result(schema, task_text[tid], targets,
                                                                 rng),
                                              lead_time=round(rng.uniform(1, 30), 2))
                own[u][int(ann["id"])] = tid
                ops["create"] += 1
            elif r < 0.8:
                aid = rng.choice(list(own[u]))
                tid = own[u][aid]
                c.update_annotation(aid, result=random_result(schema, task_text[tid], targets,
                                                              rng))
                ops["update"] += 1
            else:
                aid = rng.choice(list(own[u]))
                c.delete_annotation(aid)
                del own[u][aid]
                ops["delete"] += 1
        except CorpusError as exc:
            ops["error"] += 1
            print(f"churn: {type(exc).__name__}: {exc.message}", file=sys.stderr)
            time.sleep(0.2)
    for c in clients:
        c.close()
    print(json.dumps(dict(ops)))


def start_churn(url: str, tokens: list[str], ws: Workspace, project: str, stop: Path,
                targets: list[str], seed: int = 1) -> Any:
    """``churn_main`` in a subprocess; returns the Popen (stdout/stderr piped)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CHURN_URL": url, "CHURN_TOKENS": json.dumps(tokens),
           "CHURN_WS": str(ws.root), "CHURN_PROJECT": project, "CHURN_STOP": str(stop),
           "CHURN_SEED": str(seed), "CHURN_TARGETS": json.dumps(targets, ensure_ascii=False)}
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import robust_helpers; robust_helpers.churn_main()")
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_churn(proc: Any, stop: Path, timeout: float = 120) -> dict[str, int]:
    stop.touch()
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert lines, (out, err[-2000:])
    ops: dict[str, int] = json.loads(lines[-1])
    assert not ops.get("ledger_unreadable"), ops
    return ops
