"""Benchmark push and pull against the EMBEDDED Label Studio, each against a same-run
comparison.

Starts its own Label Studio in a temporary workspace (stopped at the end unless
``--keep``), then:

1. push N synthetic sentences (seed-derived; one task each)       -> tasks/s,
   vs the server's bare import endpoint: the same payloads in the same batches
   POSTed straight to ``/api/projects/<id>/import`` of a second project (>= 90%)
2. re-push the same N (nothing to import)                         -> seconds
3. baseline: annotate every task in bulk (predictions imported, then Label
   Studio's "Create Annotations From Predictions" action)
4. first pull (timed) vs Label Studio's full JSON export of the same project
   (timed in the same run; pull must not be slower) and vs the previous pull path
   (every Data Manager column, timed on a sample of tasks and scaled)
5. change ``--changed`` tasks (new annotations through the API); incremental pull
   (<= 0.5 s); the annotations table is checked against the export
6. delete ``--deleted`` tasks; incremental pull (no ``--full``) drops their rows
7. optionally a ``--full`` pull (timed)

    .venv/bin/python tools/bench_labelstudio.py [--tasks 20000] [--changed 100] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from corpus.labelschema import load_schema, stance_control_name  # noqa: E402
from corpus.labelstudio import connection as ls_connection  # noqa: E402
from corpus.labelstudio import install, server  # noqa: E402
from corpus.labelstudio.annotations import OVERLAP, pull, read_annotations  # noqa: E402
from corpus.labelstudio.client import LabelStudioClient  # noqa: E402
from corpus.labelstudio.render import render_label_config  # noqa: E402
from corpus.labelstudio.tasks import (  # noqa: E402
    DEFAULT_BATCH_SIZE,
    build_tasks,
    push,
    read_ledger,
)
from corpus.sentences import append_sentence, empty_columns  # noqa: E402
from corpus.storage.atomic import write_table  # noqa: E402
from corpus.storage.tables import SENTENCE_SCHEMA, article_id_for  # noqa: E402
from corpus.text.segmenter import segment  # noqa: E402
from corpus.workspace import Workspace  # noqa: E402

PROJECT = "bench"
TARGETS = ["英伟达", "特朗普"]
MODEL_VERSION = "bench-baseline"
T = TypeVar("T")


def say(msg: str) -> None:
    print(msg, flush=True)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------- data


def write_sentences(ws: Workspace, n: int) -> int:
    """sentences.parquet with ``n`` sentences: the seed article's, repeated as new articles."""
    seed = next(iter(sorted((REPO / "seeds").glob("*.txt"))))
    text = seed.read_text(encoding="utf-8")
    base = [s for s in segment(text) if s.kind == "sentence"]
    cols = empty_columns()
    copy = 0
    while len(cols["sentence_id"]) < n:
        article_id = article_id_for(f"{copy}\n{text}")
        for s in base:
            if len(cols["sentence_id"]) >= n:
                break
            append_sentence(cols, article_id, replace(s, kind="sentence"), "zh", tokens=[],
                            article_text=text)
        copy += 1
    write_table(ws.sentences, pa.table(cols, schema=SENTENCE_SCHEMA))
    return len(cols["sentence_id"])


def choice(name: str, *values: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "text", "type": "choices",
            "value": {"choices": list(values)}}


def result_for(i: int) -> list[dict[str, Any]]:
    """A valid result per the schema, varied by ``i``."""
    kind = i % 4
    if kind == 0:
        return [choice("claim", "no_claim")]
    if kind == 1:
        return [choice("claim", "unsure"), choice("seg_quality", "ok")]
    nv = stance_control_name("stance", TARGETS[0])
    return [choice("claim", "claim"), choice("claim_type", "statistic"),
            choice("checkworthy", "yes" if kind == 2 else "urgent"), choice(nv, "against"),
            choice(stance_control_name("stance_holder", TARGETS[0]), "author")]


def annotate_all(client: LabelStudioClient, project_id: int, task_ids: list[int]) -> None:
    """One annotation per task in bulk: import predictions, then convert them (DM action)."""
    for lo in range(0, len(task_ids), 5000):
        client.request("POST", f"/api/projects/{project_id}/import/predictions",
                       json_body=[{"task": t, "result": result_for(t),
                                   "model_version": MODEL_VERSION}
                                  for t in task_ids[lo:lo + 5000]],
                       timeout=600)
    client.request("POST", "/api/dm/actions",
                   params={"id": "predictions_to_annotations", "project": project_id},
                   json_body={"selectedItems": {"all": True, "excluded": []},
                              "model_version": MODEL_VERSION},
                   timeout=1200)


def export_annotation_ids(export: Any) -> set[int]:
    return {int(a["id"]) for task in export for a in task.get("annotations") or []}


