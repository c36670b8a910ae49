"""Pre-annotations: a model's :class:`~corpus.models.suggestions.Suggestion` -> Label Studio
predictions on the project's tasks (``corpus predict``).

A prediction's ``result`` items are built from the label schema and the names the screen
uses (``corpus.labelstudio.render.TEXT_NAME``, ``labelschema.stance_control_name``), so they
fill the same controls an annotator answers; ``score`` is the suggestion's confidence
(Label Studio's uncertainty sampling serves the lowest first) and ``model_version`` the
model's version. Predictions are sent in bulk (``POST /api/projects/{id}/import/predictions``
through the SDK), then the project's ``model_version`` is set to it and
``show_collab_predictions`` ("use predictions to pre-label tasks") switched on: Label
Studio 1.23 hands the annotator's editor the predictions of the project's ``model_version``
only, and the editor opens with them filled in.

Idempotent: the project's predictions are listed first, and a task that already has one of
this ``model_version`` gets none again (a second copy left by an interrupted import is
deleted, the oldest kept). A new ``model_version`` adds its predictions next to the older
ones (annotations started from an old one keep pointing at it) and becomes the project's.

Why a model suggested what it did (``Suggestion.cues``) is kept in
``workspace/sync/<project>/predictions.parquet`` (one row per prediction: id, task,
sentence, model version, score, cues, answers and the Label Studio result as JSON; pull
reads a parent prediction from it instead of asking the server) and printed by
``corpus predict`` for the least certain sentences. Not in Label Studio: its 1.23 editor
shows a result item's ``meta`` only for regions (spans), never for choices, and whatever a
prediction carries is copied into the annotation an annotator submits from it.
Predictions never count as annotations (pull reads annotations only).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from corpus.errors import ConfigError, SchemaError, WorkspaceError, check_int
from corpus.labelschema import (
    STANCE_PREFIX,
    Field,
    LabelSchema,
    load_schema,
    mentioned_result,
    stance_ask_control_names,
    stance_control_name,
)
from corpus.labelstudio.client import as_client, plain
from corpus.labelstudio.connection import open_client
from corpus.labelstudio.render import TEXT_NAME
from corpus.labelstudio.sync import ProjectSync
from corpus.models.suggestions import Model, SentenceInput, Suggestion
from corpus.storage.atomic import write_table
from corpus.storage.tables import read_table
from corpus.workspace import Workspace

Progress = Callable[[int, int], None]

MODELS = ("heuristic", "baseline")
DEFAULT_BATCH_SIZE = 10000
"""Predictions per import request. Label Studio 1.23 recounts the counters of every task of
the project after each prediction import request (``update_tasks_counters`` over all of
them), so fewer, bigger requests are much faster: 20k predictions took 53 s in one request,
114 s in four, 319 s in twenty (embedded server, load 3-5)."""
IMPORT_TIMEOUT = 1800.0
"""Seconds one import request may take (a re-run lists what is there, so a request that
timed out after the server applied it duplicates nothing)."""
LIST_TIMEOUT = 600.0
"""Seconds the listing of a project's predictions may take (~0.2 ms per prediction)."""
PREDICTIONS_FILE = "predictions.parquet"
PREDICTIONS_SCHEMA = pa.schema([
    pa.field("prediction_id", pa.int64()),
    pa.field("ls_task_id", pa.int64()),
    pa.field("sentence_id", pa.string()),
    pa.field("model_version", pa.string()),
    pa.field("score", pa.float64()),
    pa.field("cues", pa.list_(pa.string())),
    pa.field("answers", pa.string()),
    pa.field("result", pa.string()),
])
"""``workspace/sync/<project>/predictions.parquet``: what each prediction said and why."""


# --------------------------------------------------------------------------- results


def _control(schema: LabelSchema, key: str) -> tuple[Field, str]:
    """The field an answer key belongs to and its Label Studio control name."""
    for f in schema.fields:
        if f.kind == "stance":
            prefix = STANCE_PREFIX if f.name == "stance" else f"{f.name}__"
            if key.startswith(prefix) and len(key) > len(prefix):
                return f, key
        elif f.name == key:
            return f, key
    raise SchemaError(f"suggestion answers {key!r}, which schema {schema.name!r} "
                      f"v{schema.version} does not have",
                      hint=f"answer one of: {', '.join(f.name for f in schema.fields)} "
                      "(stance: labelschema.stance_control_name)")


