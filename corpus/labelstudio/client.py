"""Our layer over the official Label Studio SDK (``label_studio_sdk`` 2.x).

The SDK is the transport: every call goes through a ``label_studio_sdk.LabelStudio``
(its typed clients for projects, imports, tasks, annotations, predictions and
users; its HTTP client, base URL and token handling for the rest). Pass your own
with ``LabelStudioClient.from_sdk(sdk)`` (or straight to ``push``/``pull``:
``corpus.labelstudio.client.as_client``). What this layer adds, because the SDK
does not do it for us:

- **no blind retry of a non-idempotent call**: the SDK re-sends any request
  after a dropped connection or a 5xx/409, which for an import creates the
  tasks twice. Every call here runs with the SDK's ``max_retries=0`` and our
  own policy:

  - connection refused / DNS failure -> ``ServerUnavailable`` at once;
  - 5xx, timeouts and dropped connections -> retried with exponential backoff,
    then ``ServerUnavailable``; a POST is only retried when it surely did not
    reach the application (connect errors, 503): a 502 or 504 from a proxy may
    come after Label Studio accepted the request;
  - 401 -> ``AuthError`` (with a personal access token the access token is
    first refreshed once: the server may reject one the client's clock still
    thinks valid); other 4xx -> ``LabelStudioError`` with the server's message
    on one line.

- **secrets redacted** from every message (the server's text included);
- **the server's clock**: ``server_date`` is the ``Date`` header of the last raw
  response (watermarks never use the client's clock).

Hot paths use the SDK's raw HTTP client (``client_wrapper.httpx_client``: the
SDK's auth, URL and token refresh, our own decoding) and say why: task pages,
because the typed ``tasks.list`` builds a pydantic model per task and pages by
offset (pull pages by keyset, see ``queries.keyset``) and we need the ``Date``
header; imports, because the SDK's ``jsonable_encoder`` walks every task of a
batch (~10% of the import time of a 2,000-task batch) and the body is plain JSON.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pydantic
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.request_options import RequestOptions
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from corpus.errors import AuthError, ConfigError, LabelStudioError, ServerUnavailable
from corpus.labelstudio.connection import Connection, TokenKind, token_kind
from corpus.labelstudio.queries import updated_since_query

if TYPE_CHECKING:  # the SDK's top level imports pandas and more (~2 s): only when used
    from label_studio_sdk import LabelStudio

log = logging.getLogger(__name__)

JSON = Any
T = TypeVar("T")
Call = Callable[[RequestOptions], T]

_START_HINT = "start it with `corpus server start` or set LABEL_STUDIO_URL"
_KEY_HELP = (
    "LABEL_STUDIO_API_KEY must be a token of this server: either a personal access token "
    "(a JWT, the default since Label Studio 1.17; it is exchanged at /api/token/refresh/) or "
    "a legacy token (40 hex characters, accepted only if the organisation enables legacy "
    "tokens: LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true when the server first created it, or "
    "Organization > API Tokens settings); copy a fresh one from Account & Settings"
)
_RERUN_HINT = "run the command again: push and pull reconcile with the server"
ACCESS_MARGIN = 30.0
"""Seconds before its expiry an access token is replaced (a request must not outlive it)."""


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


def _server_message(body: Any, headers: Mapping[str, str] | None) -> str:
    """The useful part of a Label Studio error body, on one line."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text)
        except ValueError:
            ctype = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type", "")
            if "html" in ctype or text.lower().startswith(("<!doctype", "<html")):
                return "error page"
            return one_line(text)
    if isinstance(body, dict):
        parts = [str(body.get("detail") or "")]
        errors = body.get("validation_errors")
        if errors:
            parts.append(json.dumps(errors, ensure_ascii=False))
        elif not parts[0]:
            parts = [json.dumps(body, ensure_ascii=False)]
        return one_line(": ".join(p for p in parts if p))
    return one_line(json.dumps(body, ensure_ascii=False, default=str))


