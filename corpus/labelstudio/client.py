"""A small typed client for the Label Studio REST API (httpx, retries, both token kinds).

Only what push, pull and the tests need. Results are plain dicts and lists as
Label Studio returns them. Error policy:

- connection refused / DNS failure -> ``ServerUnavailable`` at once (no retry);
- 5xx, timeouts and dropped connections -> retried with exponential backoff,
  then ``ServerUnavailable``; a POST is only retried when it surely did not
  reach the server (connect errors, 502/503/504), because e.g. a re-sent import
  would create the tasks twice;
- 401 -> ``AuthError`` (a personal access token is first refreshed once);
- other 4xx -> ``LabelStudioError`` with the server's message on one line.

Headers are never logged and the token never appears in any message.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from corpus.errors import AuthError, LabelStudioError, ServerUnavailable
from corpus.labelstudio.connection import Connection, TokenKind, token_kind
from corpus.labelstudio.queries import updated_since_query

log = logging.getLogger(__name__)

JSON = Any

_START_HINT = "start it with `corpus server start` or set LABEL_STUDIO_URL"
_KEY_HELP = (
    "LABEL_STUDIO_API_KEY must be a token of this server: either a personal access token "
    "(a JWT, the default since Label Studio 1.17; it is exchanged at /api/token/refresh/) or "
    "a legacy token (40 hex characters, accepted only if the organisation enables legacy "
    "tokens: LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true when the server first created it, or "
    "Organization > API Tokens settings); copy a fresh one from Account & Settings"
)


class _Retry(Exception):
    """Internal: a transient fault worth another attempt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_AUTH_VALUE = re.compile(r"\b(Token|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}")


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace and trim to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _server_message(response: httpx.Response) -> str:
    """The useful part of a Label Studio error body, on one line."""
    try:
        body = response.json()
    except ValueError:
        ctype = response.headers.get("content-type", "")
        if "html" in ctype:
            return response.reason_phrase or "error page"
        return one_line(response.text) or (response.reason_phrase or "")
    if isinstance(body, dict):
        parts = [str(body.get("detail") or "")]
        errors = body.get("validation_errors")
        if errors:
            parts.append(json.dumps(errors, ensure_ascii=False))
        elif not parts[0]:
            parts = [json.dumps(body, ensure_ascii=False)]
        return one_line(": ".join(p for p in parts if p))
    return one_line(json.dumps(body, ensure_ascii=False))


