"""Label Studio: the embedded server, a typed REST client (push and pull build on them)."""

from __future__ import annotations

from corpus.labelstudio.client import LabelStudioClient
from corpus.labelstudio.server import (
    LS_VERSION,
    Connection,
    Credentials,
    ServerInfo,
    ServerStatus,
    connection,
    ensure_installed,
    start,
    status,
    stop,
    token_kind,
)

__all__ = [
    "LS_VERSION",
    "Connection",
    "Credentials",
    "LabelStudioClient",
    "ServerInfo",
    "ServerStatus",
    "connection",
    "ensure_installed",
    "start",
    "status",
    "stop",
    "token_kind",
]