def prediction_result(schema: LabelSchema, suggestion: Suggestion,
                      targets: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The Label Studio ``result`` items of ``suggestion`` (choices only; spans are not
    suggested). A dependent field whose ``shown_when`` choice is not suggested is left out
    (the annotator could not see it); a stance answer for a target the project does not
    have, an unknown field or value, raises SchemaError."""
    stance_names = {stance_control_name(f, t) for f in schema.fields_of_kind("stance")
                    for t in targets}
    chosen: dict[str, tuple[Field, tuple[str, ...]]] = {}
    for key, answer in suggestion.answers.items():
        f, name = _control(schema, key)
        values = (answer,) if isinstance(answer, str) else tuple(answer)
        if f.kind == "spans":
            raise SchemaError(f"suggestion answers span field {key!r}",
                              hint="suggest choices only")
        if f.kind == "stance" and name not in stance_names:
            raise SchemaError(f"suggestion answers {key!r}, not a stance target of the project",
                              hint=f"project targets are: {', '.join(targets) or '(none)'}")
        if not values or (f.kind != "multi" and len(values) != 1):
            raise SchemaError(f"suggestion for {key!r} has {len(values)} values",
                              hint="one value for a single or stance field, one or more "
                              "for a multi field")
        for v in values:
            if v not in f.values:
                raise SchemaError(f"suggestion for {key!r}: unknown value {v!r}",
                                  hint=f"use one of: {', '.join(f.values)}")
        chosen[name] = (f, values)
    items: list[dict[str, Any]] = []
    for name, (f, values) in chosen.items():
        if f.shown_when is not None:
            dep, val = f.shown_when
            if val not in chosen.get(dep, (f, ()))[1]:
                continue
        items.append({"from_name": name, "to_name": TEXT_NAME, "type": "choices",
                      "value": {"choices": list(values)}})
    return items


def to_prediction(schema: LabelSchema, suggestion: Suggestion, task_id: int,
                  model_version: str, targets: Sequence[str] = (),
                  mentioned: Sequence[str] | None = None) -> dict[str, Any]:
    """The prediction Label Studio imports for one task (``task``, ``result``, ``score``,
    ``model_version``).

    ``mentioned``: on a project that asks stance only for the targets a task mentions
    (schema v2), the task's mentioned targets. The prediction then carries the item that
    ticks them (``labelschema.mentioned_result``): Label Studio pre-ticks them only in an
    annotation it starts empty, so without it a pre-filled screen would ask no target.
    A stance answer for a target the task does not ask is refused (SchemaError)."""
    score = float(suggestion.score)
    if not 0.0 <= score <= 1.0:
        raise SchemaError(f"suggestion for {suggestion.sentence_id!r} has score {score}",
                          hint="a score is a confidence in [0, 1]")
    result = prediction_result(schema, suggestion, targets)
    if mentioned is not None:
        asked = {stance_control_name(f, t) for f in schema.fields_of_kind("stance")
                 for t in mentioned}
        stray = [i["from_name"] for i in result
                 if str(i["from_name"]).startswith(STANCE_PREFIX) and i["from_name"] not in asked]
        if stray:
            raise SchemaError(f"suggestion for {suggestion.sentence_id!r} answers "
                              f"{', '.join(stray)}, a target its task does not ask",
                              hint="suggest stance only for the targets the task mentions")
        if mentioned:
            result += [mentioned_result(f, list(mentioned))
                       for f in schema.fields_of_kind("stance") if f.of is None]
    return {"task": int(task_id), "result": result, "score": score,
            "model_version": model_version}


# --------------------------------------------------------------------------- report


@dataclass
class PredictReport:
    """What one ``corpus predict`` did."""

    project: str
    project_id: int
    model_version: str
    tasks: int = 0
    created: int = 0
    already: int = 0
    empty: int = 0
    duplicates_deleted: int = 0
    scores: list[float] = field(default_factory=list)
    cue_kinds: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    model_notes: list[str] = field(default_factory=list)
    """What the model said while it was built (the baseline: macro-F1 per field)."""
    seconds: float = 0.0

    def summary(self) -> str:
        """One-line human summary."""
        line = (f"predict {self.project!r} (id {self.project_id}) with {self.model_version}: "
                f"{self.created} predictions created, {self.already} tasks already had one")
        if self.empty:
            line += f", {self.empty} tasks without an answer (none sent)"
        if self.duplicates_deleted:
            line += f", {self.duplicates_deleted} duplicates of an interrupted run deleted"
        if self.scores:
            ordered = sorted(self.scores)
            line += (f"; score median {ordered[len(ordered) // 2]:.2f}, lowest "
                     f"{ordered[0]:.2f}")
        line += (f"; the project now pre-fills the editor with {self.model_version} "
                 f"({self.seconds:.1f} s)")
        return line


# --------------------------------------------------------------------------- store


def predictions_path(workspace: Workspace, project: str) -> Path:
    """``workspace/sync/<project>/predictions.parquet``."""
    return ProjectSync.of(workspace, project).folder / PREDICTIONS_FILE


def read_predictions(workspace: Workspace, project: str) -> pa.Table:
    """The project's predictions as recorded by ``corpus predict`` (empty if none)."""
    path = predictions_path(workspace, project)
    if not path.exists():
        return PREDICTIONS_SCHEMA.empty_table()
    table = read_table(path)
    if table.schema.names != PREDICTIONS_SCHEMA.names:
        raise WorkspaceError(f"{path} has columns {table.schema.names}, expected "
                             f"{PREDICTIONS_SCHEMA.names}",
                             hint="delete it and run `corpus predict` again (the predictions "
                             "in Label Studio are kept)")
    return table.cast(PREDICTIONS_SCHEMA)


def get_prediction(client: Any, prediction_id: int) -> dict[str, Any] | None:
    """One prediction (None if the server no longer has it)."""
    from corpus.errors import LabelStudioError

    try:
        out: dict[str, Any] = plain(client.call(
            f"GET /api/predictions/{prediction_id}/",
            lambda o: client.sdk.predictions.get(prediction_id, request_options=o)))
    except LabelStudioError as exc:
        if exc.status == 404:
            return None
        raise
    return out


def least_certain(workspace: Workspace, project: str, model_version: str, n: int
                  ) -> list[dict[str, Any]]:
    """The ``n`` lowest-scored predictions of ``model_version`` with their sentence text and
    cues (what ``corpus predict`` shows the lead)."""
    table = read_predictions(workspace, project)
    rows = sorted((r for r in table.to_pylist() if r["model_version"] == model_version),
                  key=lambda r: (r["score"], r["sentence_id"]))[:max(0, n)]
    if rows and workspace.sentences.exists():
        wanted = {r["sentence_id"] for r in rows}
        sents = read_table(workspace.sentences, columns=["sentence_id", "text"])
        texts = {s: t for s, t in zip(sents["sentence_id"].to_pylist(),
                                      sents["text"].to_pylist(), strict=True) if s in wanted}
        for r in rows:
            r["text"] = texts.get(r["sentence_id"], "")
    return rows


# --------------------------------------------------------------------------- server


def list_predictions(client: Any, project_id: int) -> list[dict[str, Any]]:
    """Every prediction of the project (``id``, ``task``, ``model_version``, ``result``...).

    Through the SDK's raw HTTP client (``LabelStudioClient.request``): the typed
    ``predictions.list`` builds a pydantic model per prediction, which doubled the time of
    listing 60k predictions (23.6 s against 10.6 s; the server's serialising is the rest).
    """
    got = client.request("GET", "/api/predictions/", params={"project": project_id},
                         timeout=LIST_TIMEOUT)
    return [dict(p) for p in got or []]


def import_predictions(client: Any, project_id: int,
                       predictions: Sequence[Mapping[str, Any]]) -> int:
    """Import predictions for existing tasks of the project in one request (not retried once
    it may have reached the server: a re-run lists what is there first); how many were
    created."""
    from label_studio_sdk import PredictionRequest

    request = [PredictionRequest(**dict(p)) for p in predictions]
    got = plain(client.call(
        f"POST /api/projects/{project_id}/import/predictions",
        lambda o: client.sdk.projects.import_predictions(project_id, request=request,
                                                         request_options=o),
        idempotent=False, timeout=IMPORT_TIMEOUT))
    created = got.get("created") if isinstance(got, dict) else None
    return int(created) if isinstance(created, int) else len(request)


def delete_prediction(client: Any, prediction_id: int) -> None:
    """Delete one prediction."""
    client.call(f"DELETE /api/predictions/{prediction_id}/",
                lambda o: client.sdk.predictions.delete(prediction_id, request_options=o))


def use_predictions(client: Any, project_id: int, model_version: str) -> None:
    """Make the annotator's editor open pre-filled with ``model_version``'s predictions."""
    client.update_project(project_id, model_version=model_version,
                          show_collab_predictions=True)


def _by_version(found: list[dict[str, Any]], model_version: str
                ) -> tuple[dict[int, int], list[int]]:
    """``task -> prediction id`` of ``model_version`` (the oldest per task) and the ids of
    extra copies."""
    mine: dict[int, int] = {}
    extra: list[int] = []
    for p in sorted(found, key=lambda p: int(p["id"])):
        if p.get("model_version") != model_version:
            continue
        task = int(p["task"])
        if task in mine:
            extra.append(int(p["id"]))
        else:
            mine[task] = int(p["id"])
    return mine, extra


# --------------------------------------------------------------------------- predict


def build_model(workspace: Workspace, project: str, name: str, schema: LabelSchema,
                aliases: Mapping[str, Sequence[str]],
                say: Callable[[str], None] | None = None) -> Model:
    """The model called ``name`` (``heuristic`` or ``baseline``: trained on the pulled
    labels of ``project``, or the stored one when they did not change); ``say`` gets the
    model's messages (the baseline's cross-validated macro-F1 per field)."""
    if name == "heuristic":
        from corpus.models.heuristic import HeuristicModel

        return HeuristicModel(schema, aliases=aliases)
    if name == "baseline":
        from corpus.models.baseline import fit

        model: Model = fit(workspace, project, progress=say, schema=schema)
        return model
    raise ConfigError(f"unknown model {name!r} (--model)", hint=f"use one of: {', '.join(MODELS)}")


def _inputs(workspace: Workspace, ledger: Mapping[str, int], targets: Sequence[str],
            aliases: Mapping[str, Sequence[str]]) -> tuple[list[SentenceInput],
                                                           dict[str, list[str]]]:
    """The model's inputs, and per sentence the targets its task mentions (as push put
    them in the task's data)."""
    from corpus.labelstudio.targets import Target
    from corpus.labelstudio.tasks import build_tasks, mentioned_targets

    known = [Target(t, tuple(aliases.get(t, ()))) for t in targets]
    tasks = [t for t in build_tasks(workspace) if t["sentence_id"] in ledger]
    inputs = [SentenceInput(sentence_id=t["sentence_id"], text=t["text"] or "",
                            context_before=t.get("context_before") or "",
                            context_after=t.get("context_after") or "",
                            targets=tuple(targets))
              for t in tasks]
    return inputs, {t["sentence_id"]: mentioned_targets(t, known) for t in tasks}


def _store(workspace: Workspace, project: str, rows: list[dict[str, Any]],
           model_version: str, ids: Mapping[int, int]) -> None:
    """Record this run's predictions (with the ids the server gave them) next to those of
    earlier runs."""
    old = read_predictions(workspace, project).to_pylist()
    tasks = {x["ls_task_id"] for x in rows}
    keep = [r for r in old if not (r["model_version"] == model_version
                                   and r["ls_task_id"] in tasks)]
    fresh = [{**r, "prediction_id": ids.get(r["ls_task_id"])} for r in rows]
    table = pa.Table.from_pylist(keep + fresh, schema=PREDICTIONS_SCHEMA)
    write_table(predictions_path(workspace, project), table)


def predict(
    workspace: Workspace | Path | str | None,
    project: str,
    *,
    model: str | Model = "heuristic",
    progress: Progress | None = None,
    schema: LabelSchema | None = None,
    client: Any = None,
    allow_insecure: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PredictReport:
    """Attach ``model``'s predictions to every task of ``project`` that has none of its
    version yet, and make the project's editor open pre-filled with them.

    ``model`` is ``"heuristic"``, ``"baseline"`` (trained on the project's pulled labels) or
    any object with the ``Model`` protocol. ``client`` as for ``push``.
    """
    check_int("batch_size", batch_size, minimum=1)
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    schema = schema or load_schema()
    sync = ProjectSync.of(ws, project)
    t0 = time.perf_counter()
    state = sync.read_state()
    if state is None:
        raise WorkspaceError(f"project {project!r} was never pushed from {ws.root}",
                             hint=f"run `corpus push --project {project}` first")
    ledger = sync.read_ledger()
    if not ledger:
        raise WorkspaceError(f"project {project!r} has no tasks in {sync.ledger_path}",
                             hint=f"run `corpus push --project {project}` first")
    targets = [str(t) for t in state.get("targets") or []]
    aliases = {str(d["target"]): tuple(d.get("aliases") or ())
               for d in state.get("target_details") or [] if isinstance(d, dict)}
    inputs, mentions = _inputs(ws, ledger, targets, aliases)
    per_mention = state.get("stance_asked") == "mentioned"   # schema v2's push
    notes: list[str] = []
    chosen = model if not isinstance(model, str) else build_model(
        ws, project, model, schema, aliases, notes.append)
    version = chosen.version
    project_id = int(state["project_id"])
    report = PredictReport(project=project, project_id=project_id, model_version=version,
                           tasks=len(inputs), model_notes=notes)
    own_client = client is None
    client = as_client(client) if client is not None else open_client(
        ws, allow_insecure=allow_insecure)
    try:
        with ws.lock(f"predict.{project}"):
            have, extra = _by_version(list_predictions(client, project_id), version)
            for pid in extra:
                delete_prediction(client, pid)
            report.duplicates_deleted = len(extra)
            todo = [s for s in inputs if ledger[s.sentence_id] not in have]
            report.already = len(inputs) - len(todo)
            rows: list[dict[str, Any]] = []
            if progress:
                progress(0, len(todo))
            done = 0
            for lo in range(0, len(todo), batch_size):
                chunk = todo[lo:lo + batch_size]
                batch: list[dict[str, Any]] = []
                got = chosen.suggest(chunk)
                report.empty += len(chunk) - len(got)  # a model may leave a sentence out
                for s in got:
                    task_id = ledger[s.sentence_id]
                    pred = to_prediction(schema, s, task_id, version, targets,
                                         mentions.get(s.sentence_id, []) if per_mention
                                         else None)
                    if not pred["result"]:
                        report.empty += 1
                        continue
                    batch.append(pred)
                    report.scores.append(pred["score"])
                    report.cue_kinds.update(c.split(":", 1)[0] for c in s.cues)
                    asks = {n for f in schema.fields_of_kind("stance")
                            for n in stance_ask_control_names(f)}
                    for item in pred["result"]:
                        if not str(item["from_name"]).startswith(STANCE_PREFIX) \
                                and item["from_name"] not in asks:
                            report.answers.update(f"{item['from_name']}={v}"
                                                  for v in item["value"]["choices"])
                    rows.append({"ls_task_id": task_id, "sentence_id": s.sentence_id,
                                 "model_version": version, "score": pred["score"],
                                 "cues": list(s.cues),
                                 "answers": json.dumps(dict(s.answers), ensure_ascii=False,
                                                       sort_keys=True),
                                 "result": json.dumps(pred["result"], ensure_ascii=False)})
                if batch:
                    report.created += import_predictions(client, project_id, batch)
                done += len(chunk)
                if progress:
                    progress(done, len(todo))
            if rows:
                ids, _ = _by_version(list_predictions(client, project_id), version)
                _store(ws, project, rows, version, ids)
            if report.created or have:
                use_predictions(client, project_id, version)
        report.seconds = time.perf_counter() - t0
        return report
    finally:
        if own_client:
            client.close()


__all__ = ["MODELS", "PREDICTIONS_SCHEMA", "PredictReport", "build_model", "import_predictions",
           "least_certain", "list_predictions", "predict", "prediction_result", "predictions_path",
           "read_predictions", "to_prediction", "use_predictions"]
