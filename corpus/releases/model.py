"""Shared names of the release package: schema protocols, columns, version folders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from corpus.errors import ReleaseError

SPLITS: tuple[str, ...] = ("train", "validation", "test")
AGREEMENT_VALUES: tuple[str, ...] = ("unanimous", "majority", "tie", "adjudicated")
SENTENCE_COLUMNS: tuple[str, ...] = (
    "sentence_id", "article_id", "para_idx", "sent_idx", "start", "end",
    "text", "kind", "tokens", "lang", "cluster_id",
)
TMP_PREFIX = ".tmp-"
VERSION_RE = re.compile(r"^v(\d{4,})$")
MANIFEST = "manifest.json"
MANIFEST_SIDECAR = "manifest.sha256"
CARD = "README.md"
ANNOTATIONS_FILE = "annotations.parquet"
CHART_FILE = "docs/stats.png"
SCREEN_DIR = "docs/projects"
"""Per project: the ``label_config.xml`` and ``guidelines.md`` its annotators saw."""


def data_file(split: str) -> str:
    """Relative path of a split's Parquet file inside a version folder."""
    return f"data/{split}-00000-of-00001.parquet"


class FieldLike(Protocol):
    """What the release needs of a label-schema field."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def values(self) -> Sequence[str]: ...


class SchemaLike(Protocol):
    """What the release needs of a label schema (``corpus.labelschema.LabelSchema``)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def fields(self) -> Sequence[FieldLike]: ...


def votes_column(field: str) -> str:
    """Name of the soft-label (vote count) column of ``field``."""
    from corpus.labelschema import VOTES_SUFFIX

    return f"{field}{VOTES_SUFFIX}"


def primary_field(schema: SchemaLike) -> str | None:
    """The field whose votes decide the row's ``agreement``: ``claim``, else the first single."""
    singles = [f.name for f in schema.fields if f.kind == "single"]
    if "claim" in singles:
        return "claim"
    return singles[0] if singles else None


def version_name(number: int) -> str:
    """``3`` -> ``v0003``."""
    return f"v{number:04d}"


def parse_version(spec: str | int) -> int:
    """``"v3"``, ``"v0003"``, ``"3"`` or ``3`` -> 3; anything else raises ReleaseError."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        number = spec
    else:
        text = str(spec).strip().lower()
        m = re.fullmatch(r"v?(\d+)", text)
        if not m:
            raise ReleaseError(f"{spec!r} is not a version",
                               hint="give a version like v3, v0003 or 3, or 'latest'")
        number = int(m.group(1))
    if number < 1:
        raise ReleaseError(f"{spec!r} is not a version", hint="versions start at v0001")
    return number


def list_versions(release_dir: Path) -> list[int]:
    """Numbers of every ``vNNNN`` folder of a release folder, complete or not, ascending.

    ``.tmp-`` leftovers are ignored; ``verify.complete_versions`` keeps only the
    complete ones (what ``latest`` and the next release number see).
    """
    if not release_dir.is_dir():
        return []
    numbers = []
    for child in release_dir.iterdir():
        m = VERSION_RE.match(child.name)
        if m and child.is_dir():
            numbers.append(int(m.group(1)))
    return sorted(numbers)


def is_version_dir(path: Path) -> bool:
    """True when ``path`` looks like a built version folder."""
    return path.is_dir() and (path / MANIFEST).is_file()
