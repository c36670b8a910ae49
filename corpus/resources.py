"""Files shipped inside the package: the label schema, guidelines and jieba user dictionary.

The top-level ``schema/`` folder of the repository is installed as the package
``corpus.schema`` (``pyproject.toml`` maps it), so a wheel carries exactly the
files a lead edits in a checkout, and both are read the same way, through
``importlib.resources``. A missing file is an error that names it, never an
empty default.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from corpus.errors import ConfigError

PACKAGE = "corpus.schema"
SCHEMA_YAML = "claims_stance.yaml"
GUIDELINES = "guidelines.md"
USERDICT = "jieba_userdict.txt"
LABEL_CONFIG = "label_config.xml"
ABBREVIATIONS = ("abbreviations_en.txt",)
"""The segmenter's abbreviation files, one per language."""

_REINSTALL = "reinstall the package: pip install --force-reinstall claim-corpus"


def resource_path(name: str) -> Path:
    """The shipped file ``name`` of ``corpus.schema`` as a path on disk."""
    try:
        root = importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        raise ConfigError(f"the package data {PACKAGE} is not installed (looking for {name})",
                          hint=_REINSTALL) from None
    item = root / name
    if not isinstance(item, Path):
        raise ConfigError(f"{PACKAGE}/{name} is inside an archive, not on disk",
                          hint="install claim-corpus as a wheel (pip install), not as a zip")
    if not item.is_file():
        raise ConfigError(f"{item} is missing from the package data {PACKAGE}",
                          hint=f"restore schema/{name} in a checkout, else {_REINSTALL}")
    return item
