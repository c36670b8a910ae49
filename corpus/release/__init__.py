"""Releases: aggregate, measure agreement, split, and write immutable versions.

``release(workspace, name)`` builds ``workspace/releases/NAME/vNNNN/``;
``corpus.load`` reads them back.
"""

from __future__ import annotations

from corpus.release.build import ReleaseInfo, release

__all__ = ["ReleaseInfo", "release"]
