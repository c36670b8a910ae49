"""What Label Studio serves next: ``push --order uncertain|random|article``.

Label Studio 1.23 Community has two queues, and each honours something else (measured,
docs/design.md "What to label next"):

- ``GET /api/projects/{id}/next`` (the API, and any client of it) follows the project's
  ``sampling``: ``Uncertainty sampling`` serves the lowest prediction ``score`` of the
  project's ``model_version`` first, ``Uniform sampling`` at random, ``Sequential
  sampling`` by task id;
- the labelling stream of the web UI (``/projects/{id}/data?labeling=1``) asks
  ``POST /api/dm/actions?id=next_task`` with the filters and ordering of the Data Manager
  tab it was started from; a request with those is served in the tab's order ("Data
  manager queue") and sampling is never consulted.

So an order sets both: the project's ``sampling``, and a shared Data Manager tab
(``QUEUE_TAB``, made the first tab, which the stream opens when the annotator has not
picked another) ordered by the prediction score of the project's model version, by
``data.sentence_id`` (a hash: a fixed shuffle, the same for everyone) or by task id.
"""

from __future__ import annotations

from typing import Any

from corpus.errors import ConfigError

ORDERS = {"uncertain": "Uncertainty sampling", "random": "Uniform sampling",
          "article": "Sequential sampling"}
"""``--order`` -> the project's ``sampling`` (what ``/api/projects/{id}/next`` follows)."""
TAB_ORDERING = {"uncertain": ["tasks:predictions_score"], "random": ["tasks:data.sentence_id"],
                "article": ["tasks:id"]}
"""``--order`` -> the Data Manager ordering of ``QUEUE_TAB`` (what the web UI's stream
follows). ``predictions_score`` is the mean score of the project's ``model_version``;
tasks without such a prediction sort first."""
QUEUE_TAB = "claim-corpus queue"


def check_order(order: str | None) -> None:
    """ConfigError naming ``--order`` for an unknown order."""
    if order is not None and order not in ORDERS:
        raise ConfigError(f"unknown order {order!r} (--order)",
                          hint=f"use one of: {', '.join(ORDERS)}")


def queue_tab(client: Any, project_id: int) -> dict[str, Any] | None:
    """The project's ``QUEUE_TAB`` (None if there is none)."""
    views = client.request("GET", "/api/dm/views/", params={"project": project_id}) or []
    return next((v for v in views if (v.get("data") or {}).get("title") == QUEUE_TAB), None)


def _views(client: Any, project_id: int) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = client.request(
        "GET", "/api/dm/views/", params={"project": project_id}) or []
    return sorted(views, key=lambda v: (int(v.get("order") or 0), int(v["id"])))


def _set_tab(client: Any, project_id: int, order: str) -> bool:
    """Create or re-sort ``QUEUE_TAB`` and make it the first tab; whether anything changed."""
    views = _views(client, project_id)
    mine = next((v for v in views if (v.get("data") or {}).get("title") == QUEUE_TAB), None)
    data = {"title": QUEUE_TAB, "ordering": TAB_ORDERING[order],
            "filters": {"conjunction": "and", "items": []}}
    changed = False
    if mine is None:
        mine = client.request("POST", "/api/dm/views/", idempotent=False,
                              json_body={"project": project_id, "data": data})
        views = _views(client, project_id)
        changed = True
    elif (mine.get("data") or {}).get("ordering") != data["ordering"]:
        client.request("PATCH", f"/api/dm/views/{mine['id']}/",
                       json_body={"project": project_id,
                                  "data": {**(mine.get("data") or {}), **data}})
        changed = True
    assert mine is not None
    if views and int(views[0]["id"]) != int(mine["id"]):
        # the labelling stream opens the first tab (Label Studio assigns `order` itself)
        ids = [int(mine["id"])] + [int(v["id"]) for v in views if v["id"] != mine["id"]]
        client.request("POST", "/api/dm/views/order/", idempotent=True,
                       json_body={"project": project_id, "ids": ids})
        changed = True
    return changed


def apply_order(client: Any, project: dict[str, Any], order: str | None) -> bool:
    """Set the project's sampling and its queue tab for ``order`` (None: leave both);
    whether anything changed."""
    check_order(order)
    if order is None:
        return False
    changed = False
    if project.get("sampling") != ORDERS[order]:
        client.update_project(int(project["id"]), sampling=ORDERS[order])
        changed = True
    return _set_tab(client, int(project["id"]), order) or changed


__all__ = ["ORDERS", "QUEUE_TAB", "TAB_ORDERING", "apply_order", "check_order", "queue_tab"]