def bare_import(client: LabelStudioClient, ws: Workspace, schema: Any) -> tuple[int, float]:
    """The push payloads in push's batches, POSTed straight to a fresh project's import
    endpoint with a plain httpx client: (tasks, seconds spent in the POSTs)."""
    import httpx

    config = render_label_config(schema, TARGETS)
    proj = client.create_project(f"{PROJECT}-bare", config)
    tasks = [{"data": t} for t in build_tasks(ws)]
    secs = 0.0
    with httpx.Client(base_url=client.url, timeout=600,
                      headers={"Authorization": f"Token {client._token}"}) as http:
        for lo in range(0, len(tasks), DEFAULT_BATCH_SIZE):
            t0 = time.perf_counter()
            r = http.post(f"/api/projects/{proj['id']}/import",
                          params={"return_task_ids": "true"},
                          json=tasks[lo:lo + DEFAULT_BATCH_SIZE])
            secs += time.perf_counter() - t0
            r.raise_for_status()
    client.delete_project(int(proj["id"]))
    return len(tasks), secs


def old_pull_rate(client: LabelStudioClient, project_id: int, sample: int) -> float:
    """Seconds per task of the previous pull path: Data Manager pages with every column
    (``fields=all``, 200 per page), timed on ``sample`` tasks."""
    t0 = time.perf_counter()
    n = 0
    for page in range(1, sample // 200 + 1):
        n += len(client.task_page(project_id, page=page, page_size=200, fields="all")["tasks"])
    return (time.perf_counter() - t0) / max(1, n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=20000, help="sentences to push (default 20000)")
    ap.add_argument("--changed", type=int, default=100,
                    help="tasks changed between the baseline and the incremental pull")
    ap.add_argument("--deleted", type=int, default=10,
                    help="tasks deleted before the last incremental pull")
    ap.add_argument("--sample", type=int, default=2000,
                    help="tasks read the previous way to time it (scaled to --tasks)")
    ap.add_argument("--no-full", action="store_true", help="skip the timed --full pull")
    ap.add_argument("--keep", action="store_true",
                    help="leave the server (and its workspace) running at the end")
    ap.add_argument("--workspace", type=Path, default=None,
                    help="use this (new or empty) folder instead of a temporary one")
    args = ap.parse_args(argv)
    for key in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        os.environ.pop(key, None)  # always the embedded server

    root = args.workspace or Path(tempfile.mkdtemp(prefix="bench-ls-"))
    ws = Workspace(root).ensure()
    figures: list[tuple[str, str, str]] = []  # (what, value, target/status)
    say(f"workspace {root}; {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    n = write_sentences(ws, args.tasks)
    say(f"{n} sentences written")
    install.ensure_installed()
    info, secs = timed(lambda: server.start(ws, timeout=300))
    say(f"Label Studio at {info.url} ({secs:.1f} s to start)")
    ok = True
    try:
        client = LabelStudioClient.from_connection(ls_connection.connection(ws), timeout=600)
        schema = load_schema()

        # 1. push vs the bare import endpoint
        rep, wall = timed(lambda: push(ws, PROJECT, targets=TARGETS, client=client))
        rate = rep.rate
        n_bare, bare_secs = bare_import(client, ws, schema)
        bare_rate = n_bare / bare_secs
        share = rate / bare_rate
        met = share >= 0.9
        ok &= met
        say(f"push: {rep.imported} tasks in {rep.seconds:.1f} s of import ({wall:.1f} s wall) "
            f"= {rate:,.0f} tasks/s; bare import endpoint {bare_rate:,.0f} tasks/s "
            f"({n_bare} in {bare_secs:.1f} s) -> {share:.0%}  [{'met' if met else 'MISSED'}: "
            ">= 90%]")
        figures.append(("push", f"{rate:,.0f} tasks/s ({rep.imported} in {rep.seconds:.1f} s)", ""))
        figures.append(("bare import endpoint", f"{bare_rate:,.0f} tasks/s", ""))
        figures.append(("push / bare import", f"{share:.0%}",
                        f">= 90%  {'met' if met else 'MISSED'}"))

        # 2. re-push
        rep2, wall2 = timed(lambda: push(ws, PROJECT, client=client))
        met = wall2 <= 5 and rep2.imported == 0
        ok &= met
        say(f"re-push: {rep2.imported} imported, {rep2.already} already there, {wall2:.2f} s  "
            f"[{'met' if met else 'MISSED'}: <= 5 s]")
        figures.append(("re-push", f"{wall2:.2f} s", f"<= 5 s  {'met' if met else 'MISSED'}"))

        project_id = rep.project_id
        task_ids = sorted(read_ledger(ws, PROJECT).values())

        # 3. baseline
        _, secs = timed(lambda: annotate_all(client, project_id, task_ids))
        say(f"baseline: {len(task_ids)} tasks annotated in bulk in {secs:.1f} s")
        # a pull started within OVERLAP of a change re-reads that change once (late
        # commits); a lead does not pull seconds after a bulk action, so neither do we
        time.sleep(OVERLAP.total_seconds() + 1)

        # 4. first pull vs export vs the previous way
        base, t_first = timed(lambda: pull(ws, PROJECT, client=client, schema=schema))
        say(f"first pull: {base.summary()}")
        export, t_export = timed(lambda: client.export(project_id, "JSON", timeout=1800))
        say(f"full JSON export: {len(export)} tasks in {t_export:.1f} s")
        per_task = old_pull_rate(client, project_id, min(args.sample, len(task_ids)))
        t_old = per_task * len(task_ids)
        vs_export = t_export / t_first
        vs_old = t_old / t_first
        met_export, met_old, met_30 = vs_export >= 1, vs_old >= 5, t_first <= 30
        ok &= met_export and met_old and met_30
        say(f"first pull {t_first:.1f} s; export {t_export:.1f} s ({vs_export:.2f}x); previous "
            f"way {per_task * 1000:.2f} ms/task = {t_old:.0f} s ({vs_old:.1f}x)")
        figures.append(("first pull", f"{t_first:.1f} s ({base.total_rows} annotations)",
                        f"<= 30 s  {'met' if met_30 else 'MISSED'}"))
        figures.append(("full JSON export", f"{t_export:.1f} s ({len(export)} tasks)", ""))
        figures.append(("export / first pull", f"{vs_export:.2f}x",
                        f">= 1x  {'met' if met_export else 'MISSED'}"))
        figures.append(("previous pull path", f"{t_old:.0f} s ({per_task * 1000:.2f} ms/task "
                        f"on {args.sample})", ""))
        figures.append(("previous / first pull", f"{vs_old:.1f}x",
                        f">= 5x  {'met' if met_old else 'MISSED'}"))

        # 5. change, incremental pull, check against the export
        step = max(1, len(task_ids) // max(1, args.changed))
        changed = task_ids[::step][:args.changed]
        _, secs = timed(lambda: [client.create_annotation(t, result_for(t + 1), lead_time=3.0)
                                 for t in changed])
        say(f"changed {len(changed)} tasks (new annotations via the API) in {secs:.1f} s")
        time.sleep(OVERLAP.total_seconds() + 1)
        inc, t_pull = timed(lambda: pull(ws, PROJECT, client=client, schema=schema))
        say(f"incremental pull: {inc.summary()}")
        met = t_pull <= 0.5
        ok &= met
        figures.append(("incremental pull", f"{t_pull:.2f} s ({inc.tasks_fetched} tasks, "
                        f"{inc.added} added)", f"<= 0.5 s  {'met' if met else 'MISSED'}"))
        export = client.export(project_id, "JSON", timeout=1800)
        pulled = set(read_annotations(ws, schema).column("annotation_id").to_pylist())
        exported = export_annotation_ids(export)
        same = pulled == exported
        ok &= same
        say(f"check: annotations table {'equals' if same else 'DIFFERS FROM'} the export "
            f"({len(pulled)} vs {len(exported)} annotation ids)")
        figures.append(("table == export", "yes" if same else "NO", ""))

        # 6. deleted tasks, incremental pull
        gone = task_ids[1::max(1, len(task_ids) // max(1, args.deleted))][:args.deleted]
        for t in gone:
            client.delete_task(t)
        dele, t_del = timed(lambda: pull(ws, PROJECT, client=client, schema=schema))
        left = set(read_annotations(ws, schema).column("ls_task_id").to_pylist())
        met = dele.tasks_gone == len(gone) and not (left & set(gone))
        ok &= met
        say(f"after deleting {len(gone)} tasks: {dele.summary()}")
        figures.append(("pull after deletes", f"{t_del:.2f} s ({dele.tasks_gone} tasks gone)",
                        f"all {len(gone)} dropped  {'met' if met else 'MISSED'}"))

        # 7. full pull
        if not args.no_full:
            full, secs = timed(lambda: pull(ws, PROJECT, full=True, client=client,
                                            schema=schema))
            say(f"full pull: {full.summary()}")
            figures.append(("pull --full", f"{secs:.1f} s ({full.total_rows} annotations, "
                            f"{full.removed} removed)", ""))
        client.close()
    finally:
        if args.keep:
            say(f"server left running: corpus server stop --workspace {root}")
        else:
            server.stop(ws)
            if args.workspace is None:
                shutil.rmtree(root, ignore_errors=True)

    width = max(len(w) for w, _, _ in figures)
    say("")
    say(f"Label Studio {install.LS_VERSION} embedded (SQLite), {args.tasks} tasks, "
        f"{args.changed} changed; {os.cpu_count()} CPUs, load average now "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for what, value, target in figures:
        say(f"  {what:<{width}}  {value:<40} {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