def _jwt_expiry(token: str) -> float | None:
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(data["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class LabelStudioClient:
    """Typed access to one Label Studio server.

    ``attempts``/``backoff``/``max_backoff`` tune the retries of transient
    faults (tests pass tiny delays); ``transport`` allows a mock transport.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        kind: TokenKind | None = None,
        timeout: float = 30.0,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token.strip()
        self.token_kind: TokenKind = kind or token_kind(self._token)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._access: str | None = None
        self._access_exp: float | None = None
        self.server_date: datetime | None = None
        """The ``Date`` header of the last response (the server's clock, whole seconds)."""
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                  headers={"Accept": "application/json"},
                                  follow_redirects=False)

    @classmethod
    def from_connection(cls, conn: Connection, **kwargs: Any) -> LabelStudioClient:
        """A client for a ``Connection`` from ``corpus.labelstudio.connection.connection``."""
        return cls(conn.url, conn.token, kind=conn.token_kind, **kwargs)

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r}, token_kind={self.token_kind!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ auth

    def _auth_header(self) -> str:
        if self.token_kind == "legacy":  # noqa: S105
            return f"Token {self._token}"
        if self._access is None or (
            self._access_exp is not None and self._access_exp - time.time() < 30
        ):
            self._refresh_access()
        return f"Bearer {self._access}"

    def _refresh_access(self) -> None:
        """Exchange the personal access token (a JWT refresh token) for an access token."""
        self._access = None
        body = self._send("POST", "/api/token/refresh/", json_body={"refresh": self._token},
                          auth=False, idempotent=True)
        access = body.get("access") if isinstance(body, dict) else None
        if not isinstance(access, str):
            raise AuthError(f"Label Studio at {self.url} returned no access token",
                            hint=_KEY_HELP)
        self._access = access
        self._access_exp = _jwt_expiry(access)

    # ------------------------------------------------------------------ core

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> JSON:
        """Send one API request with auth and retries; return the decoded JSON (None if empty)."""
        try:
            return self._send(method, path, params=params, json_body=json_body,
                              idempotent=idempotent, timeout=timeout)
        except AuthError:
            if self.token_kind != "personal":  # noqa: S105
                raise
        # The access token may have expired or been revoked server-side: refresh once.
        self._refresh_access()
        return self._send(method, path, params=params, json_body=json_body,
                          idempotent=idempotent, timeout=timeout)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: bool = True,
        idempotent: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> JSON:
        method = method.upper()
        safe = idempotent if idempotent is not None else method != "POST"
        where = f"{method} {path}"

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("Label Studio %s: %s; retry %d/%d", where, exc, state.attempt_number,
                     self.attempts - 1)

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=retry_if_exception_type(_Retry),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, params, json_body, auth, safe, timeout)
        except _Retry as exc:
            raise ServerUnavailable(
                f"Label Studio at {self.url} kept failing: {exc.reason} on {where} "
                f"after {self.attempts} attempt{'s' if self.attempts != 1 else ''}",
                hint="check the server (for the embedded one: `corpus server status` and its "
                "server.log), then run again",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _redact(self, text: str) -> str:
        """Remove the API token and access token from server-provided text (echoing proxies)."""
        for secret in (self._token, self._access):
            if secret:
                text = text.replace(secret, "***")
        return _AUTH_VALUE.sub(r"\1 ***", text)

    def _once(self, method: str, path: str, params: Mapping[str, Any] | None, json_body: Any,
              auth: bool, safe: bool, timeout: float | httpx.Timeout | None) -> JSON:
        headers = {"Authorization": self._auth_header()} if auth else {}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["json"] = json_body
        if timeout is not None:
            kwargs["timeout"] = timeout
        where = f"{method} {path}"
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectTimeout:
            raise _Retry("connect timeout") from None
        except httpx.ConnectError:
            raise ServerUnavailable(f"cannot reach Label Studio at {self.url}",
                                    hint=_START_HINT) from None
        except httpx.TimeoutException as exc:
            if safe:
                raise _Retry(f"timeout ({type(exc).__name__})") from None
            raise ServerUnavailable(
                f"Label Studio at {self.url} timed out on {where}; it may or may not have "
                "applied the request",
                hint="run the command again: push and pull reconcile with the server",
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if safe or isinstance(exc, httpx.WriteError):
                raise _Retry("connection dropped") from None
            raise ServerUnavailable(
                f"Label Studio at {self.url} dropped the connection on {where}; it may or may "
                "not have applied the request",
                hint="run the command again: push and pull reconcile with the server",
            ) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(
                f"Label Studio at {self.url} failed on {where}: {type(exc).__name__}",
                hint=_START_HINT,
            ) from None
        code = response.status_code
        try:
            self.server_date = parsedate_to_datetime(response.headers.get("date", ""))
        except (TypeError, ValueError, IndexError):
            self.server_date = None
        if code >= 500:
            if safe or code in (502, 503, 504):
                raise _Retry(f"HTTP {code}")
            raise ServerUnavailable(
                f"Label Studio at {self.url} answered HTTP {code} on {where}: "
                f"{self._redact(_server_message(response))}",
                hint="check the server log, then run the command again", status=code,
            )
        if code == 401:
            raise AuthError(
                f"Label Studio at {self.url} rejected the API token ({self.token_kind} token): "
                f"{self._redact(_server_message(response))}",
                hint=_KEY_HELP, status=code,
            )
        if code >= 400:
            raise LabelStudioError(
                f"Label Studio refused {where}: HTTP {code}: "
                f"{self._redact(_server_message(response))}",
                hint="check the request parameters and your permissions on the server",
                status=code,
            )
        if code >= 300:
            raise LabelStudioError(
                f"Label Studio redirected {where} to {response.headers.get('location', '?')}",
                hint="check LABEL_STUDIO_URL (scheme, host and path prefix)", status=code,
            )
        if code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise LabelStudioError(
                f"Label Studio answered {where} with non-JSON ({one_line(response.text, 80)})",
                hint="check that LABEL_STUDIO_URL points at Label Studio",
            ) from None

    def _paged(self, path: str, params: Mapping[str, Any] | None = None,
               page_size: int = 100) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self.request("GET", path, params={**(params or {}), "page": page,
                                                     "page_size": page_size})
            if isinstance(body, list):  # endpoint without pagination
                yield from body
                return
            yield from body.get("results", [])
            if not body.get("next"):
                return
            page += 1

    # ------------------------------------------------------------------ users

    def whoami(self) -> dict[str, Any]:
        """The user the token belongs to."""
        out: dict[str, Any] = self.request("GET", "/api/current-user/whoami")
        return out

    def list_users(self) -> list[dict[str, Any]]:
        """Users of the current organisation."""
        return list(self._paged("/api/users/"))

    def create_user(self, email: str, *, username: str | None = None, first_name: str = "",
                    last_name: str = "") -> dict[str, Any]:
        """Create a user in the admin's organisation (no password; cannot log in until set).

        The REST API does not reveal the new user's token; for the embedded server
        use ``corpus.labelstudio.users.add_local_user``.
        """
        out: dict[str, Any] = self.request("POST", "/api/users/", json_body={
            "email": email, "username": username or email.split("@")[0],
            "first_name": first_name, "last_name": last_name,
        })
        return out

    def legacy_token(self) -> str:
        """The current user's legacy token (works only if legacy tokens are enabled)."""
        return str(self.request("GET", "/api/current-user/token")["token"])

    def create_personal_token(self) -> str:
        """Create a personal access token (JWT refresh token) for the current user.

        Label Studio allows one live token per user (HTTP 409 otherwise).
        """
        return str(self.request("POST", "/api/token/", json_body={})["token"])

    # ------------------------------------------------------------------ projects

    def list_projects(self, *, title: str | None = None) -> list[dict[str, Any]]:
        """All projects visible to the user (optionally only those with ``title``)."""
        params = {"title": title} if title else None
        projects = list(self._paged("/api/projects/", params))
        return [p for p in projects if title is None or p.get("title") == title]

    def get_project(self, project_id: int) -> dict[str, Any]:
        """One project."""
        out: dict[str, Any] = self.request("GET", f"/api/projects/{project_id}/")
        return out

    def create_project(self, title: str, label_config: str, **fields: Any) -> dict[str, Any]:
        """Create a project (extra fields: expert_instruction, show_instruction, ...)."""
        out: dict[str, Any] = self.request(
            "POST", "/api/projects/",
            json_body={"title": title, "label_config": label_config, **fields},
        )
        return out

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        """PATCH project fields (title, label_config, expert_instruction, ...)."""
        out: dict[str, Any] = self.request("PATCH", f"/api/projects/{project_id}/",
                                           json_body=fields)
        return out

    def delete_project(self, project_id: int) -> None:
        """Delete a project and its tasks."""
        self.request("DELETE", f"/api/projects/{project_id}/")

    # ------------------------------------------------------------------ tasks

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]],
                     *, batch_size: int = 500, read_timeout: float | None = None) -> list[int]:
        """Import tasks in batches; return the created task ids in input order.

        Each task is ``{"data": {...}, "meta": {...}}`` (or a flat data dict).
        Uses ``?return_task_ids=true``: Label Studio (Community, synchronous import)
        answers with ``task_ids`` in the order of the posted list. An import POST is
        not retried after it may have reached the server (see module docstring).
        """
        ids: list[int] = []
        # Label Studio finishes an accepted import even after the client gives up (its
        # "database is locked" retry alone can take ~51 minutes): a timed-out import raises
        # ServerUnavailable and push's pending/recheck files make the next push reconcile.
        import_timeout = httpx.Timeout(30.0, read=read_timeout)
        for start in range(0, len(tasks), max(1, batch_size)):
            batch = list(tasks[start:start + batch_size])
            body = self.request("POST", f"/api/projects/{project_id}/import",
                                params={"return_task_ids": "true"}, json_body=batch,
                                timeout=import_timeout)
            got = body.get("task_ids") if isinstance(body, dict) else None
            if not isinstance(got, list) or len(got) != len(batch):
                raise LabelStudioError(
                    f"Label Studio imported a batch of {len(batch)} tasks into project "
                    f"{project_id} but returned {len(got) if isinstance(got, list) else 'no'} "
                    "task ids (an asynchronous, non-Community edition?)",
                    hint="re-run push: it reconciles its ledger with the project's tasks",
                )
            ids.extend(int(i) for i in got)
        return ids

    def task_page(
        self,
        project_id: int,
        *,
        page: int = 1,
        page_size: int = 100,
        query: Mapping[str, Any] | None = None,
        fields: str = "all",
    ) -> dict[str, Any]:
        """One Data Manager page: ``{"tasks": [...], "total": n, ...}`` (empty past the end)."""
        params: dict[str, Any] = {"project": project_id, "page": page, "page_size": page_size,
                                  "fields": fields}
        if query:
            params["query"] = json.dumps(query, separators=(",", ":"))
        try:
            out: dict[str, Any] = self.request("GET", "/api/tasks/", params=params)
        except LabelStudioError as exc:
            if exc.status == 404 and page > 1:  # "Invalid page." past the last page
                return {"tasks": [], "total": None}
            raise
        return out

    def iter_tasks(
        self,
        project_id: int,
        *,
        updated_after: datetime | str | None = None,
        query: Mapping[str, Any] | None = None,
        page_size: int = 100,
        fields: str = "all",
    ) -> Iterator[dict[str, Any]]:
        """All tasks of a project (with annotations when ``fields="all"``), page by page.

        ``updated_after`` selects tasks whose ``updated_at`` is later (Data Manager
        filter, oldest first); ``query`` passes any other Data Manager query.
        """
        if updated_after is not None:
            query = updated_since_query(updated_after)
        page = 1
        seen = 0
        while True:
            body = self.task_page(project_id, page=page, page_size=page_size, query=query,
                                  fields=fields)
            tasks = body.get("tasks") or []
            yield from tasks
            seen += len(tasks)
            total = body.get("total")
            if len(tasks) < page_size or (isinstance(total, int) and seen >= total):
                return
            page += 1

    def list_tasks(self, project_id: int, **kwargs: Any) -> list[dict[str, Any]]:
        """``list(iter_tasks(...))``."""
        return list(self.iter_tasks(project_id, **kwargs))

    def get_task(self, task_id: int) -> dict[str, Any]:
        """One task with its annotations."""
        out: dict[str, Any] = self.request("GET", f"/api/tasks/{task_id}/")
        return out

    def delete_task(self, task_id: int) -> None:
        """Delete one task."""
        self.request("DELETE", f"/api/tasks/{task_id}/")

    # ------------------------------------------------------------------ annotations

    def list_annotations(self, task_id: int) -> list[dict[str, Any]]:
        """Annotations of one task."""
        out: list[dict[str, Any]] = self.request("GET", f"/api/tasks/{task_id}/annotations/")
        return out

    def create_annotation(self, task_id: int, result: Iterable[Mapping[str, Any]],
                          **fields: Any) -> dict[str, Any]:
        """Annotate a task as the token's user (fields: lead_time, was_cancelled, ...)."""
        out: dict[str, Any] = self.request(
            "POST", f"/api/tasks/{task_id}/annotations/",
            json_body={"result": list(result), **fields},
        )
        return out

    def update_annotation(self, annotation_id: int, **fields: Any) -> dict[str, Any]:
        """PATCH an annotation (e.g. ``result=[...]``)."""
        out: dict[str, Any] = self.request("PATCH", f"/api/annotations/{annotation_id}/",
                                           json_body=fields)
        return out

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete an annotation."""
        self.request("DELETE", f"/api/annotations/{annotation_id}/")

    # ------------------------------------------------------------------ export

    def export(self, project_id: int, export_type: str = "JSON",
               *, timeout: float = 600.0) -> JSON:
        """One-shot synchronous export (slow on big projects: a fallback, not the pull path)."""
        return self.request("GET", f"/api/projects/{project_id}/export",
                            params={"exportType": export_type}, timeout=timeout)
