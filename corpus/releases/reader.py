"""Read released versions: ``load``, ``versions``, ``diff``, ``verify`` (the ML engineer's API).

``path`` is a release folder (``workspace/releases/NAME``, holding ``vNNNN``
folders) or one version folder. Leftover ``.tmp-`` folders are ignored.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import IntegrityError, ReleaseError
from corpus.releases.diff import ReleaseDiff, diff_tables
from corpus.releases.manifest import read_manifest
from corpus.releases.model import (
    SPLITS,
    VERSION_RE,
    data_file,
    is_version_dir,
    list_versions,
    parse_version,
    version_name,
)
from corpus.releases.verify import (
    check_complete,
    complete_versions,
    latest_complete,
    verify_version,
)
from corpus.storage.tables import read_parquet

__all__ = ["ReleaseDiff", "diff", "load", "resolve", "verify", "versions"]


def versions(path: Path | str) -> list[str]:
    """Complete versions of a release folder, oldest first (``["v0001", "v0002"]``).

    A ``vNNNN`` folder that is not a complete released version (no manifest, a
    copy of another version, a missing file) is left out; ``corpus verify`` names it.
    """
    p = Path(path)
    if is_version_dir(p) and VERSION_RE.match(p.name):
        return [p.name]
    return [version_name(n) for n in complete_versions(p)]


def _complete(vdir: Path) -> Path:
    try:
        check_complete(vdir)
    except ReleaseError as exc:
        raise ReleaseError(f"{vdir} is not a complete released version: {exc.message}",
                           hint=f"run `corpus verify` on {vdir.parent}; pick another "
                                f"version or restore this one from a backup") from None
    return vdir


def resolve(path: Path | str, version: str | int = "latest") -> Path:
    """The version folder for ``path`` and ``version`` ("latest", "v3", "v0003" or 3)."""
    p = Path(path).expanduser()
    if is_version_dir(p):
        if version in ("latest", None) or not VERSION_RE.match(p.name) \
                or parse_version(version) == parse_version(p.name):
            return _complete(p)
        raise ReleaseError(f"{p} is version {p.name}, not {version}",
                           hint="pass the release folder (its parent) to choose a version")
    if not p.is_dir():
        raise ReleaseError(f"{p} is not a release folder",
                           hint="pass workspace/releases/NAME or one of its vNNNN folders")
    if VERSION_RE.match(p.name) and not list_versions(p):
        return _complete(p)                      # a version folder without its manifest
    if version in ("latest", None):
        latest = latest_complete(p)
        if latest is None:
            broken = ", ".join(version_name(n) for n in list_versions(p))
            raise ReleaseError(f"{p} has no released versions"
                               + (f" (incomplete: {broken})" if broken else ""),
                               hint="run `corpus release NAME` first, or check the path"
                               + ("; `corpus verify` names what is wrong" if broken else ""))
        return p / version_name(latest)
    number = parse_version(version)
    if number not in list_versions(p):
        available = ", ".join(version_name(n) for n in complete_versions(p)) or "none"
        raise ReleaseError(f"version {version_name(number)} is not in {p}; available: "
                           f"{available}", hint="pick one of the available versions or 'latest'")
    return _complete(p / version_name(number))


def load(path: Path | str, version: str | int = "latest", split: str = "train") -> pa.Table:
    """One split (``train``, ``validation``, ``test``) or ``all`` of a version as a Table."""
    vdir = resolve(path, version)
    if split == "all":
        names: tuple[str, ...] = SPLITS
    elif split in SPLITS:
        names = (split,)
    else:
        raise ReleaseError(f"split {split!r} is not in {vdir}; available: "
                           f"{', '.join(SPLITS)}, all", hint="pass one of the available splits")
    tables = []
    for name in names:
        file = vdir / data_file(name)
        if not file.is_file():
            raise IntegrityError(f"{file} is missing",
                                 hint=f"run `corpus verify` on {vdir.parent}; restore the file")
        tables.append(read_parquet(file, memory_map=True))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def diff(path: Path | str, a: str | int, b: str | int) -> ReleaseDiff:
    """Sentences added, removed and relabelled from version ``a`` to version ``b``."""
    va, vb = resolve(path, a), resolve(path, b)
    labels = list(dict.fromkeys([*read_manifest(va).get("label_columns", []),
                                 *read_manifest(vb).get("label_columns", [])]))
    cols = ["sentence_id", "text", *labels]

    def read(vdir: Path) -> pa.Table:
        parts = [pq.read_table(vdir / data_file(s),
                               columns=[c for c in cols if c in
                                        pq.read_schema(vdir / data_file(s)).names])
                 for s in SPLITS]
        return pa.concat_tables(parts)

    return diff_tables(read(va), read(vb), labels, name_a=va.name, name_b=vb.name)


def verify(path: Path | str, version: str | int | None = None) -> list[str]:
    """Re-check every sha256 of one version (or all); returns the versions verified.

    Raises IntegrityError naming the first missing, modified or unlisted file.
    """
    p = Path(path)
    if version is None and not is_version_dir(p):
        names = [version_name(n) for n in list_versions(p)]   # the incomplete ones too
        if not names:
            raise ReleaseError(f"{p} has no released versions",
                               hint="run `corpus release NAME` first, or check the path")
        for name in names:
            verify_version(p / name)
        return names
    # verify checks a named folder itself (resolve would only say "not complete")
    if is_version_dir(p) and (version is None or not VERSION_RE.match(p.name)
                              or parse_version(version) == parse_version(p.name)):
        vdir = p
    elif version is not None and not is_version_dir(p) \
            and parse_version(version) in list_versions(p):
        vdir = p / version_name(parse_version(version))
    else:
        vdir = resolve(p, version if version is not None else "latest")
    verify_version(vdir)
    return [vdir.name]
