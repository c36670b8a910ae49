"""Data Manager queries: the filters push and pull send to ``/api/tasks``, and keyset paging.

Label Studio's Data Manager takes ``query={"filters": {...}, "ordering": [...]}``
on ``GET /api/tasks``. Everything that builds one lives here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from corpus.errors import LabelStudioError

DM_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""The only datetime format Label Studio's Data Manager filters parse."""

Item = dict[str, Any]
Query = dict[str, Any]


class TaskPager(Protocol):
    """What :func:`keyset` needs of a client."""

    def task_page(self, project_id: int, *, page: int = ..., page_size: int = ...,
                  query: Query | None = ..., fields: str = ...,
                  include: Sequence[str] | None = ...) -> dict[str, Any]: ...


def dm_datetime(value: datetime) -> str:
    """Format a datetime for a Data Manager filter (UTC, microseconds, ``Z``)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime(DM_DATETIME_FORMAT)


def item(column: str, operator: str, kind: str, value: Any) -> Item:
    """One filter item on a task column (``id``, ``updated_at``, ``total_annotations`` ...)."""
    return {"filter": f"filter:tasks:{column}", "operator": operator, "type": kind,
            "value": value}


def updated_after(since: datetime | str, *, inclusive: bool = False) -> Item:
    """Tasks whose ``updated_at`` is after ``since`` (it moves whenever one of the task's
    annotations is created, updated or deleted, Label Studio 1.23)."""
    value = since if isinstance(since, str) else dm_datetime(since)
    return item("updated_at", "greater_or_equal" if inclusive else "greater", "Datetime", value)


def query(items: Sequence[Item], ordering: str = "tasks:id") -> Query:
    """A Data Manager query: all ``items`` (and), ordered by ``ordering``."""
    return {"filters": {"conjunction": "and", "items": list(items)}, "ordering": [ordering]}


def updated_since_query(since: datetime | str, *, inclusive: bool = False) -> Query:
    """Tasks updated after ``since``, oldest first."""
    return query([updated_after(since, inclusive=inclusive)], ordering="tasks:updated_at")


def latest_update_query() -> Query:
    """Every task, the most recently updated first (the first one is the next watermark)."""
    return {"ordering": ["-tasks:updated_at"]}


def id_above_query(after_id: int) -> Query:
    """Tasks with an id above ``after_id``, in id order."""
    return query([item("id", "greater", "Number", after_id)])


def annotated_filters(since: datetime | None) -> list[list[Item]]:
    """Tasks with at least one annotation, as two filters: (A) with a submitted annotation,
    (B) with only skipped ones; both restricted to ``updated_at > since`` when given."""
    time_items = [updated_after(since)] if since is not None else []
    return [
        [*time_items, item("total_annotations", "greater", "Number", 0)],
        [*time_items, item("cancelled_annotations", "greater", "Number", 0),
         item("total_annotations", "equal", "Number", 0)],
    ]


def selected_query(task_ids: Sequence[int]) -> Query:
    """Exactly these tasks, in id order."""
    return {"selectedItems": {"all": False, "included": [int(t) for t in task_ids]},
            "ordering": ["tasks:id"]}


def keyset(client: TaskPager, project_id: int, items: Sequence[Item], *, fields: str,
           page_size: int, include: Sequence[str] | None = None, after: int = 0,
           upto: int | None = None, on_total: Callable[[int], None] | None = None
           ) -> Iterator[dict[str, Any]]:
    """Tasks matching ``items`` with ``after < id <= upto``, in id order, paged by
    ``id > last seen`` (never by offset).

    Offset pages shift when a task enters or leaves the filtered set while we page
    (e.g. a new annotation): a task could be skipped. A short page is not taken as
    the end (a server may cap ``page_size``): paging stops when a page holds all the
    tasks the server still counts (its ``total``), or at an empty page. ``on_total`` gets
    the first page's ``total`` (how many tasks match: for a progress bar).
    """
    bound = [item("id", "less_or_equal", "Number", upto)] if upto is not None else []
    while True:
        page_items = [*items, *bound, *([item("id", "greater", "Number", after)] if after else [])]
        body = client.task_page(project_id, page=1, page_size=page_size,
                                query=query(page_items), fields=fields, include=include)
        tasks = body.get("tasks") or []
        floor = after
        for task in tasks:
            after = max(after, int(task["id"]))
            yield task
        total = body.get("total")
        if on_total is not None and isinstance(total, int):
            on_total(total)
            on_total = None
        if not tasks or (isinstance(total, int) and len(tasks) >= total):
            return
        if after <= floor:  # the server ignored the filter: paging would never end
            raise LabelStudioError(
                f"Label Studio answered a Data Manager page of project {project_id} with "
                f"tasks it was asked to skip (id <= {floor})",
                hint="this Label Studio version does not filter tasks by id; use "
                "Label Studio >= 1.17",
            )
