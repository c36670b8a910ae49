"""Re-check every sha256 of a released version (``corpus verify``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from corpus.errors import IntegrityError
from corpus.releases.manifest import read_manifest, read_sidecar, sha256_file
from corpus.releases.model import CARD, MANIFEST, MANIFEST_SIDECAR

_RESTORE = "restore it from a backup or a fresh copy of the version; versions are immutable"


def verify_version(version_dir: Path) -> int:
    """Check the manifest against its sidecar, then every file against the manifest.

    Returns the number of files checked; raises IntegrityError naming the first
    missing, modified or unlisted file.
    """
    sidecar = read_sidecar(version_dir)
    for name in (MANIFEST, CARD):
        path = version_dir / name
        if not path.is_file():
            raise IntegrityError(f"{path} is missing", hint=_RESTORE)
        expected = sidecar.get(name)
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if expected is None:
            raise IntegrityError(f"{version_dir / MANIFEST_SIDECAR} does not list {name}",
                                 hint=_RESTORE)
        if actual != expected:
            raise IntegrityError(
                f"{path} was edited after release: its sha256 {actual[:16]}... does not "
                f"match {MANIFEST_SIDECAR} ({expected[:16]}...)", hint=_RESTORE)
    manifest = read_manifest(version_dir)
    files = manifest["files"]
    for rel, entry in sorted(files.items()):
        path = version_dir / rel
        if not path.is_file():
            raise IntegrityError(f"{path} is missing (listed in {MANIFEST})", hint=_RESTORE)
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise IntegrityError(
                f"{path} was modified: sha256 {actual[:16]}... does not match {MANIFEST} "
                f"({entry['sha256'][:16]}...)", hint=_RESTORE)
    known = {*files, MANIFEST, CARD, MANIFEST_SIDECAR}
    for path in sorted(version_dir.rglob("*")):
        rel = path.relative_to(version_dir).as_posix()
        if path.is_file() and rel not in known:
            raise IntegrityError(f"{path} is not part of the release (not in {MANIFEST})",
                                 hint="remove it; versions are immutable")
    return len(files) + 3
