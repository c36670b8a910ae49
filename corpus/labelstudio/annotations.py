"""Pull annotations from Label Studio into ``workspace/annotations.parquet``.

Only tasks that HAVE annotations, or that changed, are ever serialised with their
annotations (``fields=all`` costs Label Studio ~5-10 ms per task, so asking for every
task of a 20k project took minutes). Data Manager queries on ``/api/tasks`` are paged
by task id (keyset: ``id > last seen``, so tasks changing while we page can neither
shift nor hide others).

Incremental (the default once a watermark exists): one query reads the tasks whose
``updated_at`` is after the stored watermark minus ``overlap``, with their annotations
(a task's ``updated_at`` moves when one of its annotations is created, updated or
deleted); every fetched task's current annotations replace its stored rows, and a
held task read without annotations loses its rows. A bulk push only creates
unannotated tasks, so a pull right after a push fetches nothing. A deleted task leaves
no ``updated_at`` behind: the project's live annotation count (``/api/projects/counts``)
is compared with what we would hold after the pull. Fewer on the server, or more while
no task changed after our read (rows missing here, e.g. a restored old table), and the
ids of every annotated task are listed (seconds on 20k tasks), held tasks missing from
it re-read by id: only what the server no longer has is dropped. More while tasks
changed after our read is labelling in flight: the next pull reads it. The users are
only listed when an annotation is by an account the roster does not know.

The watermark is the highest task ``updated_at`` read, with the server's clock at the
first page (its ``Date`` header), so client clocks never matter. ``overlap`` (30 s) only
covers writes stamped before that read but committed after it (Label Studio runs in
autocommit: the gap is one statement, seconds for a bulk update on a loaded server); so
the next pull starts at ``min(watermark, read time - overlap)``: a pull started more
than ``overlap`` after the last change re-reads nothing, one started sooner re-reads
only what changed in that window.

First pull and ``full=True``: the tasks with a submitted (A) or only skipped (B)
annotation, without the time filter, replace all rows
of the project (so deleted tasks and annotations disappear); a project without
any annotation is not listed at all. The number of annotations read is checked
against the project's own live counts; if Label Studio's per-task counters were
stale the pull falls back to reading every task.

Rows are keyed by ``annotation_id``; skipped (cancelled) annotations are kept
with ``was_cancelled = True``; drafts are not annotations. Results the schema
does not know go to ``workspace/sync/<project>/rejects.jsonl`` with the reason
(the sync state: ``corpus.labelstudio.sync``).
Nothing is written until everything was fetched, and every write is atomic:
a server failure mid-pull leaves the table, the rejects and the watermark as
they were.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import CorpusError, LabelStudioError, SchemaError, WorkspaceError
from corpus.labelschema import (
    PREDICTION_FIELDS,
    LabelSchema,
    annotation_arrow_schema,
    load_schema,
    parse_result,
)
from corpus.labelstudio.client import as_client
from corpus.labelstudio.connection import open_client
from corpus.labelstudio.queries import (
    Item,
    Query,
    annotated_filters,
    item,
    keyset,
    latest_update_query,
    query,
    selected_query,
    updated_after,
)
from corpus.labelstudio.sync import ProjectSync, Watermark, parse_time
from corpus.labelstudio.users import is_removed, read_roster, remember_users
from corpus.storage.atomic import write_table
from corpus.storage.tables import read_table
from corpus.workspace import Workspace

Progress = Callable[[int, int], None]

OVERLAP = timedelta(seconds=30)
PAGE_SIZE = 250
"""Tasks per page when annotations are read."""
ID_PAGE_SIZE = 1000
"""Tasks per page when only ids are read."""
WINDOW = 1000
"""Task ids per unit of parallel work (a first pull splits the project's id range)."""
WORKERS = 2
"""Data Manager requests in flight at once (a server with more worker processes answers
them in parallel; the embedded one, a single process, overlaps them with our parsing)."""
TASK_FIELDS = ("id", "data", "updated_at", "annotations", "result", "completed_by",
               "was_cancelled", "ground_truth", "created_at", "lead_time", "parent_prediction",
               "last_action")
"""The task and annotation fields pull reads (Label Studio's ``include`` names fields at
every level): only these are serialised, 2.5x cheaper than every Data Manager column."""
ID_FIELDS = ("id",)
ANNOTATED_OR = {"conjunction": "or", "items": [
    item("total_annotations", "greater", "Number", 0),
    item("cancelled_annotations", "greater", "Number", 0)]}
"""Tasks with at least one annotation, submitted or skipped (one Data Manager filter)."""


@dataclass
class PullReport:
    """What one pull did."""

    project: str
    project_id: int
    full: bool = False
    since: str | None = None
    tasks_fetched: int = 0
    tasks_gone: int = 0
    annotations_seen: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    cancelled: int = 0
    rejected: int = 0
    total_rows: int = 0
    label_counts: dict[str, Counter[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rejects_path: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One-line human summary."""
        mode = "full" if self.full else (f"since {self.since}" if self.since else "first pull")
        line = (f"pull {self.project!r} (id {self.project_id}, {mode}): {self.tasks_fetched} "
                f"tasks, {self.added} added, {self.updated} updated, {self.removed} removed, "
                f"{self.cancelled} skipped, {self.tasks_gone} tasks deleted; "
                f"{self.total_rows} annotations of this project in {self.seconds:.2f} s")
        if self.rejected:
            line += f"; {self.rejected} REJECTED -> {self.rejects_path}"
        return line


def _latest_update(client: Any, project_id: int) -> tuple[datetime | None, datetime | None]:
    """Highest task ``updated_at`` of the project right now (the next watermark), and the
    server's clock when it answered (its ``Date`` header, rounded down; None if unknown)."""
    page = client.task_page(project_id, page=1, page_size=1, fields="task_only",
                            query=latest_update_query(), include=("id", "updated_at"))
    tasks = page.get("tasks") or []
    date = getattr(client, "server_date", None)
    read_at = date.astimezone(timezone.utc) if isinstance(date, datetime) and date.tzinfo else None
    return (parse_time(tasks[0].get("updated_at")) if tasks else None), read_at


def _id_range(client: Any, project_id: int, query_: Query) -> tuple[int, int, int] | None:
    """Lowest and highest id of the tasks ``query_`` matches, and how many there are
    (None: no such task)."""
    ends, total = [], 0
    for ordering in ("tasks:id", "-tasks:id"):
        body = client.task_page(project_id, page=1, page_size=1, fields="task_only",
                                query={**query_, "ordering": [ordering]}, include=ID_FIELDS)
        tasks = body.get("tasks") or []
        if not tasks:
            return None
        ends.append(int(tasks[0]["id"]))
        total = body.get("total") if isinstance(body.get("total"), int) else total
    return min(ends), max(ends), int(total or 0)


def _annotation_count(client: Any, project_id: int) -> int | None:
    """All annotations of the project (skipped included) by Label Studio's live count."""
    proj = client.get_project(project_id)
    total, skipped = proj.get("total_annotations_number"), proj.get("skipped_annotations_number")
    if not isinstance(total, int) or not isinstance(skipped, int):
        return None  # another Label Studio version: no shortcut, no check
    return total + skipped


def _user_emails(client: Any) -> dict[int, str]:
    try:
        return {int(u["id"]): str(u.get("email") or u.get("username") or u["id"])
                for u in client.list_users() if not is_removed(u)}
    except CorpusError:
        return {}


def _unknown_annotators(got: _Fetched, emails: Mapping[int, str]) -> bool:
    """Whether an annotation read is by an account the roster does not name yet (only
    then does an incremental pull ask the server for its users)."""
    for task in got.tasks.values():
        for ann in task.get("annotations") or []:
            raw = ann.get("completed_by")
            uid = raw.get("id") if isinstance(raw, Mapping) else raw
            if not isinstance(uid, int) or uid not in emails:
                return True
    return False


def _annotator(raw: Any, emails: Mapping[int, str]) -> str:
    if isinstance(raw, Mapping):
        uid = raw.get("id")
        known = emails.get(uid) if isinstance(uid, int) else None
        if known:
            return known
        if raw.get("email") == "Deleted" and isinstance(uid, int):
            return f"user:{uid}"  # Label Studio hides a removed member's e-mail
        return str(raw.get("email") or raw.get("username") or uid)
    if isinstance(raw, int):
        return emails.get(raw, f"user:{raw}")
    return str(raw) if raw is not None else ""


def read_annotations(workspace: Workspace, schema: LabelSchema) -> pa.Table:
    """The annotations table (empty with the schema's columns if there is none yet)."""
    arrow = annotation_arrow_schema(schema)
    path = workspace.annotations
    if not path.exists():
        return arrow.empty_table()
    table = read_table(path)  # a corrupt file: WorkspaceError naming `corpus pull --full`
    added = [f for f in PREDICTION_FIELDS if f.name not in table.schema.names]
    if added and len(table.schema.names) + len(added) == len(arrow.names):
        # a table pulled before predictions were recorded: those columns are unknown (null)
        for f in added:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
        table = table.select(arrow.names)
    if table.schema.names != arrow.names:
        raise WorkspaceError(
            f"{path} has columns {table.schema.names}, the schema {schema.name!r} "
            f"v{schema.version} expects {arrow.names}",
            hint="the label schema changed: move the file away and run `corpus pull --full`",
        )
    try:
        return table.cast(arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        changed = [f.name for f, g in zip(table.schema, arrow, strict=True) if f.type != g.type]
        raise WorkspaceError(
            f"{path} holds {', '.join(changed)} in another form than the schema "
            f"{schema.name!r} v{schema.version} (e.g. a v1 table: one stance_holder per "
            "sentence)",
            hint="the label schema changed: move the file away and run `corpus pull --full` "
            "for each project (v1 annotations are mapped, see docs/design.md)") from None


def _project_id(client: Any, project: str, state: dict[str, Any] | None) -> int:
    if state is not None:
        return int(state["project_id"])
    found = client.list_projects(title=project)
    if len(found) != 1:
        raise WorkspaceError(
            f"project {project!r} was never pushed from this workspace "
            f"({len(found)} projects with that title on {client.url})",
            hint=f"run `corpus push --project {project}` first",
        )
    return int(found[0]["id"])


def _since(sync: ProjectSync, project_id: int, overlap: timedelta) -> datetime | None:
    """Where an incremental pull starts (None: read everything).

    Writes stamped before the watermark's server read time minus ``overlap`` had
    committed when the watermark was read: only later stamps need a re-read.
    """
    mark = sync.read_watermark(project_id)
    if mark is None:
        return None
    if mark.server_time is None:
        return mark.updated_at - overlap
    return mark.updated_at - max(timedelta(0), overlap - (mark.server_time - mark.updated_at))


@dataclass
class _Fetched:
    """What the server holds now for the tasks a pull looked at."""

    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> task with annotations
    emptied: set[int] = field(default_factory=set)  # tasks we hold rows for that have none left
    gone: set[int] = field(default_factory=set)  # tasks we hold rows for that were deleted

    def add(self, task: dict[str, Any]) -> None:
        self.tasks[int(task["id"])] = task  # a later read wins


def _windows(lo: int, hi: int, n_tasks: int) -> list[tuple[int, int]]:
    """``(after, upto]`` id windows covering ``[lo, hi]``, about ``WINDOW`` tasks each
    (task ids are global to a server: one project's ids can be sparse)."""
    count = max(1, min(-(-n_tasks // WINDOW), hi - lo + 1))
    step = -(-(hi - lo + 1) // count)
    return [(a, min(a + step, hi)) for a in range(lo - 1, hi, step)]


def _in_parallel(client: Any, project_id: int, items: list[Item], *, include: tuple[str, ...],
                 page_size: int, workers: int, fields: str = "all",
                 on_page: Callable[[list[dict[str, Any]]], None]) -> None:
    """Every task matching ``items``: the id range is cut into windows read by ``workers``
    requests in flight; ``on_page`` gets each window's tasks (in the calling thread)."""
    span = _id_range(client, project_id, {"filters": {"conjunction": "and", "items": items}})
    if span is None:
        return
    windows = _windows(*span)

    def run(window: tuple[int, int]) -> list[dict[str, Any]]:
        return list(keyset(client, project_id, items, fields=fields, page_size=page_size,
                           include=include, after=window[0], upto=window[1]))

    if workers <= 1 or len(windows) == 1:
        for w in windows:
            on_page(run(w))
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pull")
    try:
        for future in [pool.submit(run, w) for w in windows]:
            on_page(future.result())
    finally:  # on an error (or Ctrl-C) the windows not started yet are dropped
        pool.shutdown(wait=True, cancel_futures=True)


def _fetch_annotated(client: Any, project_id: int, since: datetime | None, got: _Fetched,
                     progress: Progress | None, workers: int, expected: int) -> None:
    """Tasks with annotations (changed after ``since``): with a submitted one (A, in
    parallel windows when reading everything), then with only skipped ones (B)."""
    def take(tasks: list[dict[str, Any]]) -> None:
        for task in tasks:
            got.add(task)
        if progress:
            progress(len(got.tasks), max(expected, len(got.tasks)))

    submitted, skipped = annotated_filters(since)
    if since is None:
        _in_parallel(client, project_id, submitted, include=TASK_FIELDS, page_size=PAGE_SIZE,
                     workers=workers, on_page=take)
    else:
        take(list(keyset(client, project_id, submitted, fields="all", page_size=PAGE_SIZE,
                         include=TASK_FIELDS)))
    take(list(keyset(client, project_id, skipped, fields="all", page_size=PAGE_SIZE,
                     include=TASK_FIELDS)))


def _fetch_snapshot(client: Any, project_id: int, got: _Fetched) -> bool:
    """Every annotated task in one snapshot export filtered by a temporary Data Manager view
    (Label Studio serialises a task for an export at ~2.9 ms, for a Data Manager page at
    ~4 ms: its Data Manager builds a serializer per task). False if the server offers no
    snapshot exports (then pages are read)."""
    if not hasattr(client, "snapshot"):
        return False
    try:
        view = client.create_view(project_id, ANNOTATED_OR, title="claim-corpus pull (temporary)")
    except LabelStudioError as exc:
        if exc.status in (403, 404, 405):
            return False
        raise
    try:
        tasks = client.snapshot(project_id, view_id=int(view["id"]))
    except LabelStudioError as exc:
        if exc.status in (403, 404, 405):
            return False
        raise
    finally:
        try:
            client.delete_view(int(view["id"]))
        except LabelStudioError:
            pass  # a leftover tab in the Data Manager, nothing lost
    for task in tasks:
        if task.get("annotations"):
            got.add(task)
    return True


def _annotated_count(client: Any, project_id: int) -> int | None:
    """Tasks with at least one annotation (submitted or skipped), by the Data Manager
    (one request: every Data Manager request costs ~0.15 s on a 20k-task project)."""
    body = client.task_page(project_id, page=1, page_size=1, fields="task_only",
                            query={"filters": ANNOTATED_OR, "ordering": ["tasks:id"]},
                            include=ID_FIELDS)
    total = body.get("total")
    return total if isinstance(total, int) else None


def _fetch_full(client: Any, project_id: int, report: PullReport,
                progress: Progress | None, workers: int) -> _Fetched:
    """Every annotated task; checked against the project's live annotation count."""
    got = _Fetched()
    expected = _annotation_count(client, project_id)
    if expected == 0:  # a project without annotations is not listed
        return got
    n_tasks = _annotated_count(client, project_id) or 0
    if progress:
        progress(0, n_tasks)
    if not _fetch_snapshot(client, project_id, got):
        _fetch_annotated(client, project_id, None, got, progress, workers, n_tasks)
    elif progress:
        progress(len(got.tasks), max(n_tasks, len(got.tasks)))
    after = _annotation_count(client, project_id)
    seen = sum(len(t.get("annotations") or []) for t in got.tasks.values())
    if expected is not None and expected == after and seen != after:
        report.warnings.append(
            f"Label Studio's per-task annotation counters are stale ({seen} annotations on "
            f"tasks counted as annotated, {after} in the project): read every task instead")
        got.tasks.clear()

        def keep(tasks: list[dict[str, Any]]) -> None:
            for task in tasks:
                if task.get("annotations"):
                    got.add(task)

        _in_parallel(client, project_id, [], include=TASK_FIELDS, page_size=PAGE_SIZE,
                     workers=workers, on_page=keep)
    return got


def _annotations_on_server(client: Any, project_id: int) -> int | None:
    """All annotations of the project (skipped included) from its two live counters only
    (``/api/projects/counts/``; a client without that call: the project's full record)."""
    counts = getattr(client, "project_counts", None)
    if counts is None:
        return _annotation_count(client, project_id)
    got = counts(project_id, "total_annotations_number", "skipped_annotations_number")
    total, skipped = got.get("total_annotations_number"), got.get("skipped_annotations_number")
    if not isinstance(total, int) or not isinstance(skipped, int):
        return None
    return total + skipped


def _server_date(client: Any) -> datetime | None:
    """The server's clock at its last answer (its ``Date`` header; None if unknown)."""
    date = getattr(client, "server_date", None)
    return date.astimezone(timezone.utc) if isinstance(date, datetime) and date.tzinfo else None


def _fetch_changed(client: Any, project_id: int, since: datetime, held: Mapping[int, int],
                   progress: Progress | None
                   ) -> tuple[_Fetched, datetime | None, datetime | None]:
    """Tasks changed since ``since`` with their annotations; held tasks that lost every
    annotation or were deleted; the highest ``updated_at`` read (None: nothing changed)
    and the server's clock when the first page was read.

    ``held`` maps each task we hold rows (or rejects) for to how many annotations we hold.
    One keyset query reads the changed tasks with their annotations (the time filter does
    the selecting: a separate id listing first would cost a request and gain nothing). A
    deleted task leaves no ``updated_at`` behind: the project's live annotation count shows
    it, and only when the server counts fewer annotations than we would hold after this
    pull, or more while nothing changed after our read (rows missing here), are the
    annotated task ids listed. More on the server while tasks changed after our read is
    labelling that went on meanwhile: the next pull reads it (and what it hid)."""
    got = _Fetched()
    stamps: list[datetime] = []
    read_at: datetime | None = None
    expected = [0]

    def counted(total: int) -> None:
        expected[0] = total
        if progress:
            progress(0, total)

    for n, task in enumerate(keyset(client, project_id, [updated_after(since)], fields="all",
                                    page_size=PAGE_SIZE, include=TASK_FIELDS,
                                    on_total=counted), 1):
        if read_at is None:
            # the first page's clock: a later page can only read more, so it is the safe one
            read_at = _server_date(client)
        stamp = parse_time(task.get("updated_at"))
        if stamp is not None:
            stamps.append(stamp)
        task_id = int(task["id"])
        if task.get("annotations"):
            got.add(task)
        elif task_id in held:
            got.emptied.add(task_id)
        if progress and n % PAGE_SIZE == 0:
            progress(n, max(n, expected[0]))
    if read_at is None:
        read_at = _server_date(client)
    on_server = _annotations_on_server(client, project_id)
    looked_at = set(got.tasks) | got.emptied
    after = (sum(n for t, n in held.items() if t not in looked_at)
             + sum(len(t.get("annotations") or []) for t in got.tasks.values()))
    newest = max(stamps) if stamps else None
    if on_server is None or on_server < after or (
            on_server > after and not _changed_since(client, project_id, newest or since)):
        _find_gone(client, project_id, held, got, progress)
    return got, newest, read_at


def _changed_since(client: Any, project_id: int, stamp: datetime) -> bool:
    """Whether a task changed after ``stamp`` (one count, no task serialised): the server
    counting more annotations than we hold is then labelling after our read; otherwise we
    miss rows (e.g. a table restored from an old copy) and look for them."""
    body = client.task_page(project_id, page=1, page_size=1,
                            query=query([updated_after(stamp)]), fields="task_only",
                            include=ID_FIELDS)
    total = body.get("total")
    return bool(body.get("tasks")) if not isinstance(total, int) else total > 0


def _read_by_id(client: Any, project_id: int, task_ids: list[int], held: Mapping[int, int],
                got: _Fetched, progress: Progress | None) -> None:
    """Read these tasks with their annotations; a held one without annotations is emptied,
    a held one the server no longer has is gone."""
    seen: set[int] = set()
    for lo in range(0, len(task_ids), PAGE_SIZE):
        chunk = task_ids[lo:lo + PAGE_SIZE]
        for task in client.iter_tasks(project_id, query=selected_query(chunk),
                                      page_size=PAGE_SIZE, fields="all", include=TASK_FIELDS):
            task_id = int(task["id"])
            seen.add(task_id)
            if task.get("annotations"):
                got.add(task)
            elif task_id in held:
                got.emptied.add(task_id)
        if progress:
            progress(min(lo + PAGE_SIZE, len(task_ids)), len(task_ids))
    got.gone |= {t for t in task_ids if t in held and t not in seen}


def _find_gone(client: Any, project_id: int, held: Mapping[int, int], got: _Fetched,
               progress: Progress | None) -> None:
    """List the ids of every annotated task, and re-read by id each task that we would
    drop or that we do not hold: only what the server no longer has is gone."""
    local = (set(held) - got.emptied - got.gone) | set(got.tasks)
    # One "or" filter (a task moving from skipped-only to submitted stays in it); the Data
    # Manager cannot "and" an id bound to it, so these pages go by offset: a task they miss
    # while the set changes is at worst read again below, never dropped.
    annotated = {int(t["id"]) for t in client.iter_tasks(
        project_id, query={"filters": ANNOTATED_OR, "ordering": ["tasks:id"]},
        page_size=ID_PAGE_SIZE, fields="task_only", include=ID_FIELDS)}
    # Candidates are read again by id before anything is dropped: a task whose counters
    # read 0 while it has annotations, or one that changed during the listing, is kept.
    suspects = sorted(((set(held) - got.emptied - got.gone - set(got.tasks)) - annotated)
                      | (annotated - local))
    _read_by_id(client, project_id, suspects, held, got, progress)


def _next_mark(previous: Watermark | None, project_id: int, newest: datetime | None,
               read_at: datetime | None) -> Watermark | None:
    """The watermark after an incremental pull: the highest ``updated_at`` seen (the listing
    re-reads the overlap, so what it lists can be older than the previous mark), read at the
    listing's time. Nothing listed: the previous mark, read now (a pull started more than
    the overlap after the last change then re-reads nothing next time)."""
    stamps = [t for t in (newest, previous.updated_at if previous else None) if t is not None]
    return Watermark(project_id, max(stamps), read_at) if stamps else None


def _parent_id(ann: Mapping[str, Any]) -> int | None:
    raw = ann.get("parent_prediction")
    if isinstance(raw, Mapping):
        raw = raw.get("id")
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _parent_predictions(client: Any, got: _Fetched, known: Mapping[int, dict[str, Any]]
                        ) -> dict[int, dict[str, Any]]:
    """``id -> prediction`` (``model_version``, ``result``) of every parent prediction of the
    annotations read: from the snapshot (it embeds them), ``known`` (what ``corpus predict``
    recorded), else asked from the server one by one (predictions made elsewhere)."""
    out: dict[int, dict[str, Any]] = {}
    wanted: set[int] = set()
    for task in got.tasks.values():
        for ann in task.get("annotations") or []:
            pid = _parent_id(ann)
            if pid is None:
                continue
            embedded = ann.get("prediction")
            if isinstance(embedded, Mapping) and embedded.get("id") == pid:
                out[pid] = dict(embedded)
            elif pid in known:
                out[pid] = dict(known[pid])
            else:
                wanted.add(pid)
    if wanted:
        from corpus.labelstudio.predictions import get_prediction

        for pid in sorted(wanted - set(out)):
            found = get_prediction(client, pid)
            if found is not None:
                out[pid] = found
    return out


def _from_prediction(ann: Mapping[str, Any], parents: Mapping[int, Mapping[str, Any]],
                     schema: LabelSchema, text: str, targets: Any) -> dict[str, Any]:
    """The prediction columns of one annotation row (``labelschema.PREDICTION_FIELDS``)."""
    pid = _parent_id(ann)
    parent = parents.get(pid) if pid is not None else None
    accepted: bool | None = None
    if parent is not None and not ann.get("was_cancelled"):
        try:
            accepted = (parse_result(schema, ann.get("result") or [], text, targets=targets)
                        == parse_result(schema, parent.get("result") or [], text,
                                        targets=targets))
        except SchemaError:
            accepted = False
    last = ann.get("last_action")
    return {"parent_prediction": pid,
            "prediction_model_version": (str(parent["model_version"]) if parent is not None
                                         and parent.get("model_version") is not None else None),
            "prediction_accepted": accepted,
            "last_action": last if isinstance(last, str) else None}
def _mentioned(data: Mapping[str, Any], targets: Sequence[str] | None) -> list[str] | None:
    """The targets a task's data says it mentions (None: the task has no such list)."""
    from corpus.labelschema import target_slug
    from corpus.labelstudio.render import MENTIONED_KEY

    lists = data.get(MENTIONED_KEY)
    if not isinstance(lists, Mapping) or targets is None:
        return None
    return [t for t in targets if lists.get(target_slug(t))]


def _to_rows(client: Any, got: _Fetched, project_id: int, schema: LabelSchema,
             state: dict[str, Any] | None, emails: Mapping[int, str],
             report: PullReport, predictions: Mapping[int, dict[str, Any]] | None = None,
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One typed row per annotation, or a reject with the reason."""
    targets = state.get("targets") if state else None
    schema_version = int((state or {}).get("schema_version") or schema.version)
    # pushed before per-task targets: every target was asked on every task (v1 mapping)
    every_target = bool(state) and (state or {}).get("stance_asked") != "mentioned"
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    parents = _parent_predictions(client, got, predictions or {})
    for task_id, task in sorted(got.tasks.items()):
        data = task.get("data") or {}
        sentence_id = data.get("sentence_id")
        text = data.get("text") or ""
        anns = task.get("annotations") or []
        if any("result" not in a for a in anns):
            anns = client.list_annotations(task_id)
        for ann in anns:
            report.annotations_seen += 1
            base = {
                "sentence_id": sentence_id,
                "annotation_id": int(ann["id"]),
                "ls_task_id": task_id,
                "ls_project_id": project_id,
                "annotator": _annotator(ann.get("completed_by"), emails),
                "created_at": parse_time(ann.get("created_at")),
                "updated_at": parse_time(ann.get("updated_at")),
                "lead_time": (float(ann["lead_time"])
                              if ann.get("lead_time") is not None else None),
                "was_cancelled": bool(ann.get("was_cancelled")),
                "ground_truth": bool(ann.get("ground_truth")),
                "schema_version": schema_version,
                **_from_prediction(ann, parents, schema, text, targets),
            }
            try:
                if not isinstance(sentence_id, str):
                    raise SchemaError(f"task {task_id} has no data.sentence_id",
                                      hint="push tasks with `corpus push`")
                values = parse_result(schema, ann.get("result") or [], text, targets=targets,
                                      asks_every_target=every_target,
                                      mentioned=_mentioned(data, targets))
            except SchemaError as exc:
                rejects.append({
                    "annotation_id": base["annotation_id"], "ls_task_id": task_id,
                    "ls_project_id": project_id, "sentence_id": sentence_id,
                    "annotator": base["annotator"], "reason": str(exc),
                    "result": ann.get("result"), "updated_at": ann.get("updated_at"),
                })
                continue
            rows.append({**base, **values})
    return rows, rejects


def _recorded_predictions(ws: Workspace, project: str) -> dict[int, dict[str, Any]]:
    """``prediction id -> {model_version, result}`` as ``corpus predict`` recorded them."""
    import json

    from corpus.labelstudio.predictions import read_predictions

    try:
        table = read_predictions(ws, project)
    except WorkspaceError:  # only a cache: the server is asked instead
        return {}
    out: dict[int, dict[str, Any]] = {}
    for pid, version, result in zip(table["prediction_id"].to_pylist(),
                                    table["model_version"].to_pylist(),
                                    table["result"].to_pylist(), strict=True):
        if pid is not None:
            out[int(pid)] = {"id": int(pid), "model_version": version,
                             "result": json.loads(result) if result else []}
    return out


def _merge(old: pa.Table, in_project: pa.ChunkedArray, rows: list[dict[str, Any]],
           arrow: pa.Schema, replaced_tasks: set[int] | None, report: PullReport) -> pa.Table:
    """Replace the rows of the fetched tasks (all of the project's when ``replaced_tasks`` is
    None) by ``rows``; count what was added, updated, removed."""
    new = pa.Table.from_pylist(rows, schema=arrow) if rows else arrow.empty_table()
    if replaced_tasks is None:
        replaced = in_project
    else:
        replaced = pc.and_(in_project, pc.is_in(
            old["ls_task_id"], value_set=pa.array(sorted(replaced_tasks), pa.int64())))
    replaced = pc.fill_null(replaced, False)
    before = {r["annotation_id"]: r for r in old.filter(replaced).to_pylist()}
    for r in rows:
        prev = before.pop(r["annotation_id"], None)
        if prev is None:
            report.added += 1
        elif prev == r:
            report.unchanged += 1
        else:
            report.updated += 1
    report.removed = len(before)
    return pa.concat_tables([old.filter(pc.invert(replaced)), new]).sort_by(
        [("ls_project_id", "ascending"), ("ls_task_id", "ascending"),
         ("annotation_id", "ascending")])


def pull(
    workspace: Workspace | Path | str | None,
    project: str,
    *,
    full: bool = False,
    progress: Progress | None = None,
    schema: LabelSchema | None = None,
    client: Any = None,
    overlap: timedelta = OVERLAP,
    allow_insecure: bool = False,
    workers: int = WORKERS,
) -> PullReport:
    """Fetch new/changed annotations of ``project`` and merge them into annotations.parquet.

    ``client`` is a ``LabelStudioClient`` or a ``label_studio_sdk.LabelStudio`` of your
    own (default: one for ``corpus.labelstudio.connection.connection``, which
    ``allow_insecure`` is passed to). ``workers``: Data Manager requests in flight at once.
    """
    from corpus.errors import check_int

    check_int("workers", workers, minimum=1, maximum=16)
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    schema = schema or load_schema()
    t0 = time.perf_counter()
    sync = ProjectSync.of(ws, project)
    state = sync.read_state()
    own_client = client is None
    client = as_client(client) if client is not None else open_client(
        ws, allow_insecure=allow_insecure)
    try:
        project_id = _project_id(client, project, state)
        report = PullReport(project=project, project_id=project_id, full=full,
                            rejects_path=sync.rejects_path)
        if state and state.get("schema_sha256") not in (None, schema.sha256):
            report.warnings.append(
                f"the schema changed since the project was pushed "
                f"(pushed v{state.get('schema_version')}, now v{schema.version})")
        with ws.lock("pull"):
            sync.remove_stale(ws.annotations, sync.watermark_path, sync.rejects_path)
            since = None if full else _since(sync, project_id, overlap)
            report.since = since.isoformat() if since else None

            # 1. fetch everything first (nothing is written if the server fails)
            old = read_annotations(ws, schema)
            in_project = pc.fill_null(pc.equal(old["ls_project_id"], project_id), False)
            old_rejects = sync.read_rejects()
            held: Counter[int] = Counter(
                t for t in old.filter(in_project)["ls_task_id"].to_pylist() if t is not None)
            held.update(int(r["ls_task_id"]) for r in old_rejects
                        if isinstance(r.get("ls_task_id"), int))
            if since is None:
                new_mark, read_at = _latest_update(client, project_id)
                got = _fetch_full(client, project_id, report, progress, workers)
                mark = Watermark(project_id, new_mark, read_at) if new_mark else None
            else:
                got, newest, read_at = _fetch_changed(client, project_id, since, held, progress)
                mark = _next_mark(sync.read_watermark(project_id), project_id, newest, read_at)
            emails = read_roster(ws, client.url)
            if since is None or _unknown_annotators(got, emails):
                emails = remember_users(ws, client.url, _user_emails(client))
            rows, rejects = _to_rows(client, got, project_id, schema, state, emails, report,
                                     _recorded_predictions(ws, project))
            fetched_tasks = set(got.tasks) | got.emptied | got.gone
            report.tasks_gone = len(got.gone)

            # 2. merge
            merged = _merge(old, in_project, rows, annotation_arrow_schema(schema),
                            None if since is None else fetched_tasks, report)
            kept_rejects = [] if since is None else [
                r for r in old_rejects if r.get("ls_task_id") not in fetched_tasks]
            all_rejects = kept_rejects + rejects
            report.rejected = len(all_rejects)

            # 3. write (atomic, table first, watermark last)
            if report.added or report.updated or report.removed or not ws.annotations.exists():
                write_table(ws.annotations, merged)
            sync.write_rejects(all_rejects)
            if mark is not None:
                sync.write_watermark(mark)

            mine = merged.filter(pc.equal(merged["ls_project_id"], project_id))
            report.total_rows = mine.num_rows
            report.tasks_fetched = len(got.tasks)
            report.cancelled = int(pc.sum(pc.cast(mine["was_cancelled"], pa.int64())).as_py()
                                   or 0)
            report.label_counts = label_counts(mine, schema)
        report.seconds = time.perf_counter() - t0
        return report
    finally:
        if own_client:
            client.close()


def label_counts(table: pa.Table, schema: LabelSchema) -> dict[str, Counter[str]]:
    """Per field, how many (non-cancelled) annotations chose each value (stance values as
    ``target:label``); counted by Arrow, not row by row."""
    rows = table.filter(pc.invert(pc.fill_null(table["was_cancelled"], False)))
    out: dict[str, Counter[str]] = {}
    for f in schema.fields:
        out[f.name] = _count(_values(rows.column(f.name), f.kind))
    return out


def _values(column: pa.ChunkedArray, kind: str) -> pa.Array | pa.ChunkedArray:
    """Every value a field's column holds, one per choice (nulls left out)."""
    if kind == "single":
        return column
    flat = pc.list_flatten(column)
    if kind == "multi":
        return flat
    if kind == "stance":
        return pc.binary_join_element_wise(pc.struct_field(flat, "target"),
                                           pc.struct_field(flat, "label"), ":")
    return pc.struct_field(flat, "label")


def _count(values: pa.Array | pa.ChunkedArray) -> Counter[str]:
    counts = pc.value_counts(values)
    return Counter({str(v): int(n) for v, n in zip(counts.field("values").to_pylist(),
                                                   counts.field("counts").to_pylist(),
                                                   strict=True) if v is not None})


__all__ = ["PullReport", "label_counts", "pull", "read_annotations"]

