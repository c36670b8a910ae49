"""The workspace folder: where all state of one annotation effort lives."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import WorkspaceError

ENV_WORKSPACE = "CORPUS_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"

# File descriptors of the locks this process holds. A flock belongs to the open file
# description, which a forked child shares: a pool worker forked while the lock is held
# would keep it held after its parent is killed. So every forked child points these
# descriptors at /dev/null at once (the lock stays the parent's: no LOCK_UN is done).
_held_locks: set[int] = set()
_held_guard = threading.Lock()


def _drop_inherited_locks() -> None:
    global _held_guard
    _held_guard = threading.Lock()  # another thread may have held it at the fork
    if not _held_locks:
        return
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        for fd in list(_held_locks):
            os.dup2(devnull, fd, inheritable=False)
    finally:
        os.close(devnull)
    _held_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
"""errno values that mean "this folder cannot be written" (permissions, immutable, read-only)."""


def not_writable(folder: Path, exc: OSError | None = None) -> WorkspaceError:
    """The one-line error of a writer that cannot write ``folder`` (read-only mount,
    immutable folder, missing permission). Read-only commands never need this."""
    reason = f" ({exc.strerror})" if exc is not None and exc.strerror else ""
    return WorkspaceError(
        f"{folder} is not writable{reason}",
        hint="make it writable (its permissions, `chattr -i`, or remount it read-write) or "
             "use a writable copy with --workspace; verify, versions, stats and load work "
             "on a read-only workspace")


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
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in NOT_WRITABLE:
                raise not_writable(self.root.parent, exc) from None
            raise
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
        """Hold an exclusive advisory lock so two writers of ``name`` never interleave.

        The lock dies with this process: a child forked meanwhile does not keep it (the
        descriptor is also close-on-exec, so programs it runs do not either).
        Only writers lock, so a workspace that cannot be written fails here, before any
        work, with one line naming it (readers never create or open a lock file).
        """
        self.ensure()
        lock_path = self.root / f".{name}.lock"
        try:
            fh = open(lock_path, "a+")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            if exc.errno in NOT_WRITABLE:
                raise not_writable(self.root, exc) from None
            raise
        if not os.access(self.root, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
            fh.close()
            raise not_writable(self.root)
        with fh:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(fh.fileno(), flags)
            except BlockingIOError:
                raise WorkspaceError(
                    f"another `{name}` is running in {self.root}",
                    hint="wait for it to finish, then run again",
                ) from None
            with _held_guard:
                _held_locks.add(fh.fileno())
            try:
                yield
            finally:
                with _held_guard:
                    _held_locks.discard(fh.fileno())
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
