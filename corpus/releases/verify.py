"""Check released versions: completeness (cheap) and every sha256 (``corpus verify``).

A version folder counts as released only when it is *complete*: its
``manifest.sha256`` sidecar matches ``manifest.json``, the manifest names the
folder's own version, and every listed file is there with its size. ``latest``,
``versions`` and the next release number only ever see complete versions;
``corpus verify`` also re-hashes every file and checks the link to the parent
version (its name, and from manifest format 2 on the parent manifest's sha256).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from corpus.errors import IntegrityError, ReleaseError
from corpus.releases.manifest import read_sidecar, sha256_file
from corpus.releases.model import CARD, MANIFEST, MANIFEST_SIDECAR, VERSION_RE, list_versions

_RESTORE = "restore it from a backup or a fresh copy of the version; versions are immutable"


def _folder_number(version_dir: Path) -> int | None:
    m = VERSION_RE.match(version_dir.name)
    return int(m.group(1)) if m else None


def check_complete(version_dir: Path) -> dict[str, Any]:
    """The manifest of a complete version; IntegrityError naming what is missing or wrong.

    Cheap (no data file is hashed): sidecar vs manifest.json, the manifest's
    version vs the folder name, every listed file present with its size.
    """
    sidecar = read_sidecar(version_dir)
    path = version_dir / MANIFEST
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing", hint=_RESTORE) from None
    expected = sidecar.get(MANIFEST)
    if expected is None:
        raise IntegrityError(f"{version_dir / MANIFEST_SIDECAR} does not list {MANIFEST}",
                             hint=_RESTORE)
    actual = hashlib.sha256(body).hexdigest()
    if actual != expected:
        raise IntegrityError(
            f"{path} was edited after release: its sha256 {actual[:16]}... does not "
            f"match {MANIFEST_SIDECAR} ({expected[:16]}...)", hint=_RESTORE)
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc})", hint=_RESTORE) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IntegrityError(f"{path} has no 'files' table", hint=_RESTORE)
    number = _folder_number(version_dir)
    if number is not None:
        claimed = manifest.get("version")
        claimed_m = VERSION_RE.match(str(claimed))
        if claimed_m is None or int(claimed_m.group(1)) != number:
            raise IntegrityError(
                f"{path} says version {claimed}, but its folder is {version_dir.name}: the "
                f"folder holds a copy of another version", hint=_RESTORE)
    for name in (CARD, *manifest["files"]):
        file = version_dir / name
        if not file.is_file():
            where = f"listed in {MANIFEST}" if name != CARD else f"listed in {MANIFEST_SIDECAR}"
            raise IntegrityError(f"{file} is missing ({where})", hint=_RESTORE)
        size = manifest["files"].get(name, {}).get("bytes") if name != CARD else None
        if isinstance(size, int) and file.stat().st_size != size:
            raise IntegrityError(
                f"{file} was modified: {file.stat().st_size} bytes, {MANIFEST} says {size}",
                hint=_RESTORE)
    return manifest


def is_complete(version_dir: Path) -> bool:
    """True when ``version_dir`` is a complete released version (see ``check_complete``)."""
    try:
        check_complete(version_dir)
    except ReleaseError:
        return False
    except OSError:
        return False
    return True


def complete_versions(release_dir: Path) -> list[int]:
    """Numbers of the complete versions of a release folder, ascending."""
    return [n for n in list_versions(release_dir)
            if is_complete(release_dir / f"v{n:04d}")]


def latest_complete(release_dir: Path) -> int | None:
    """Number of the newest complete version (checks from the newest down), or None."""
    for n in reversed(list_versions(release_dir)):
        if is_complete(release_dir / f"v{n:04d}"):
            return n
    return None


def _check_parent(version_dir: Path, manifest: dict[str, Any]) -> None:
    """The parent named by the manifest exists beside it and is the one it was built on."""
    number = _folder_number(version_dir)
    parent = manifest.get("parent")
    if number is None or not parent:
        return
    pdir = version_dir.parent / str(parent)
    m = VERSION_RE.match(str(parent))
    if m is None or int(m.group(1)) >= number:
        raise IntegrityError(f"{version_dir / MANIFEST} names parent {parent!r}, which is not "
                             f"an earlier version", hint=_RESTORE)
    pmanifest = pdir / MANIFEST
    if not pdir.is_dir():
        raise IntegrityError(f"parent {parent} of {version_dir} is missing: {pdir} does not "
                             f"exist", hint="restore the parent version from a backup; "
                                            "versions are immutable and never deleted")
    if not pmanifest.is_file():
        raise IntegrityError(f"{pmanifest} is missing (the parent {parent} of "
                             f"{version_dir.name})", hint=_RESTORE)
    expected = manifest.get("parent_manifest_sha256")
    if expected is not None:
        actual = sha256_file(pmanifest)
        if actual != expected:
            raise IntegrityError(
                f"{pmanifest} is not the parent {version_dir.name} was built on: its sha256 "
                f"{actual[:16]}... differs from 'parent_manifest_sha256' in "
                f"{version_dir / MANIFEST} ({str(expected)[:16]}...)",
                hint=f"restore {pdir} from a backup; versions are immutable")
        return
    # manifest format 1: no hash of the parent, check the name it claims
    try:
        claimed = json.loads(pmanifest.read_text(encoding="utf-8")).get("version")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        claimed = None
    if claimed != parent:
        raise IntegrityError(f"{pmanifest} says version {claimed}, not {parent}: the parent "
                             f"of {version_dir.name} was replaced", hint=f"restore {pdir}")


def verify_version(version_dir: Path) -> int:
    """Check completeness, the card, every file's sha256 and the link to the parent.

    Returns the number of files checked; raises IntegrityError naming the first
    missing, modified, unlisted or misplaced file.
    """
    manifest = check_complete(version_dir)
    sidecar = read_sidecar(version_dir)
    card = version_dir / CARD
    expected = sidecar.get(CARD)
    if expected is None:
        raise IntegrityError(f"{version_dir / MANIFEST_SIDECAR} does not list {CARD}",
                             hint=_RESTORE)
    actual = sha256_file(card)
    if actual != expected:
        raise IntegrityError(
            f"{card} was edited after release: its sha256 {actual[:16]}... does not "
            f"match {MANIFEST_SIDECAR} ({expected[:16]}...)", hint=_RESTORE)
    files = manifest["files"]
    for rel, entry in sorted(files.items()):
        path = version_dir / rel
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
    _check_parent(version_dir, manifest)
    return len(files) + 3
