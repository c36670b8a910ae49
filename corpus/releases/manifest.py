"""manifest.json, its sidecar ``manifest.sha256`` and file hashing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from corpus.errors import IntegrityError, ReleaseError
from corpus.releases.model import MANIFEST, MANIFEST_SIDECAR

FORMAT = 2
"""2 added parent_manifest_sha256 and params.resplit; readers accept 1 and 2."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Canonical serialisation: pretty, key-sorted UTF-8 JSON with a final newline."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def content_sha256(files: dict[str, dict[str, Any]], content_paths: list[str]) -> str:
    """Hash of the released content: sha256 over ``path  sha256`` lines of the data files."""
    lines = "".join(f"{files[p]['sha256']}  {p}\n" for p in sorted(content_paths))
    return hashlib.sha256(lines.encode()).hexdigest()


def sidecar_text(entries: dict[str, str]) -> str:
    """``sha256sum``-compatible lines (``sha256sum -c manifest.sha256`` checks them)."""
    return "".join(f"{digest}  {name}\n" for name, digest in entries.items())


def read_sidecar(version_dir: Path) -> dict[str, str]:
    """Parse ``manifest.sha256`` into name -> sha256; IntegrityError when missing or garbled."""
    path = version_dir / MANIFEST_SIDECAR
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing",
                             hint="the version folder is incomplete; restore it from a backup"
                             ) from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise IntegrityError(f"{path} is garbled: {line!r}",
                                 hint="restore it from a backup")
        out[name] = digest
    return out


def read_manifest(version_dir: Path) -> dict[str, Any]:
    """Load a version's manifest.json (ReleaseError naming the file when unreadable)."""
    path = version_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"{path} is missing",
                           hint="this is not a released version folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON ({exc})",
                             hint="restore it from a backup; manifests are never edited") from None
    if not isinstance(data, dict) or "files" not in data:
        raise IntegrityError(f"{path} has no 'files' table",
                             hint="restore it from a backup; manifests are never edited")
    return data
