"""Adjudication rounds: disagreements reviewed in a second Label Studio project.

``open_round`` picks the sentences of project ``P`` that need a decision (from the last
pull: annotators disagree on the primary field, or a single field is tied; ``where``
for other rules), and imports each once into ``P-adjudication`` (``into``), with the
original task data (sentence, title, context) plus every annotator's answer as
read-only text shown above the same questions. The round's ledger
(``sync/<into>/ledger.parquet``) keeps a sentence from being added twice, and
``sync/<into>/round.json`` records which annotations each task resolves.

``pull_decisions`` pulls the adjudication project into ``annotations.parquet`` (its
own ``ls_project_id``) and writes ``workspace/adjudications.parquet``: one row per
decision with its provenance (adjudicator, time, the annotation ids and annotators it
resolves). A release of ``P`` takes the latest decision per sentence as the label
(``agreement = adjudicated``) while the vote counts stay those of the annotators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import OptionError, WorkspaceError
from corpus.labelschema import LabelSchema, load_schema
from corpus.labelstudio.sync import ProjectSync, check_project_name, now_iso
from corpus.storage.atomic import write_json, write_table
from corpus.workspace import Workspace

SUFFIX = "-adjudication"
VOTES_KEY = "adjudication_votes"
"""Task data key of the annotators' answers (shown read-only by the label config)."""
DECISIONS_SCHEMA = pa.schema([
    ("sentence_id", pa.string()), ("project", pa.string()),
    ("adjudication_project", pa.string()), ("ls_project_id", pa.int64()),
    ("ls_task_id", pa.int64()), ("annotation_id", pa.int64()),
    ("adjudicator", pa.string()), ("decided_at", pa.timestamp("us", tz="UTC")),
    ("resolves", pa.list_(pa.int64())), ("resolves_annotators", pa.list_(pa.string())),
])


def round_name(project: str, into: str | None = None) -> str:
    """The adjudication project's title: ``into`` or ``<project>-adjudication``."""
    return check_project_name(into or f"{project}{SUFFIX}")


def decisions_path(workspace: Workspace) -> Path:
    return workspace.root / "adjudications.parquet"


@dataclass
class RoundReport:
    """What one ``corpus adjudicate`` did."""

    project: str
    into: str
    project_id: int
    created: bool
    candidates: int = 0
    added: int = 0
    already: int = 0
    sentence_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"adjudicate {self.project!r} -> {self.into!r} (id {self.project_id}, "
                f"{'created' if self.created else 'existing'}): {self.candidates} sentences "
                f"need a decision, {self.added} added, {self.already} already in the round")


def _parse_where(where: Sequence[str], schema: LabelSchema) -> list[tuple[str, str]]:
    singles = {f.name for f in schema.fields if f.kind == "single"}
    rules = []
    for w in where:
        key, sep, value = w.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value or (key != "agreement" and key not in singles):
            raise OptionError(
                f"--where {w!r} is not KEY=VALUE with KEY agreement or a single field",
                hint="e.g. --where agreement=majority or --where claim=unsure "
                     f"(single fields: {', '.join(sorted(singles))})")
        rules.append((key, value))
    return rules


def _source_rows(ws: Workspace, project: str, schema: LabelSchema) -> tuple[pa.Table, int,
                                                                          dict[str, Any]]:
    from corpus.labelstudio.annotations import read_annotations

    state = ProjectSync.of(ws, project).read_state()
    if state is None:
        raise WorkspaceError(f"project {project!r} was never pushed from {ws.root}",
                             hint=f"run `corpus push --project {project}` and `corpus pull`")
    pid = int(state["project_id"])
    table = read_annotations(ws, schema)
    table = table.filter(pc.fill_null(pc.equal(table["ls_project_id"], pid), False))
    return table, pid, state


