"""The workspace folder: where all state of one annotation effort lives."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import WorkspaceError

ENV_WORKSPACE = "CORPUS_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; see docs/design.md for the layout."""

    root: Path

    @classmethod
    def resolve(cls, path: Path | str | None = None) -> Workspace:
        """Workspace from an explicit path, else ``$CORPUS_WORKSPACE``, else ``./workspace``."""
        chosen = path if path is not None else os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().absolute())

    @property
    def articles(self) -> Path:
        return self.root / "articles.parquet"

    @property
    def sentences(self) -> Path:
        return self.root / "sentences.parquet"

    @property
    def annotations(self) -> Path:
        return self.root / "annotations.parquet"

    @property
    def labelstudio_dir(self) -> Path:
        return self.root / "labelstudio"

    @property
    def sync_dir(self) -> Path:
        return self.root / "sync"

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    def ensure(self) -> Workspace:
        """Create the workspace folder if missing."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def require(self, path: Path, *, produced_by: str) -> Path:
        """Return ``path`` or raise a WorkspaceError naming the command that creates it."""
        if not path.exists():
            raise WorkspaceError(
                f"{path} does not exist", hint=f"run `{produced_by}` first"
            )
        return path

    @contextlib.contextmanager
    def lock(self, name: str, *, wait: bool = False) -> Iterator[None]:
        """Hold an exclusive advisory lock so two writers of ``name`` never interleave."""
        self.ensure()
        lock_path = self.root / f".{name}.lock"
        with open(lock_path, "a+") as fh:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(fh.fileno(), flags)
            except BlockingIOError:
                raise WorkspaceError(
                    f"another `{name}` is running in {self.root}",
                    hint="wait for it to finish, then run again",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
