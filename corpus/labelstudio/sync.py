"""Sync state of one Label Studio project, shared by push and pull: ``workspace/sync/<project>/``.

- ``project.json``: project id, server URL, schema name/version/sha256, targets,
  sha256 of the label config (written by push);
- ``ledger.parquet``: ``sentence_id -> ls_task_id`` of every imported task,
  rewritten atomically after every batch;
- ``pending.json``: the sentence ids of the batch being imported, written
  *before* the import call and removed after the ledger write; present at start
  means a push died in between;
- ``recheck.json``: after an interrupted import, the task id above which later
  pushes re-scan for late duplicates, and since when;
- ``watermark.json``: the server's highest task ``updated_at`` at the last pull
  and the server's clock when it was read (written by pull);
- ``rejects.jsonl``: pulled results the schema does not know, with the reason.

Every write is atomic (``corpus.storage.atomic``); leftovers of a killed writer
are removed by :meth:`ProjectSync.remove_stale` under the writer's lock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import ConfigError, WorkspaceError
from corpus.storage.atomic import remove_stale, write_json, write_table, write_text
from corpus.workspace import Workspace

LEDGER_SCHEMA = pa.schema([
    pa.field("sentence_id", pa.string(), nullable=False),
    pa.field("ls_task_id", pa.int64(), nullable=False),
])

# Label Studio 1.23.2 accepts project titles of 3 to 50 characters (PROJECT_TITLE_MIN_LEN,
# PROJECT_TITLE_MAX_LEN in label_studio/core/settings/base.py; NUL and surrogates refused,
# outer whitespace trimmed); the name is also a folder under sync/.
_SAFE_NAME = re.compile(r"[\w][\w .+\-]{2,49}")


def check_project_name(project: str) -> str:
    """``project`` if Label Studio accepts it as a title and it can name a folder, else a
    ConfigError naming ``--project`` (checked before any network or server work)."""
    if not isinstance(project, str) or not _SAFE_NAME.fullmatch(project) or (
            project.strip() != project):
        raise ConfigError(
            f"project name {project!r} (--project) cannot be used: Label Studio needs 3 to 50 "
            "characters, and the name is also a folder under sync/",
            hint="use 3 to 50 letters, digits, spaces, '.', '-', '_' or '+', starting with a "
            "letter or digit",
        )
    return project


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string from Label Studio as an aware UTC datetime (None if not one)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def now_iso() -> str:
    """The local clock as an ISO 8601 UTC string (whole seconds), for bookkeeping only."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Watermark:
    """Where the last pull of a project stopped, by the server's clocks."""

    project_id: int
    updated_at: datetime
    server_time: datetime | None


@dataclass(frozen=True)
class ProjectSync:
    """The sync files of one project of one workspace."""

    project: str
    folder: Path

    @classmethod
    def of(cls, workspace: Workspace, project: str) -> ProjectSync:
        return cls(project, workspace.sync_dir / check_project_name(project))

    @property
    def state_path(self) -> Path:
        return self.folder / "project.json"

    @property
    def ledger_path(self) -> Path:
        return self.folder / "ledger.parquet"

    @property
    def pending_path(self) -> Path:
        return self.folder / "pending.json"

    @property
    def recheck_path(self) -> Path:
        return self.folder / "recheck.json"

    @property
    def watermark_path(self) -> Path:
        return self.folder / "watermark.json"

    @property
    def rejects_path(self) -> Path:
        return self.folder / "rejects.jsonl"

    @property
    def label_config_path(self) -> Path:
        """The label config the project was last pushed with (what annotators see)."""
        return self.folder / "label_config.xml"

    @property
    def guidelines_path(self) -> Path:
        """The annotator guidelines (Markdown) the project was last pushed with."""
        return self.folder / "guidelines.md"

    def remove_stale(self, *paths: Path) -> None:
        """Remove temporary leftovers of killed writers of ``paths`` (call under the lock)."""
        for path in paths:
            remove_stale(path)

    # ------------------------------------------------------------------ project state

    def read_state(self) -> dict[str, Any] | None:
        """The stored ``project.json`` (None if never pushed)."""
        try:
            data: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"{self.state_path} is unreadable ({exc})",
                                 hint="delete it; the next push finds the project by title"
                                 ) from None
        return data

    def write_state(self, state: dict[str, Any]) -> None:
        write_json(self.state_path, state)

    # ------------------------------------------------------------------ ledger

    def read_ledger(self) -> dict[str, int]:
        """``sentence_id -> ls_task_id`` of the tasks pushed to the project."""
        if not self.ledger_path.exists():
            return {}
        try:
            table = pq.read_table(self.ledger_path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise WorkspaceError(f"{self.ledger_path} is not a readable ledger ({exc})",
                                 hint="delete it; the next push rebuilds it from the project's "
                                 "tasks") from None
        return dict(zip(table.column("sentence_id").to_pylist(),
                        table.column("ls_task_id").to_pylist(), strict=True))

    def write_ledger(self, ledger: dict[str, int]) -> None:
        table = pa.table({"sentence_id": list(ledger), "ls_task_id": list(ledger.values())},
                         schema=LEDGER_SCHEMA)
        write_table(self.ledger_path, table)

    # ------------------------------------------------------------------ interrupted imports

    def read_pending(self) -> dict[str, Any] | None:
        """The batch an interrupted push was importing (None if the last push finished)."""
        return _read_json(self.pending_path) if self.pending_path.exists() else None

    def write_pending(self, project_id: int, after_task_id: int,
                      sentence_ids: list[str]) -> None:
        write_json(self.pending_path, {"project_id": project_id, "after_task_id": after_task_id,
                                       "sentence_ids": sentence_ids})

    def clear_pending(self) -> None:
        self.pending_path.unlink(missing_ok=True)

    def read_recheck(self) -> dict[str, Any]:
        """``{"after_task_id", "since"}`` while late duplicates may still appear, else ``{}``."""
        value = _read_json(self.recheck_path)
        if value and isinstance(value.get("after_task_id"), int):
            return value
        return {}

    def write_recheck(self, recheck: dict[str, Any]) -> None:
        write_json(self.recheck_path, recheck)

    def clear_recheck(self) -> None:
        self.recheck_path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ pull state

    def read_watermark(self, project_id: int) -> Watermark | None:
        """The watermark of the last pull of ``project_id`` (None: pull everything)."""
        wm = _read_json(self.watermark_path)
        if not wm:
            return None
        try:
            if int(wm.get("project_id", project_id)) != project_id:
                return None
        except (TypeError, ValueError):
            return None
        updated_at = parse_time(wm.get("updated_at"))
        if updated_at is None:
            return None
        return Watermark(project_id, updated_at, parse_time(wm.get("server_time")))

    def write_watermark(self, mark: Watermark) -> None:
        write_json(self.watermark_path, {
            "project": self.project, "project_id": mark.project_id,
            "updated_at": mark.updated_at.isoformat(),
            "server_time": mark.server_time.isoformat() if mark.server_time else None,
            "pulled_at": now_iso(),
        })

    def read_rejects(self) -> list[dict[str, Any]]:
        """The rejected results of earlier pulls (unparseable lines are skipped)."""
        if not self.rejects_path.exists():
            return []
        out = []
        for line in self.rejects_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def write_rejects(self, rejects: list[dict[str, Any]]) -> None:
        """Replace ``rejects.jsonl`` (only written once there is or was a reject)."""
        if rejects or self.rejects_path.exists():
            write_text(self.rejects_path, "".join(
                json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rejects))