def plain(value: Any) -> Any:
    """An SDK model (or a list of them) as the plain JSON dict the server sent."""
    if isinstance(value, pydantic.BaseModel):
        return value.dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _header(headers: Mapping[str, str] | None, name: str) -> str:
    return {k.lower(): v for k, v in (headers or {}).items()}.get(name, "")


class LabelStudioClient:
    """Typed access to one Label Studio server through the official SDK.

    ``attempts``/``backoff``/``max_backoff`` tune the retries of transient
    faults (tests pass tiny delays); ``transport`` is handed to the httpx client
    the SDK runs on (fault injection in tests).
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
        self.timeout = timeout
        self.server_date: datetime | None = None
        """The ``Date`` header of the last raw response (the server's clock, whole seconds)."""
        self._http: httpx.Client | None = httpx.Client(
            timeout=timeout, transport=transport, follow_redirects=False,
            headers={"Accept": "application/json"})
        self._sdk: LabelStudio | None = None

    @classmethod
    def from_connection(cls, conn: Connection, **kwargs: Any) -> LabelStudioClient:
        """A client for a ``Connection`` from ``corpus.labelstudio.connection.connection``."""
        return cls(conn.url, conn.token, kind=conn.token_kind, **kwargs)

    @classmethod
    def from_sdk(cls, sdk: LabelStudio, *, attempts: int = 5, backoff: float = 0.5,
                 max_backoff: float = 8.0) -> LabelStudioClient:
        """Wrap your own ``label_studio_sdk.LabelStudio`` (it stays yours: ``close`` leaves
        its HTTP client open). Its own retries are switched off per call (see above)."""
        wrapper = sdk._client_wrapper
        tokens = getattr(wrapper, "_tokens_client", None)
        token = str(getattr(tokens, "_api_key", "") or "")
        self = cls.__new__(cls)
        self.url = str(wrapper.get_base_url()).rstrip("/")
        self._token = token
        self.token_kind = token_kind(token) if token else "legacy"
        self.attempts, self.backoff, self.max_backoff = max(1, attempts), backoff, max_backoff
        self.timeout = float(wrapper.get_timeout() or 60.0)
        self.server_date = None
        self._http = None
        self._sdk = sdk
        return self

    @property
    def sdk(self) -> LabelStudio:
        """The ``label_studio_sdk.LabelStudio`` this client runs on (built on first use:
        the SDK checks a personal token's expiry when it is created)."""
        if self._sdk is None:
            from label_studio_sdk import LabelStudio

            assert self._http is not None
            try:
                self._sdk = LabelStudio(  # type: ignore[no-untyped-call]
                    base_url=self.url, api_key=self._token, httpx_client=self._http,
                    timeout=self.timeout, max_retries=0)
            except ApiError as exc:
                raise self._error_for(exc.status_code or 401, exc.body, exc.headers,
                                      "sign-in", safe=True) from None
        return self._sdk

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r}, token_kind={self.token_kind!r})"

    def close(self) -> None:
        """Close the connection pool (not that of an SDK client passed to ``from_sdk``)."""
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ auth

    def _tokens(self) -> Any:
        """The SDK's token manager (private in the SDK: used only to drop a stale access
        token, which the SDK offers no public way to do)."""
        return getattr(getattr(self._sdk, "_client_wrapper", None), "_tokens_client", None)

    def _forget_access(self, *, unless_fresh: bool = False) -> None:
        tokens = self._tokens()
        if tokens is None or getattr(tokens, "_use_legacy_token", True):
            return
        if unless_fresh:
            exp = getattr(tokens, "_access_token_expiration", None)
            if exp is None or (exp - datetime.now(timezone.utc)).total_seconds() > ACCESS_MARGIN:
                return
        tokens._access_token = None

    # ------------------------------------------------------------------ core

    def call(self, where: str, fn: Call[T], *, idempotent: bool = True,
             timeout: float | None = None) -> T:
        """Run ``fn(request_options)`` (one SDK call) with our retry, auth and error policy.

        ``where`` names the call in messages (e.g. ``"GET /api/projects/"``).
        """
        try:
            return self._attempts(where, fn, idempotent, timeout)
        except AuthError:
            if self.token_kind != "personal":  # noqa: S105
                raise
        # The access token may have expired or been revoked server-side: refresh once.
        self._forget_access()
        return self._attempts(where, fn, idempotent, timeout)

    def _attempts(self, where: str, fn: Call[T], safe: bool, timeout: float | None) -> T:
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
                    return self._once(where, fn, safe, timeout)
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
        tokens = self._tokens()
        for secret in (self._token, getattr(tokens, "_access_token", None)):
            if secret:
                text = text.replace(secret, "***")
        return _AUTH_VALUE.sub(r"\1 ***", text)

    def _once(self, where: str, fn: Call[T], safe: bool, timeout: float | None) -> T:
        options: RequestOptions = {"max_retries": 0}
        if timeout is not None:
            options["timeout"] = timeout
        try:
            self.sdk  # noqa: B018  (built here: a rejected token maps like any 401)
            self._forget_access(unless_fresh=True)
            return fn(options)
        except ApiError as exc:  # `from None`: the SDK's error text holds the headers
            raise self._error_for(exc.status_code or 0, exc.body, exc.headers, where,
                                  safe) from None
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
                "applied the request", hint=_RERUN_HINT) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if safe or isinstance(exc, httpx.WriteError):
                raise _Retry("connection dropped") from None
            raise ServerUnavailable(
                f"Label Studio at {self.url} dropped the connection on {where}; it may or may "
                "not have applied the request", hint=_RERUN_HINT) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailable(
                f"Label Studio at {self.url} failed on {where}: {type(exc).__name__}",
                hint=_START_HINT) from None
        except (ValueError, pydantic.ValidationError) as exc:  # non-JSON or unexpected shape
            raise LabelStudioError(
                f"Label Studio answered {where} with something unexpected "
                f"({type(exc).__name__}: {self._redact(one_line(str(exc), 120))})",
                hint="check that LABEL_STUDIO_URL points at Label Studio",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _error_for(self, code: int, body: Any, headers: Mapping[str, str] | None, where: str,
                   safe: bool) -> Exception:
        """The error for a non-2xx answer (``_Retry`` for a transient one)."""
        message = self._redact(_server_message(body, headers))
        if code >= 500:
            if safe or code == 503:
                return _Retry(f"HTTP {code}")
            return ServerUnavailable(
                f"Label Studio at {self.url} answered HTTP {code} on {where} ({message}); it "
                "may or may not have applied the request", hint=_RERUN_HINT, status=code)
        if code == 401:
            return AuthError(
                f"Label Studio at {self.url} rejected the API token ({self.token_kind} token): "
                f"{message}", hint=_KEY_HELP, status=code)
        if code >= 400:
            return LabelStudioError(
                f"Label Studio refused {where}: HTTP {code}: {message}",
                hint="check the request parameters and your permissions on the server",
                status=code)
        if code >= 300:
            return LabelStudioError(
                f"Label Studio redirected {where} to "
                f"{self._redact(_header(headers, 'location')) or '?'}",
                hint="check LABEL_STUDIO_URL (scheme, host and path prefix)", status=code)
        return LabelStudioError(
            f"Label Studio answered {where} with non-JSON "
            f"({self._redact(one_line(str(body), 80))})",
            hint="check that LABEL_STUDIO_URL points at Label Studio", status=code or None)

    def _raw(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             body: Any = None, options: RequestOptions | None = None) -> JSON:
        """One request through the SDK's HTTP client; the decoded JSON (None if empty)."""
        content = None if body is None else json.dumps(
            body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response: httpx.Response = self.sdk._client_wrapper.httpx_client.request(
            path.lstrip("/"), method=method, params=dict(params or {}), content=content,
            headers={"Content-Type": "application/json"} if content is not None else None,
            request_options=options)
        try:
            self.server_date = parsedate_to_datetime(response.headers.get("date", ""))
        except (TypeError, ValueError, IndexError):
            self.server_date = None
        code = response.status_code
        if not 200 <= code < 300:
            raise ApiError(status_code=code, headers=dict(response.headers), body=response.text)
        if code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(status_code=code, headers=dict(response.headers),
                           body=response.text) from None

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, idempotent: bool | None = None,
                timeout: float | None = None) -> JSON:
        """Any API request (through the SDK's HTTP client) under our policy; decoded JSON."""
        method = method.upper()
        safe = idempotent if idempotent is not None else method != "POST"
        return self.call(f"{method} {path}",
                         lambda o: self._raw(method, path, params=params, body=json_body,
                                             options=o),
                         idempotent=safe, timeout=timeout)

    # ------------------------------------------------------------------ users

    def whoami(self) -> dict[str, Any]:
        """The user the token belongs to."""
        out: dict[str, Any] = plain(self.call(
            "GET /api/current-user/whoami",
            lambda o: self.sdk.users.whoami(request_options=o)))
        return out

    def list_users(self) -> list[dict[str, Any]]:
        """Users of the current organisation."""
        out: list[dict[str, Any]] = plain(self.call(
            "GET /api/users/", lambda o: self.sdk.users.list(request_options=o)))
        return out

    def create_user(self, email: str, *, username: str | None = None, first_name: str = "",
                    last_name: str = "") -> dict[str, Any]:
        """Create a user in the admin's organisation (no password; cannot log in until set).

        The REST API does not reveal the new user's token; for the embedded server
        use ``corpus.labelstudio.users.add_local_user``.
        """
        out: dict[str, Any] = plain(self.call(
            "POST /api/users/",
            lambda o: self.sdk.users.create(username=username or email.split("@")[0],
                                            email=email, first_name=first_name,
                                            last_name=last_name, request_options=o),
            idempotent=False))
        return out

    def invite_url(self) -> str:
        """The organisation's sign-up link (absolute), from ``/api/invite``."""
        got: dict[str, Any] = plain(self.call(
            "GET /api/invite",
            lambda o: self.sdk.organizations.invites.get_invite_link(request_options=o)))
        link = str(got.get("invite_url") or "")
        return link if link.startswith("http") else f"{self.url}{link}"

    def remove_member(self, organization: int, user_id: int) -> None:
        """End a user's membership of ``organization`` (Label Studio's soft delete)."""
        self.call(f"DELETE /api/organizations/{organization}/memberships/{user_id}/",
                  lambda o: self.sdk.organizations.members.delete(organization, user_id,
                                                                  request_options=o))

    def legacy_token(self) -> str:
        """The current user's legacy token (works only if legacy tokens are enabled)."""
        got = self.call("GET /api/current-user/token",
                        lambda o: self.sdk.users.get_token(request_options=o))
        return str(plain(got)["token"])

    def create_personal_token(self) -> str:
        """Create a personal access token (JWT refresh token) for the current user.

        Label Studio allows one live token per user (HTTP 409 otherwise).
        """
        got = self.call("POST /api/token/", lambda o: self.sdk.tokens.create(request_options=o),
                        idempotent=False)
        return str(plain(got)["token"])

    # ------------------------------------------------------------------ projects

    def list_projects(self, *, title: str | None = None) -> list[dict[str, Any]]:
        """All projects visible to the user (optionally only those with ``title``)."""
        projects: list[dict[str, Any]] = plain(self.call(
            "GET /api/projects/",
            lambda o: list(self.sdk.projects.list(title=title, page_size=100,
                                                  request_options=o))))
        return [p for p in projects if title is None or p.get("title") == title]

    def get_project(self, project_id: int) -> dict[str, Any]:
        """One project (with its live counts: ``task_number``, ``total_annotations_number``...)."""
        out: dict[str, Any] = plain(self.call(
            f"GET /api/projects/{project_id}/",
            lambda o: self.sdk.projects.get(project_id, request_options=o)))
        return out

    def project_counts(self, project_id: int, *counters: str) -> dict[str, Any]:
        """Only the named live counters of one project (``GET /api/projects/counts/``): each
        is one SQL count, where :meth:`get_project` computes all eight, the distinct
        ``num_tasks_with_annotations`` the slowest. Empty if the project is not listed."""
        got = plain(self.call(
            "GET /api/projects/counts/",
            lambda o: self.sdk.projects.list_counts(ids=str(project_id),
                                                    include=",".join(counters),
                                                    request_options=o)))
        found = got.get("results") or []  # filtered by id; ``include`` leaves ``id`` out
        return dict(found[0]) if len(found) == 1 else {}

    def create_project(self, title: str, label_config: str, **fields: Any) -> dict[str, Any]:
        """Create a project (extra fields: expert_instruction, show_instruction, ...)."""
        out: dict[str, Any] = plain(self.call(
            "POST /api/projects/",
            lambda o: self.sdk.projects.create(title=title, label_config=label_config,
                                               request_options=o, **fields),
            idempotent=False))
        return out

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        """PATCH project fields (title, label_config, expert_instruction, ...)."""
        out: dict[str, Any] = plain(self.call(
            f"PATCH /api/projects/{project_id}/",
            lambda o: self.sdk.projects.update(project_id, request_options=o, **fields)))
        return out

    def delete_project(self, project_id: int) -> None:
        """Delete a project and its tasks."""
        self.call(f"DELETE /api/projects/{project_id}/",
                  lambda o: self.sdk.projects.delete(project_id, request_options=o))

    # ------------------------------------------------------------------ tasks

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]],
                     *, batch_size: int = 500, read_timeout: float | None = None) -> list[int]:
        """Import tasks in batches; return the created task ids in input order.

        Each task is ``{"data": {...}, "meta": {...}}`` (or a flat data dict).
        Uses ``?return_task_ids=true``: Label Studio (Community, synchronous import)
        answers with ``task_ids`` in the order of the posted list. An import POST is
        not retried after it may have reached the server (see module docstring).
        ``read_timeout`` bounds one request (None: as long as the server takes).
        """
        ids: list[int] = []
        # Label Studio finishes an accepted import even after the client gives up (its
        # "database is locked" retry alone can take ~51 minutes): a timed-out import raises
        # ServerUnavailable and push's pending/recheck files make the next push reconcile.
        timeout = 10.0 ** 7 if read_timeout is None else read_timeout
        path = f"/api/projects/{project_id}/import"
        for start in range(0, len(tasks), max(1, batch_size)):
            batch = list(tasks[start:start + batch_size])
            def post(o: RequestOptions, b: list[Mapping[str, Any]] = batch) -> JSON:
                return self._raw("POST", path, params={"return_task_ids": "true"}, body=b,
                                 options=o)

            body = self.call(f"POST {path}", post, idempotent=False, timeout=timeout)
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
        include: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """One Data Manager page: ``{"tasks": [...], "total": n, ...}`` (empty past the end).

        ``include`` names the task fields to serialise (e.g. ``("id", "annotations")``):
        Label Studio then skips the others, which makes a page several times cheaper.
        """
        params: dict[str, Any] = {"project": project_id, "page": page, "page_size": page_size,
                                  "fields": fields, "resolve_uri": "false"}
        if include:
            params["include"] = ",".join(include)
        if query:
            params["query"] = json.dumps(query, separators=(",", ":"))
        try:
            out: dict[str, Any] = self.call(
                "GET /api/tasks/",
                lambda o: self._raw("GET", "/api/tasks/", params=params, options=o))
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
        include: Sequence[str] | None = None,
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
                                  fields=fields, include=include)
            tasks = body.get("tasks") or []
            yield from tasks
            seen += len(tasks)
            total = body.get("total")
            # a server may cap page_size: a short page ends only when there is no total
            if not tasks or (isinstance(total, int) and seen >= total) or (
                    not isinstance(total, int) and len(tasks) < page_size):
                return
            page += 1

    def list_tasks(self, project_id: int, **kwargs: Any) -> list[dict[str, Any]]:
        """``list(iter_tasks(...))``."""
        return list(self.iter_tasks(project_id, **kwargs))

    def get_task(self, task_id: int) -> dict[str, Any]:
        """One task with its annotations."""
        out: dict[str, Any] = plain(self.call(
            f"GET /api/tasks/{task_id}/",
            lambda o: self.sdk.tasks.get(str(task_id), request_options=o)))
        return out

    def delete_task(self, task_id: int) -> None:
        """Delete one task."""
        self.call(f"DELETE /api/tasks/{task_id}/",
                  lambda o: self.sdk.tasks.delete(str(task_id), request_options=o))

    # ------------------------------------------------------------------ annotations

    def list_annotations(self, task_id: int) -> list[dict[str, Any]]:
        """Annotations of one task."""
        out: list[dict[str, Any]] = plain(self.call(
            f"GET /api/tasks/{task_id}/annotations/",
            lambda o: self.sdk.annotations.list(task_id, request_options=o)))
        return out

    def create_annotation(self, task_id: int, result: Iterable[Mapping[str, Any]],
                          **fields: Any) -> dict[str, Any]:
        """Annotate a task as the token's user (fields: lead_time, was_cancelled, ...)."""
        items = [dict(r) for r in result]
        out: dict[str, Any] = plain(self.call(
            f"POST /api/tasks/{task_id}/annotations/",
            lambda o: self.sdk.annotations.create(task_id, result=items, request_options=o,
                                                  **fields),
            idempotent=False))
        return out

    def update_annotation(self, annotation_id: int, **fields: Any) -> dict[str, Any]:
        """PATCH an annotation (e.g. ``result=[...]``)."""
        out: dict[str, Any] = plain(self.call(
            f"PATCH /api/annotations/{annotation_id}/",
            lambda o: self.sdk.annotations.update(annotation_id, request_options=o, **fields)))
        return out

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete an annotation."""
        self.call(f"DELETE /api/annotations/{annotation_id}/",
                  lambda o: self.sdk.annotations.delete(annotation_id, request_options=o))

    # ------------------------------------------------------------------ predictions

    def create_prediction(self, task_id: int, result: Iterable[Mapping[str, Any]], *,
                          model_version: str, score: float | None = None) -> dict[str, Any]:
        """Attach a prediction (pre-annotation) to one task."""
        items = [dict(r) for r in result]
        extra = {} if score is None else {"score": score}
        out: dict[str, Any] = plain(self.call(
            "POST /api/predictions/",
            lambda o: self.sdk.predictions.create(task=task_id, result=items,
                                                  model_version=model_version,
                                                  request_options=o, **extra),
            idempotent=False))
        return out

    def list_predictions(self, task_id: int) -> list[dict[str, Any]]:
        """Predictions of one task."""
        out: list[dict[str, Any]] = plain(self.call(
            "GET /api/predictions/",
            lambda o: self.sdk.predictions.list(task=task_id, request_options=o)))
        return out

    # ------------------------------------------------------------------ views and snapshots

    def create_view(self, project_id: int, filters: Mapping[str, Any], *,
                    title: str = "claim-corpus") -> dict[str, Any]:
        """Save a Data Manager view (tab) of ``project_id`` with these ``filters``."""
        data = {"title": title, "filters": dict(filters)}
        out: dict[str, Any] = plain(self.call(
            "POST /api/dm/views/",
            lambda o: self.sdk.views.create(project=project_id, data=data,
                                            request_options=o),
            idempotent=False))
        return out

    def delete_view(self, view_id: int) -> None:
        """Delete a Data Manager view."""
        self.call(f"DELETE /api/dm/views/{view_id}/",
                  lambda o: self.sdk.views.delete(str(view_id), request_options=o))

    def snapshot(self, project_id: int, *, view_id: int | None = None,
                 timeout: float = 1800.0, poll: float = 0.5) -> list[dict[str, Any]]:
        """Every task of a snapshot export (only the tasks of ``view_id`` if given), then the
        snapshot is deleted. Annotations carry ``completed_by`` as a user id; drafts and
        predictions only their ids. Label Studio Community builds it within the request;
        other editions in the background (polled every ``poll`` seconds)."""
        path = f"/api/projects/{project_id}/exports/"
        options = {"drafts": {"only_id": True}, "predictions": {"only_id": True},
                   "annotations__completed_by": {"only_id": True},
                   "include_annotation_history": False}
        extra: dict[str, Any] = {"serialization_options": options}
        if view_id is not None:
            extra["task_filter_options"] = {"view": view_id}
        made = plain(self.call(
            f"POST {path}",
            lambda o: self.sdk.projects.exports.create(
                project_id, title="claim-corpus pull", request_options=o, **extra),
            idempotent=False, timeout=timeout))
        export_id = int(made["id"])
        try:
            deadline = time.monotonic() + timeout
            status = made.get("status")
            while status not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise ServerUnavailable(
                        f"Label Studio's export {export_id} of project {project_id} did not "
                        f"finish within {timeout:.0f} s", hint="run the command again later")
                time.sleep(poll)
                status = plain(self.call(
                    f"GET {path}{export_id}",
                    lambda o: self.sdk.projects.exports.get(project_id, export_id,
                                                            request_options=o))).get("status")
            if status == "failed":
                raise LabelStudioError(
                    f"Label Studio's export {export_id} of project {project_id} failed",
                    hint="see the server log; `corpus pull` retries it on the next run")
            body = self.call(
                f"GET {path}{export_id}/download",
                lambda o: b"".join(self.sdk.projects.exports.download(
                    project_id, export_id, export_type="JSON", request_options=o)),
                timeout=timeout)
            tasks: list[dict[str, Any]] = json.loads(body)
            return tasks
        finally:
            try:
                self.call(f"DELETE {path}{export_id}",
                          lambda o: self.sdk.projects.exports.delete(project_id, export_id,
                                                                     request_options=o))
            except LabelStudioError as exc:  # a leftover snapshot costs disk space only
                log.warning("could not delete export %s: %s", export_id, exc)

    # ------------------------------------------------------------------ export

    def export(self, project_id: int, export_type: str = "JSON",
               *, timeout: float = 600.0) -> JSON:
        """Label Studio's one-shot synchronous export (slow on big projects: a reference for
        checks and benchmarks, not the pull path)."""
        return self.request("GET", f"/api/projects/{project_id}/export",
                            params={"exportType": export_type}, timeout=timeout)


def as_client(client: LabelStudioClient | LabelStudio | Any) -> Any:
    """``client`` as a ``LabelStudioClient``: an SDK ``LabelStudio`` is wrapped, anything
    else (ours, or a test double with the same methods) is returned as it is."""
    if isinstance(client, LabelStudioClient):
        return client
    sdk = sys.modules.get("label_studio_sdk")  # loaded if the caller made an SDK client
    if sdk is not None and "label_studio_sdk.client" in sys.modules:
        if isinstance(client, sdk.LabelStudio):
            return LabelStudioClient.from_sdk(client)
        if isinstance(client, sdk.AsyncLabelStudio):
            raise ConfigError("push and pull need a synchronous label_studio_sdk.LabelStudio, "
                              "got an AsyncLabelStudio",
                              hint="pass label_studio_sdk.LabelStudio(base_url=..., "
                              "api_key=...)")
    return client


__all__ = ["LabelStudioClient", "as_client", "one_line", "plain"]
