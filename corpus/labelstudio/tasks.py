"""Push sentences to Label Studio as tasks: one task per sentence, idempotent, crash-safe.

The project's sync state (``corpus.labelstudio.sync``) makes a re-push import
nothing twice:

- the ledger maps ``sentence_id -> ls_task_id``;
- ``pending.json`` is written before each import call and removed after the
  ledger write; if it is present at start, a previous push died in between, and
  the project's tasks newer than the ledger are matched by ``data.sentence_id``
  before anything is imported again;
- ``recheck.json``: the server may still finish an interrupted import after the
  next push has reconciled, so later pushes re-scan the tasks above that batch
  and delete late duplicates (those without annotations) until a scan
  ``RECHECK_SECONDS`` later is clean.

An import request waits at most ``import_timeout`` seconds (default 600): Label
Studio completes an accepted import even after its client has given up, so a
push that times out stops with a transient error ("run again") and leaves
``pending.json``; the next push goes through the recheck path above instead of
importing the batch again. ``RECHECK_SECONDS`` (an hour) outlasts Label Studio's
own "database is locked" retry of an import (3 + 6 + ... + 1536 s, ~51 minutes).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import ConfigError, LabelStudioError, check_int, check_seconds
from corpus.labelschema import LabelSchema, load_schema
from corpus.labelstudio.client import as_client
from corpus.labelstudio.connection import open_client
from corpus.labelstudio.queries import id_above_query
from corpus.labelstudio.queue import apply_order, check_order
from corpus.labelstudio.render import guidelines_html, guidelines_path, render_label_config
from corpus.labelstudio.sync import ProjectSync, now_iso
from corpus.labelstudio.targets import Target, as_targets
from corpus.storage.atomic import write_text
from corpus.storage.tables import open_table, read_table
from corpus.workspace import Workspace

Progress = Callable[[int, int], None]

CONTEXT_SENTENCES = 2
DEFAULT_BATCH_SIZE = 2000
SUGGESTED_TARGETS = 5
# After an interrupted import, later pushes re-scan for late duplicates for this long
# (longer than Label Studio's own retry of a locked import, ~51 minutes).
RECHECK_SECONDS = 3600.0
DEFAULT_IMPORT_TIMEOUT = 600.0
"""Seconds one import request may take before push gives up on it (and reconciles later)."""
DEFAULT_OVERLAP = 2
"""Annotators per task of a new project: agreement needs at least two."""


def read_ledger(workspace: Workspace, project: str) -> dict[str, int]:
    """``sentence_id -> ls_task_id`` of the tasks pushed to ``project``."""
    return ProjectSync.of(workspace, project).read_ledger()


# --------------------------------------------------------------------------- tasks


def build_tasks(
    workspace: Workspace,
    *,
    articles: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Task data for every sentence of kind ``sentence`` (headings only as context).

    Each item is ``{"text", "title", "context_before", "context_after",
    "sentence_id", "article_id"}`` in article/paragraph/sentence order.
    """
    sentences_path = workspace.require(workspace.sentences, produced_by="corpus ingest")
    cols = ["sentence_id", "article_id", "para_idx", "sent_idx", "start", "text", "kind", "lang"]
    table = read_table(sentences_path, columns=cols)
    if articles:
        table = table.filter(pc.is_in(table["article_id"],
                                      value_set=pa.array(list(articles), pa.string())))
    table = table.sort_by([("article_id", "ascending"), ("para_idx", "ascending"),
                           ("sent_idx", "ascending"), ("start", "ascending")])
    titles: dict[str, str] = {}
    if workspace.articles.exists():
        at = read_table(workspace.articles, columns=["article_id", "title"])
        titles = {a: (t or "") for a, t in zip(at.column("article_id").to_pylist(),
                                               at.column("title").to_pylist(), strict=True)}

    sid = table.column("sentence_id").to_pylist()
    aid = table.column("article_id").to_pylist()
    para = table.column("para_idx").to_pylist()
    text = table.column("text").to_pylist()
    kind = table.column("kind").to_pylist()
    lang = table.column("lang").to_pylist()

    def join(lo: int, hi: int) -> str:
        parts: list[str] = []
        for j in range(lo, hi):
            if parts:
                same = para[j] == para[j - 1]
                sep = ("" if (lang[j] or "zh").startswith("zh") else " ") if same else "\n"
                parts.append(sep)
            parts.append(text[j] or "")
        return "".join(parts)

    tasks: list[dict[str, Any]] = []
    n = len(sid)
    start = 0
    while start < n:  # one article at a time
        end = start
        while end < n and aid[end] == aid[start]:
            end += 1
        for i in range(start, end):
            if (kind[i] or "sentence") != "sentence":
                continue
            tasks.append({
                "text": text[i],
                "title": titles.get(aid[i], ""),
                "context_before": join(max(start, i - CONTEXT_SENTENCES), i),
                "context_after": join(i + 1, min(end, i + 1 + CONTEXT_SENTENCES)),
                "sentence_id": sid[i],
                "article_id": aid[i],
            })
        start = end
    return tasks


