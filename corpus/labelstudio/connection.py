"""Where Label Studio is and how to authenticate: ``$LABEL_STUDIO_URL`` or the embedded server.

``connection()`` resolves it (the environment wins over the workspace's
embedded server); ``open_client()`` gives a client for it. A plain-HTTP URL
to a host other than loopback is refused unless ``allow_insecure`` is passed
(``corpus --allow-insecure``), because the token would cross the network in
clear text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from corpus.errors import ConfigError, ServerUnavailable
from corpus.labelstudio.server import embedded_login
from corpus.workspace import Workspace

if TYPE_CHECKING:
    from corpus.labelstudio.client import LabelStudioClient

ENV_URL = "LABEL_STUDIO_URL"
ENV_API_KEY = "LABEL_STUDIO_API_KEY"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

TokenKind = Literal["legacy", "personal"]

_JWT_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Connection:
    """Where to reach Label Studio and how to authenticate; ``repr`` hides the token."""

    url: str
    token: str = field(repr=False)
    token_kind: TokenKind
    source: Literal["env", "embedded"] = "embedded"


def token_kind(token: str) -> TokenKind:
    """``personal`` for a JWT (personal access token, three base64url parts), else ``legacy``."""
    return "personal" if _JWT_RE.fullmatch(token.strip()) else "legacy"


def check_url(url: str, *, allow_insecure: bool = False) -> str:
    """Validate a Label Studio base URL; plain HTTP is refused for hosts beyond loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{ENV_URL}={url!r} is not an http(s) URL",
                          hint="set it like https://label-studio.example.org")
    host = parts.hostname.lower()
    if parts.scheme == "http" and not is_loopback(host) and not allow_insecure:
        raise ConfigError(
            f"refusing to send the API token over plain HTTP to {parts.hostname}",
            hint=f"use an https:// {ENV_URL}; only on a trusted network run "
            "`corpus --allow-insecure <command>`",
        )
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``::1`` and every address of 127.0.0.0/8."""
    host = host.strip("[]").lower()
    return host in LOCAL_HOSTS or re.fullmatch(r"127(\.\d{1,3}){3}", host) is not None


def connection(workspace: Workspace | None = None, *, allow_insecure: bool = False
               ) -> Connection:
    """How to reach Label Studio: ``$LABEL_STUDIO_URL``+``$LABEL_STUDIO_API_KEY``, else embedded.

    ``allow_insecure`` permits a plain-HTTP URL to a host beyond loopback.
    """
    env_url = os.environ.get(ENV_URL, "").strip()
    env_key = os.environ.get(ENV_API_KEY, "").strip()
    if env_url or env_key:
        if not (env_url and env_key):
            missing = ENV_API_KEY if env_url else ENV_URL
            raise ConfigError(f"{missing} is not set (the other Label Studio variable is)",
                              hint=f"set both {ENV_URL} and {ENV_API_KEY}, or neither to use "
                              "the embedded server")
        return Connection(url=check_url(env_url, allow_insecure=allow_insecure), token=env_key,
                          token_kind=token_kind(env_key), source="env")
    ws = workspace or Workspace.resolve()
    login = embedded_login(ws)
    if login is None:
        raise ServerUnavailable(
            f"no Label Studio server is running for workspace {ws.root}",
            hint=f"start it with `corpus server start` or set {ENV_URL} and {ENV_API_KEY}",
        )
    url, token = login
    return Connection(url=url, token=token, token_kind="legacy", source="embedded")  # noqa: S106


def open_client(workspace: Workspace | None = None, *, allow_insecure: bool = False
                ) -> LabelStudioClient:
    """A client for :func:`connection` (close it, or use it as a context manager)."""
    from corpus.labelstudio.client import LabelStudioClient

    return LabelStudioClient.from_connection(connection(workspace,
                                                        allow_insecure=allow_insecure))