def needing_decision(table: pa.Table, schema: LabelSchema,
                     where: Sequence[str] = ()) -> dict[str, list[int]]:
    """sentence_id -> kept annotation ids, for the sentences that need a decision.

    Default rule: at least two annotators and they disagree on the primary field, or
    any single field or stance target is tied. ``where``: ``KEY=VALUE`` rules instead
    (any may match): ``agreement=unanimous|majority|tie`` or the aggregated label of a
    single field.
    """
    from corpus.releases.aggregate import aggregate
    from corpus.releases.model import primary_field

    rules = _parse_where(where, schema)
    kept = table.filter(pc.invert(pc.fill_null(table["was_cancelled"], False)))
    if kept.num_rows == 0:
        return {}
    agg = aggregate(kept, pc.unique(kept["sentence_id"]), schema)
    n = len(agg.sentence_ids)
    pick = np.zeros(n, dtype=np.bool_)
    if rules:
        for key, value in rules:
            if key == "agreement":
                col = agg.agreement
            else:
                col = next(f for f in agg.fields if f.name == key).label
            pick |= np.asarray(pc.fill_null(pc.equal(col, value), False))
    else:
        primary = primary_field(schema)
        for f in agg.fields:
            if f.kind == "stance" and f.stance is not None and len(f.stance.counts):
                g = f.stance.counts
                g_top = g.max(axis=1)
                tied = (g.sum(axis=1) > 0) & ((g == g_top[:, None]).sum(axis=1) > 1)
                pick[f.stance.sent[tied]] = True
            if f.kind != "single" or f.counts is None:
                continue
            counts = f.counts
            total = counts.sum(axis=1)
            top = counts.max(axis=1) if counts.shape[1] else np.zeros(len(counts), np.int64)
            n_top = (counts == top[:, None]).sum(axis=1)
            pick |= (total > 0) & (n_top > 1)
            if f.name == primary:
                pick |= (total >= 2) & (top < total)
        pick &= agg.n_annotators >= 2
    chosen = set(agg.sentence_ids.filter(pa.array(pick)).to_pylist())
    out: dict[str, list[int]] = {}
    for sid, aid in zip(kept["sentence_id"].to_pylist(), kept["annotation_id"].to_pylist(),
                        strict=True):
        if sid in chosen:
            out.setdefault(sid, []).append(int(aid))
    return out


def _answer_text(row: Mapping[str, Any], schema: LabelSchema) -> str:
    parts = []
    for f in schema.fields:
        value = row.get(f.name)
        if value is None or value == []:
            continue
        if f.kind == "single":
            parts.append(f"{f.name}={value}")
        elif f.kind == "multi":
            parts.append(f"{f.name}={','.join(value)}")
        elif f.kind == "stance":
            answered = [s for s in value if s["label"] is not None]
            if answered:
                parts.append(f"{f.name}=" + ",".join(f"{s['target']}:{s['label']}"
                                                     for s in answered))
        else:
            parts.append(f"{f.name}=" + ",".join(
                f"{s['label']}[{s['start']}:{s['end']}]" for s in value))
    return "; ".join(parts) or "(no answer)"


def votes_text(rows: Sequence[Mapping[str, Any]], schema: LabelSchema) -> str:
    """One line per annotator: ``annotator: field=value; ...`` (read-only in the task)."""
    return "\n".join(f"{r['annotator']}: {_answer_text(r, schema)}"
                     for r in sorted(rows, key=lambda r: str(r["annotator"])))


def review_config(label_config: str) -> str:
    """The source project's label config with the annotators' answers shown on top."""
    panel = (f'<View style="background:#fff7e6;padding:6px;margin-bottom:8px">'
             f'<Header value="标注者的答案（只读） Annotators\' answers (read-only)" size="5"/>'
             f'<Text name="{VOTES_KEY}" value="${VOTES_KEY}" granularity="word"/></View>')
    match = re.search(r"<View\b[^>]*>", label_config)
    if match is None:
        return label_config
    return label_config[:match.end()] + panel + label_config[match.end():]


def _read_round(sync: ProjectSync) -> dict[str, Any]:
    path = sync.folder / "round.json"
    if not path.exists():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"{path} is unreadable ({exc})",
                             hint="restore it from a backup; it names what each decision "
                                  "resolves") from None
    return data