def read_clusters(workspace: Workspace) -> dict[str, str] | None:
    """``sentence_id -> cluster_id`` of the sentences that repeat others (split's
    ``cluster_id``, see ``corpus.duplicates``); None when the table has no such column
    (split by a version before near-duplicates)."""
    path = workspace.require(workspace.sentences, produced_by="corpus ingest")
    if "cluster_id" not in open_table(path).schema_arrow.names:
        return None
    table = read_table(path, columns=["sentence_id", "cluster_id"])
    repeats = table.filter(pc.fill_null(pc.not_equal(table["sentence_id"],
                                                     table["cluster_id"]), False))
    members = pc.is_in(table["cluster_id"], value_set=pc.unique(repeats["cluster_id"]))
    table = table.filter(members)
    return dict(zip(table.column("sentence_id").to_pylist(),
                    table.column("cluster_id").to_pylist(), strict=True))


def mentioned_targets(task: dict[str, Any], targets: Sequence[Target]) -> list[str]:
    """The targets whose name or an alias occurs in the task's sentence or context
    (``context_before``, ``context_after``; not the title), case-insensitively."""
    seen = "\n".join(str(task.get(k) or "") for k in ("text", "context_before",
                                                      "context_after")).casefold()
    return [t.target for t in targets
            if any(name.casefold() in seen for name in (t.target, *t.aliases) if name)]


def add_mentions(tasks: list[dict[str, Any]], targets: Sequence[Target]) -> None:
    """Put ``stance_mentioned`` into each task's data: ``{slug: [1]}`` for every target it
    mentions, which the label config's ``<Repeater>`` turns into a pre-ticked question
    (``corpus.labelstudio.render``); a target not listed is asked only on request."""
    from corpus.labelschema import target_slug
    from corpus.labelstudio.render import MENTIONED_KEY

    for task in tasks:
        task[MENTIONED_KEY] = {target_slug(t): [1] for t in mentioned_targets(task, targets)}


# --------------------------------------------------------------------------- report


