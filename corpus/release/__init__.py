"""Releases: aggregate, measure agreement, split, and write immutable versions.

``release(workspace, name)`` builds ``workspace/releases/NAME/vNNNN/``;
``corpus.load`` reads them back.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from corpus.release.build import ReleaseInfo, release

__all__ = ["ReleaseInfo", "release"]


class _CallableModule(types.ModuleType):
    """``corpus.release`` is both this package and the function (DESIGN: ``corpus.release()``).

    Once ``import corpus.release`` has run, Python binds the attribute
    ``corpus.release`` to the package, so the package forwards calls to ``release``.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> ReleaseInfo:
        return release(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