def open_round(workspace: Workspace | Path | str | None, project: str, *,
               into: str | None = None, where: Sequence[str] = (),
               schema: LabelSchema | None = None, client: Any = None,
               allow_insecure: bool = False) -> RoundReport:
    """Add the sentences of ``project`` that need a decision to its adjudication project.

    Reads the last pull; a sentence already in the round is never added again.
    """
    from corpus.labelstudio.client import as_client
    from corpus.labelstudio.connection import open_client

    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    schema = schema or load_schema()
    name = round_name(project, into)
    if name == project:
        raise OptionError(f"--into {name!r} is the project itself",
                          hint="pass another name, or leave --into out")
    table, source_id, source_state = _source_rows(ws, project, schema)
    wanted = needing_decision(table, schema, where)
    own = client is None
    client = as_client(client) if client is not None else open_client(
        ws, allow_insecure=allow_insecure)
    try:
        sync = ProjectSync.of(ws, name)
        with ws.lock(f"adjudicate-{name}"):
            state = sync.read_state()
            created = False
            if state is None:
                found = [p for p in client.list_projects(title=name) if p.get("title") == name]
                if found:
                    pid = int(found[0]["id"])
                else:
                    source = client.get_project(source_id)
                    made = client.create_project(
                        name, review_config(str(source.get("label_config") or "")),
                        description=f"Adjudication of {project}: decide each sentence; the "
                                    "annotators' answers are shown read-only on top.",
                        expert_instruction=source.get("expert_instruction") or "",
                        show_instruction=bool(source.get("expert_instruction")),
                        maximum_annotations=1)
                    pid = int(made["id"])
                    created = True
                state = {"project": name, "project_id": pid, "url": client.url,
                         "adjudicates": project, "adjudicates_id": source_id,
                         "schema_name": schema.name, "schema_version": schema.version,
                         "schema_sha256": schema.sha256,
                         "targets": list(source_state.get("targets") or []),
                         "stance_asked": source_state.get("stance_asked"),
                         "created_at": now_iso()}
                sync.write_state(state)
            pid = int(state["project_id"])
            ledger = sync.read_ledger()
            rnd = _read_round(sync)
            report = RoundReport(project, name, pid, created, candidates=len(wanted))
            new = [s for s in sorted(wanted) if s not in ledger]
            report.already = len(wanted) - len(new)
            if new:
                rows = table.filter(pc.is_in(table["annotation_id"], value_set=pa.array(
                    [a for s in new for a in wanted[s]], pa.int64()))).to_pylist()
                by_sid: dict[str, list[dict[str, Any]]] = {}
                for r in rows:
                    by_sid.setdefault(r["sentence_id"], []).append(r)
                tasks = []
                for sid in new:
                    group = by_sid[sid]
                    data = dict(client.get_task(int(group[0]["ls_task_id"])).get("data") or {})
                    data[VOTES_KEY] = votes_text(group, schema)
                    data["adjudicates_task"] = int(group[0]["ls_task_id"])
                    tasks.append({"data": data})
                ids = client.import_tasks(pid, tasks)
                for sid, tid in zip(new, ids, strict=True):
                    ledger[sid] = tid
                    group = by_sid[sid]
                    rnd[sid] = {"ls_task_id": tid, "source_task_id": int(group[0]["ls_task_id"]),
                                "resolves": sorted(int(r["annotation_id"]) for r in group),
                                "resolves_annotators": sorted(str(r["annotator"])
                                                              for r in group),
                                "added_at": now_iso()}
                sync.write_ledger(ledger)
                write_json(sync.folder / "round.json", rnd)
            report.added = len(new)
            report.sentence_ids = new
            return report
    finally:
        if own:
            client.close()


def rounds_of(workspace: Workspace, project: str | None = None) -> list[dict[str, Any]]:
    """The states of the adjudication projects (of ``project``) in the workspace."""
    out: list[dict[str, Any]] = []
    if not workspace.sync_dir.is_dir():
        return out
    for folder in sorted(workspace.sync_dir.iterdir()):
        if not (folder / "project.json").is_file():
            continue
        try:
            state = ProjectSync(folder.name, folder).read_state()
        except WorkspaceError:
            continue
        if state and state.get("adjudicates") and (
                project is None or state["adjudicates"] == project):
            out.append(state)
    return out