@dataclass
class PushReport:
    """What one push did."""

    project: str
    project_id: int
    url: str
    created: bool = False
    config_updated: bool = False
    targets: list[str] = field(default_factory=list)
    targets_suggested: bool = False
    overlap: int = 1
    overlap_changed: bool = False
    annotators: int | None = None
    candidates: int = 0
    already: int = 0
    imported: int = 0
    reconciled: int = 0
    duplicates_deleted: int = 0
    duplicates_kept: int = 0
    remaining: int = 0
    order: str | None = None
    order_changed: bool = False
    model_version: str = ""
    seconds: float = 0.0
    dedup: bool = True
    """One task per cluster of repeated sentences (``corpus.duplicates``)."""
    dedup_saved: int = 0
    """Sentences not sent because their cluster already has (or gets) a task."""
    dedup_unavailable: bool = False
    """The sentence table has no clusters (split before near-duplicates): all were sent."""

    @property
    def rate(self) -> float:
        """Imported tasks per second."""
        return self.imported / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One-line human summary."""
        parts = [
            f"push to {self.project!r} (id {self.project_id}"
            f"{', created' if self.created else ''}): {self.imported} tasks imported",
            f"{self.already} already there",
        ]
        if self.reconciled:
            parts.append(f"{self.reconciled} recovered from an interrupted push")
        if self.duplicates_deleted:
            parts.append(f"{self.duplicates_deleted} duplicate tasks of an interrupted push "
                         "deleted")
        if self.duplicates_kept:
            parts.append(f"{self.duplicates_kept} duplicate tasks kept because they have "
                         "annotations (delete them in Label Studio)")
        if self.remaining:
            parts.append(f"{self.remaining} left (limit)")
        if self.dedup_saved:
            parts.append(f"{self.dedup_saved} tasks saved by sending one sentence per cluster "
                         "of repeats")
        if self.imported:
            parts.append(f"{self.rate:.0f} tasks/s")
        parts.append(f"each task for {self.overlap} annotator{'s' if self.overlap > 1 else ''}"
                     + (" (changed)" if self.overlap_changed else ""))
        if self.order:
            parts.append(f"queue order {self.order}" + (" (changed)" if self.order_changed
                                                         else ""))
        line = ", ".join(parts)
        if self.order == "uncertain" and not self.model_version:
            line += "; no predictions yet: run `corpus predict` (the order applies from then on)"
        if self.targets:
            how = "suggested from the corpus" if self.targets_suggested else "stance targets"
            line += f"; {how}: {', '.join(self.targets)}"
        return line


# --------------------------------------------------------------------------- push


RECONCILE_FIELDS = ("id", "data", "total_annotations", "cancelled_annotations")
"""The task fields a reconcile reads (Label Studio serialises only these)."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reconcile(client: Any, project_id: int, ledger: dict[str, int],
               after: int | None = None) -> tuple[int, int, int]:
    """Match the project's tasks above task id ``after`` to the ledger by ``data.sentence_id``.

    Tasks the ledger misses are added; a second task of a sentence already in the
    ledger (an import that the server finished after its client gave up) is deleted
    when it has no annotations, else kept and counted. Task ids only grow, so only
    tasks above ``after`` (default: the ledger's highest id) are listed.
    Returns ``(added, duplicates_deleted, duplicates_kept)``.
    """
    if after is None:
        after = max(ledger.values(), default=0)
    added = deleted = kept = 0
    for task in client.iter_tasks(project_id, query=id_above_query(after), page_size=5000,
                                  fields="task_only", include=RECONCILE_FIELDS):
        data = task.get("data") or {}
        sid = data.get("sentence_id")
        if not isinstance(sid, str):
            continue
        task_id = int(task["id"])
        if sid not in ledger:
            ledger[sid] = task_id
            added += 1
        elif ledger[sid] != task_id:
            if task.get("total_annotations") or task.get("cancelled_annotations"):
                kept += 1
            else:
                client.delete_task(task_id)
                deleted += 1
    return added, deleted, kept


class TargetsNotChosen(ConfigError):
    """A new project needs its stance targets chosen; ``suggestions`` are the corpus's."""

    def __init__(self, message: str, *, hint: str, suggestions: list[str]) -> None:
        super().__init__(message, hint=hint)
        self.suggestions = suggestions


def _state_targets(state: dict[str, Any]) -> list[Target]:
    details = {d.get("target"): d for d in state.get("target_details") or []
               if isinstance(d, dict)}
    return as_targets([details.get(t) or t for t in state["targets"]], "project.json",
                      fold_case=False)


def _choose_targets(targets: Sequence[str | Target] | None, state: dict[str, Any] | None,
                    schema: LabelSchema, tasks: list[dict[str, Any]], project: str,
                    accept_suggested: bool) -> tuple[list[Target], bool]:
    """The stance targets to use and whether they were suggested from the corpus."""
    if targets is not None:
        # a plain name the project already has keeps its stored aliases and description
        stored = {t.target: t for t in _state_targets(state)} if state and state.get(
            "targets") is not None else {}
        return as_targets([stored.get(t.strip(), t) if isinstance(t, str) else t
                           for t in targets]), False
    if state is not None and state.get("targets") is not None:
        return _state_targets(state), False
    if not schema.fields_of_kind("stance"):
        return [], False
    from corpus.labelstudio.targets import suggest_targets_from_texts

    suggested = [s.target for s in suggest_targets_from_texts(
        [t["text"] for t in tasks], SUGGESTED_TARGETS)]
    if accept_suggested:
        return as_targets(suggested), True
    shown = ",".join(suggested) or "A,B"
    raise TargetsNotChosen(
        f"choose the stance targets of new project {project!r}; suggested from the corpus: "
        + (", ".join(suggested) if suggested else "(none found)"),
        hint=f"pass --targets {shown} (edit the list), --targets-file FILE (with aliases), or "
        "--accept-suggested", suggestions=suggested)


