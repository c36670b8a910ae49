"""Shared fixtures.

``ls_server`` starts ONE real Label Studio (embedded, 127.0.0.1) per test
session, in a temporary workspace, the first time a test asks for it, and
stops it at the end of the session (also when tests fail). Tests that use it
are marked ``@pytest.mark.labelstudio``; others never pay its start-up.

Environment knobs:
- ``CORPUS_SKIP_LABELSTUDIO=1`` skips every test that needs the server;
- ``CORPUS_TEST_LS_WORKSPACE=/path`` reuses (or starts) the server of that
  workspace and leaves it running afterwards (fast local iteration, see
  ``tools/ls_local.sh``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from corpus.labelstudio import connection as ls_connection
from corpus.labelstudio import install, server, users
from corpus.labelstudio.client import LabelStudioClient
from corpus.labelstudio.connection import Connection
from corpus.labelstudio.server import ServerInfo
from corpus.workspace import Workspace

_LS_ENV = ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY")


@dataclass
class LSServer:
    """A running Label Studio for tests: url, admin token, workspace, connection."""

    url: str
    token: str = field(repr=False)
    workspace: Workspace
    connection: Connection
    info: ServerInfo
    reused: bool = False

    def client(self, token: str | None = None, **kwargs: Any) -> LabelStudioClient:
        """A client as the admin (or as the owner of ``token``); tiny retry delays."""
        kwargs.setdefault("attempts", 3)
        kwargs.setdefault("backoff", 0.05)
        return LabelStudioClient(self.url, token or self.token, **kwargs)

    def add_user(self, email: str, password: str | None = None) -> tuple[int, str]:
        """Create an extra user of the organisation; return (user id, legacy token)."""
        return users.add_local_user(self.workspace, email, password)


@pytest.fixture(scope="session")
def ls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LSServer]:
    """One real Label Studio for the whole session (started lazily, stopped at the end)."""
    if os.environ.get("CORPUS_SKIP_LABELSTUDIO", "") not in ("", "0"):
        pytest.skip("CORPUS_SKIP_LABELSTUDIO is set")
    reuse = os.environ.get("CORPUS_TEST_LS_WORKSPACE")
    ws = Workspace(Path(reuse)) if reuse else Workspace(tmp_path_factory.mktemp("ls-workspace"))
    saved = {k: os.environ.pop(k) for k in _LS_ENV if k in os.environ}
    try:
        install.ensure_installed()
        info = server.start(ws, timeout=240)
        try:
            conn = ls_connection.connection(ws)
            yield LSServer(url=conn.url, token=conn.token, workspace=ws, connection=conn,
                           info=info, reused=bool(reuse))
        finally:
            if not reuse:
                server.stop(ws)
    finally:
        os.environ.update(saved)


@pytest.fixture
def no_ls_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run without LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY from the caller's environment."""
    for key in _LS_ENV:
        monkeypatch.delenv(key, raising=False)



@pytest.fixture
def seed_ws(tmp_path: Path) -> Workspace:
    """A workspace with the seed article (``seeds/``) ingested and split."""
    from corpus.articles.ingestion import ingest
    from corpus.sentences import split

    ws = Workspace(tmp_path / "ws").ensure()
    ingest([Path(__file__).resolve().parents[1] / "seeds"], ws)
    split(workspace=ws)
    assert ws.sentences.exists()
    return ws
