"""Optional dependencies: import them on use, or fail in one line naming the extra to install."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from corpus.errors import ConfigError

#: import name -> (extra of claim-corpus that installs it, what needs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "matplotlib": ("chart", "the PNG chart of a release"),
    "ray": ("ray", "`corpus split --engine ray`"),
    "sklearn": ("model", "the baseline pre-annotation model (`corpus predict --model baseline`)"),
    "scipy": ("model", "the baseline pre-annotation model (`corpus predict --model baseline`)"),
}


class MissingExtra(ConfigError):
    """An optional dependency is not installed."""


def available(module: str) -> bool:
    """True when the optional ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def install_hint(module: str) -> str:
    """The exact command that installs ``module`` through its extra."""
    extra, _ = EXTRAS[module]
    return f"pip install 'claim-corpus[{extra}]'"


def require(module: str) -> ModuleType:
    """Import the optional ``module`` or raise MissingExtra with the pip command."""
    _, purpose = EXTRAS[module.split(".")[0]]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs {module.split('.')[0]}, which is not installed",
                           hint=install_hint(module.split(".")[0])) from None