def overlap_fields(overlap: int) -> dict[str, Any]:
    """Project settings that make Label Studio's queue give each task to ``overlap`` annotators.

    ``maximum_annotations`` is the number of distinct annotators per task; a cohort of
    100% applies it to every task (Label Studio then sets each task's ``overlap``).
    """
    return {"maximum_annotations": overlap, "overlap_cohort_percentage": 100}


def _apply_overlap(client: Any, proj: dict[str, Any], overlap: int | None,
                   created: bool) -> tuple[int, bool]:
    """Set the project's overlap if asked and different; return (overlap, changed)."""
    current = int(proj.get("maximum_annotations") or 1)
    cohort = int(proj.get("overlap_cohort_percentage") or 100)
    if overlap is None or (overlap == current and cohort == 100):
        return current, False
    client.update_project(int(proj["id"]), **overlap_fields(overlap))
    return overlap, not created


def _count_annotators(client: Any) -> int | None:
    """How many accounts of the organisation can annotate, the lead's included (None if the
    server will not say); removed members do not count."""
    from corpus.labelstudio.users import is_removed

    try:
        return sum(1 for u in client.list_users() if not is_removed(u))
    except LabelStudioError:
        return None


def _find_or_create_project(
    client: Any, sync: ProjectSync, schema: LabelSchema, state: dict[str, Any] | None,
    config: str, instructions: str, overlap: int = DEFAULT_OVERLAP,
    targets: Sequence[str] = (),
) -> tuple[dict[str, Any], bool, bool]:
    """Return (project, created, config_updated)."""
    project = sync.project
    proj: dict[str, Any] | None = None
    if state is not None and state.get("url") == client.url:
        try:
            proj = client.get_project(int(state["project_id"]))
        except LabelStudioError as exc:
            if exc.status != 404:
                raise
            raise LabelStudioError(
                f"project {project!r} (id {state['project_id']}) recorded in "
                f"{sync.state_path} no longer exists on {client.url}",
                hint=f"delete {sync.folder} to push afresh, or push to a new project name",
            ) from None
    if proj is None:
        found = client.list_projects(title=project)
        if len(found) > 1:
            raise LabelStudioError(
                f"{len(found)} projects titled {project!r} on {client.url} "
                f"(ids {', '.join(str(p['id']) for p in found)})",
                hint="rename or delete the extra ones in Label Studio, or push to a new name",
            )
        if found:
            proj = client.get_project(int(found[0]["id"]))
    if proj is None:
        created = client.create_project(
            project, config, description=f"claim-corpus: {schema.name} v{schema.version}",
            expert_instruction=instructions, show_instruction=True,
            show_skip_button=True, enable_empty_annotation=False, **overlap_fields(overlap),
        )
        return created, True, False

    if (proj.get("label_config") or "").strip() == config.strip():
        if instructions and proj.get("expert_instruction") != instructions:
            client.update_project(int(proj["id"]), expert_instruction=instructions)
        return proj, False, False
    n_annotated = int(proj.get("num_tasks_with_annotations") or 0) or int(
        proj.get("total_annotations_number") or 0)
    same_schema = state is not None and state.get("schema_sha256") == schema.sha256
    if n_annotated and not same_schema:
        raise LabelStudioError(
            f"project {project!r} (id {proj['id']}) has {n_annotated} annotated tasks and was "
            f"pushed with another label schema than {schema.name!r} v{schema.version}; changing "
            "it could invalidate existing annotations",
            hint="push with the schema it was pushed with (--schema), or to a new project: "
            "`corpus push --project NEW_NAME`")
    removed = [t for t in (state or {}).get("targets") or [] if t not in targets]
    try:
        client.update_project(int(proj["id"]), label_config=config,
                              expert_instruction=instructions)
    except LabelStudioError as exc:
        if exc.status != 400 or not n_annotated or not removed:
            raise
        # Label Studio refuses a config that drops a control existing annotations answered.
        raise LabelStudioError(
            f"project {project!r} (id {proj['id']}): stance target(s) "
            f"{', '.join(removed) or '(changed)'} already have answers and cannot be removed",
            hint="keep them in --targets / the targets file (add new ones alongside); to start "
            "over with other targets push to a new project") from None
    return proj, False, True


