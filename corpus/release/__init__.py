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

    ``corpus/__init__`` binds the function, but when ``corpus`` is imported as a
    namespace package (an editable install made before ``corpus/__init__.py``
    existed) the attribute is this package: it forwards calls to ``release``.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> ReleaseInfo:
        return release(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