def pull_decisions(workspace: Workspace | Path | str | None, project: str, *,
                   schema: LabelSchema | None = None, client: Any = None,
                   allow_insecure: bool = False, full: bool = False) -> list[Any]:
    """Pull every adjudication project of ``project`` and rewrite adjudications.parquet.

    Returns the pull reports (none when ``project`` has no round).
    """
    from corpus.labelstudio.annotations import pull

    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    schema = schema or load_schema()
    reports = [pull(ws, str(state["project"]), full=full, schema=schema, client=client,
                    allow_insecure=allow_insecure) for state in rounds_of(ws, project)]
    if reports:
        write_decisions(ws, schema)
    return reports


def write_decisions(ws: Workspace, schema: LabelSchema) -> pa.Table:
    """``adjudications.parquet`` from the pulled adjudication rows and the rounds' records."""
    from corpus.labelstudio.annotations import read_annotations

    table = read_annotations(ws, schema)
    rows: list[dict[str, Any]] = []
    for state in rounds_of(ws):
        sync = ProjectSync.of(ws, str(state["project"]))
        rnd = _read_round(sync)
        pid = int(state["project_id"])
        mine = table.filter(pc.fill_null(pc.equal(table["ls_project_id"], pid), False))
        mine = mine.filter(pc.invert(pc.fill_null(mine["was_cancelled"], False)))
        for r in mine.select(["sentence_id", "ls_task_id", "annotation_id", "annotator",
                              "updated_at"]).to_pylist():
            info = rnd.get(r["sentence_id"]) or {}
            rows.append({"sentence_id": r["sentence_id"], "project": state["adjudicates"],
                         "adjudication_project": state["project"], "ls_project_id": pid,
                         "ls_task_id": r["ls_task_id"], "annotation_id": r["annotation_id"],
                         "adjudicator": r["annotator"], "decided_at": r["updated_at"],
                         "resolves": info.get("resolves") or [],
                         "resolves_annotators": info.get("resolves_annotators") or []})
    out = pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA)
    write_table(decisions_path(ws), out)
    return out


def release_decisions(ws: Workspace, annotations: pa.Table,
                      source_ids: Sequence[int]) -> tuple[pa.Table | None, set[int]]:
    """The decision rows (annotation table rows) for a release of ``source_ids``, and the ids
    of every adjudication project in the workspace (never released as votes)."""
    rounds = rounds_of(ws)
    all_ids = {int(s["project_id"]) for s in rounds}
    ids = sorted(int(s["project_id"]) for s in rounds
                 if int(s.get("adjudicates_id") or -1) in set(source_ids))
    if not ids or "ls_project_id" not in annotations.column_names:
        return None, all_ids
    rows = annotations.filter(pc.fill_null(pc.is_in(
        annotations["ls_project_id"], value_set=pa.array(ids, pa.int64())), False))
    return (rows if rows.num_rows else None), all_ids


ADJUDICATIONS_FILE = "adjudications.parquet"
"""The provenance of the decisions a release used (in the version folder)."""


def released_provenance(ws: Workspace, decisions: pa.Table, released: pa.Array,
                        annotator_names: bool) -> pa.Table:
    """Rows of ``adjudications.parquet`` for the ``decisions`` rows of released sentences,
    adjudicator and resolved annotators under their release pseudonyms (unless asked)."""
    from corpus.releases.pseudonyms import assign
    from corpus.storage.tables import read_table

    path = decisions_path(ws)
    if not path.exists():
        return DECISIONS_SCHEMA.empty_table()
    table = read_table(path).cast(DECISIONS_SCHEMA)
    table = table.filter(pc.and_(
        pc.is_in(table["annotation_id"], value_set=decisions["annotation_id"]),
        pc.is_in(table["sentence_id"], value_set=released)))
    if annotator_names or table.num_rows == 0:
        return table
    rows = table.to_pylist()
    names = sorted({str(r["adjudicator"]) for r in rows}
                   | {str(n) for r in rows for n in r["resolves_annotators"]})
    mapping = assign(ws, names)
    for r in rows:
        r["adjudicator"] = mapping[str(r["adjudicator"])]
        r["resolves_annotators"] = [mapping[str(n)] for n in r["resolves_annotators"]]
    return pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA)