def _record_state(sync: ProjectSync, state: dict[str, Any] | None, project_id: int,
                  url: str, schema: LabelSchema, targets: list[Target], config: str,
                  overlap: int | None = None) -> None:
    sync.write_state({
        "overlap": overlap,
        "project": sync.project, "project_id": project_id, "url": url,
        "schema_name": schema.name, "schema_version": schema.version,
        "schema_sha256": schema.sha256, "targets": [t.target for t in targets],
        "target_details": [t.as_dict() for t in targets],
        "label_config_sha256": _sha(config),
        # the screen asks only the targets a task mentions (absent: pushed by a version
        # that asked every target on every task, schema v1's screen)
        "stance_asked": "mentioned",
        "created_at": (state or {}).get("created_at") or now_iso(),
        "updated_at": now_iso(),
    })


def _record_screen(sync: ProjectSync, config: str, guidelines: Path) -> None:
    """Keep the label config and guidelines the project now has next to its state: a
    release ships them (what its annotators saw), whatever the files say later."""
    for path, text in ((sync.label_config_path, config),
                       (sync.guidelines_path, guidelines.read_text(encoding="utf-8"))):
        try:
            if path.read_text(encoding="utf-8") == text:
                continue
        except OSError:
            pass
        write_text(path, text)


def _recover(client: Any, sync: ProjectSync, project_id: int, ledger: dict[str, int],
             report: PushReport, *, created: bool, task_number: int) -> None:
    """Bring the ledger up to date with the project before importing anything.

    Needed after a crash between import and ledger write, with a lost ledger, or
    for a project filled by someone else; and, after an interrupted import, on
    every push until a late re-scan finds nothing new.
    """
    if created:
        sync.clear_pending()
        sync.clear_recheck()
    pending = sync.read_pending()
    needs_reconcile = sync.pending_path.exists() or (
        not created and not ledger and task_number > 0)
    recheck = sync.read_recheck()
    if sync.pending_path.exists():
        # The interrupted batch may still be imported by the server later: re-scan
        # from here on the next pushes too, until a late scan finds nothing.
        after = int(pending.get("after_task_id", 0)) if pending else 0
        recheck = {"after_task_id": min(after, recheck.get("after_task_id", after)),
                   "since": recheck.get("since", time.time())}
        sync.write_recheck(recheck)
    if not (needs_reconcile or recheck):
        return
    added, deleted, kept = _reconcile(
        client, project_id, ledger, after=int(recheck["after_task_id"]) if recheck else None)
    report.reconciled, report.duplicates_deleted, report.duplicates_kept = added, deleted, kept
    sync.write_ledger(ledger)
    sync.clear_pending()
    if recheck and not (added or deleted or kept) and (
            time.time() - float(recheck["since"]) > RECHECK_SECONDS):
        sync.clear_recheck()


def _import(client: Any, sync: ProjectSync, project_id: int, ledger: dict[str, int],
            todo: list[dict[str, Any]], batch_size: int, import_timeout: float | None,
            report: PushReport, progress: Progress | None) -> None:
    """Import ``todo`` in batches: pending first, then the import, then the ledger."""
    total = len(todo)
    if progress:
        progress(0, total)
    for lo in range(0, total, max(1, batch_size)):
        batch = todo[lo:lo + batch_size]
        sync.write_pending(project_id, max(ledger.values(), default=0),
                           [t["sentence_id"] for t in batch])
        ids = client.import_tasks(project_id, [{"data": t} for t in batch],
                                  batch_size=len(batch), read_timeout=import_timeout)
        for t, task_id in zip(batch, ids, strict=True):
            ledger[t["sentence_id"]] = int(task_id)
        sync.write_ledger(ledger)
        sync.clear_pending()
        report.imported += len(batch)
        if progress:
            progress(report.imported, total)


def push(
    workspace: Workspace | Path | str | None,
    project: str,
    *,
    targets: Sequence[str | Target] | None = None,
    limit: int | None = None,
    articles: Sequence[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    schema: LabelSchema | None = None,
    client: Any = None,
    allow_insecure: bool = False,
    import_timeout: float | None = DEFAULT_IMPORT_TIMEOUT,
    overlap: int | None = None,
    accept_suggested: bool = False,
    order: str | None = None,
    dedup: bool = True,
) -> PushReport:
    """Import one task per sentence into the Label Studio project ``project`` (created if missing).

    Idempotent and crash-safe (see the module docstring). ``targets`` are the
    stance targets: names or ``Target``s with aliases (see ``load_targets_file``);
    default: those stored for the project. A new project without them raises
    ``TargetsNotChosen`` with the corpus's suggestions, unless ``accept_suggested``.
    Targets can be added (and aliases changed) after annotation started; a target
    that has answers cannot be removed. ``limit`` caps the number of tasks imported
    by this run; ``articles`` restricts to these article ids. ``client`` is a
    ``LabelStudioClient`` or a ``label_studio_sdk.LabelStudio`` of your own (default: one for
    ``corpus.labelstudio.connection.connection``, which ``allow_insecure`` is passed to).
    ``import_timeout`` bounds one import request (None: wait as long as the server takes).
    ``overlap`` is how many different annotators Label Studio's queue gives each task to
    (None: the project's current setting, ``DEFAULT_OVERLAP`` for a new project); changing
    it on an existing project updates the project. ``order`` (uncertain, random, article) sets
    the order Label Studio serves tasks in (``corpus.labelstudio.queue``; None: leave it).
    ``dedup``: of each cluster of sentences that repeat across articles (split's
    ``cluster_id``), only one representative becomes a task: the member that already has
    a task in the project, else the one with the smallest ``sentence_id``
    (``corpus.duplicates.representatives``); a release gives its labels to the others.
    False sends every sentence.
    """
    if overlap is not None:
        check_int("overlap", overlap, minimum=1)
    if limit is not None:
        check_int("limit", limit, minimum=0)
    check_int("batch_size", batch_size, minimum=1)
    check_order(order)
    if import_timeout is not None:
        check_seconds("import_timeout", import_timeout)
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    schema = schema or load_schema()
    sync = ProjectSync.of(ws, project)
    t0 = time.perf_counter()
    # local input first: a missing or corrupt table is named before any network work
    tasks = build_tasks(ws, articles=articles)
    clusters = read_clusters(ws) if dedup else None
    own_client = client is None
    client = as_client(client) if client is not None else open_client(
        ws, allow_insecure=allow_insecure)
    try:
        with ws.lock(f"push.{project}"):
            sync.remove_stale(sync.state_path, sync.ledger_path, sync.pending_path,
                              sync.recheck_path)
            state = sync.read_state()
            chosen, suggested = _choose_targets(targets, state, schema, tasks, project,
                                                accept_suggested)
            target_list = [t.target for t in chosen]
            if schema.fields_of_kind("stance"):
                add_mentions(tasks, chosen)

            config = render_label_config(schema, chosen)
            instructions = guidelines_html(guidelines_path(schema))
            proj, created, updated = _find_or_create_project(
                client, sync, schema, state, config, instructions,
                overlap if overlap is not None else DEFAULT_OVERLAP, target_list)
            project_id = int(proj["id"])
            n_overlap, overlap_changed = _apply_overlap(client, proj, overlap, created)
            report = PushReport(project=project, project_id=project_id, url=client.url,
                                created=created, config_updated=updated, targets=target_list,
                                targets_suggested=suggested, candidates=len(tasks),
                                overlap=n_overlap, overlap_changed=overlap_changed,
                                annotators=_count_annotators(client),
                                order_changed=apply_order(client, proj, order),
                                model_version=str(proj.get("model_version") or ""),
                                dedup=dedup, dedup_unavailable=dedup and clusters is None)
            report.order = order
            if state is None or int(state.get("project_id", -1)) != project_id or updated \
                    or state.get("overlap") != n_overlap:
                _record_state(sync, state, project_id, client.url, schema, chosen, config,
                              n_overlap)
            _record_screen(sync, config, guidelines_path(schema))

            ledger = sync.read_ledger() if state is not None and not created else {}
            _recover(client, sync, project_id, ledger, report, created=created,
                     task_number=int(proj.get("task_number") or 0))

            todo = [t for t in tasks if t["sentence_id"] not in ledger]
            report.already = len(tasks) - len(todo)
            if clusters:
                from corpus.duplicates import representatives

                send, report.dedup_saved = representatives(
                    [t["sentence_id"] for t in todo], clusters, ledger.keys())
                todo = [t for t, ok in zip(todo, send, strict=True) if ok]
            if limit is not None and limit >= 0 and len(todo) > limit:
                report.remaining = len(todo) - limit
                todo = todo[:limit]
            t_import = time.perf_counter()
            _import(client, sync, project_id, ledger, todo, batch_size, import_timeout, report,
                    progress)
            if not sync.ledger_path.exists():
                sync.write_ledger(ledger)
            report.seconds = time.perf_counter() - (t_import if report.imported else t0)
            return report
    finally:
        if own_client:
            client.close()
