"""Stable pseudonyms for annotators in released data: ``annotator-001``, ``annotator-002``, ...

The mapping (Label Studio e-mail -> pseudonym) is kept in the workspace,
``workspace/pseudonyms.json`` (mode 0600: it links people to their labels), and
only grows: a person keeps their pseudonym across versions and release names.
New annotators are numbered in a random order (not that of their names, which would
let anyone who knows the team undo the pseudonyms).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import WorkspaceError
from corpus.storage.atomic import write_json
from corpus.workspace import Workspace

PREFIX = "annotator-"


def pseudonyms_path(workspace: Workspace) -> Any:
    """Where the workspace keeps its annotator -> pseudonym mapping."""
    return workspace.root / "pseudonyms.json"


def read_pseudonyms(workspace: Workspace) -> dict[str, str]:
    """The mapping so far (empty before the first release)."""
    path = pseudonyms_path(workspace)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"{path} is unreadable ({type(exc).__name__})",
                             hint="restore it from a backup: released pseudonyms depend on it"
                             ) from None
    mapping = doc.get("annotators") if isinstance(doc, dict) else None
    if not isinstance(mapping, dict):
        raise WorkspaceError(f"{path} has no `annotators` mapping",
                             hint="restore it from a backup: released pseudonyms depend on it")
    return {str(k): str(v) for k, v in mapping.items()}


def assign(workspace: Workspace, names: list[str]) -> dict[str, str]:
    """Pseudonyms of ``names``: the kept ones, new ones numbered after them (and saved)."""
    with workspace.lock("pseudonyms", wait=True):
        mapping = read_pseudonyms(workspace)
        new = sorted(set(names) - set(mapping))
        secrets.SystemRandom().shuffle(new)
        if new:
            width = max(3, len(str(len(mapping) + len(new))))
            used = {int(v[len(PREFIX):]) for v in mapping.values()
                    if v.startswith(PREFIX) and v[len(PREFIX):].isdigit()}
            number = max(used, default=0)
            for name in new:
                number += 1
                mapping[name] = f"{PREFIX}{number:0{width}d}"
            write_json(pseudonyms_path(workspace),
                       {"note": "Label Studio annotator -> pseudonym in released data; keep "
                                "private, keep it: pseudonyms stay stable through it",
                        "annotators": mapping}, mode=0o600)
    return {n: mapping[n] for n in names}


def pseudonymise(workspace: Workspace, annotations: pa.Table) -> pa.Table:
    """``annotations`` with the ``annotator`` column replaced by stable pseudonyms."""
    if "annotator" not in annotations.column_names or annotations.num_rows == 0:
        return annotations
    encoded = pc.dictionary_encode(annotations["annotator"]).combine_chunks()
    names = [str(v) if v is not None else "" for v in encoded.dictionary.to_pylist()]
    mapping = assign(workspace, names)
    replaced = pa.DictionaryArray.from_arrays(
        encoded.indices, pa.array([mapping[n] for n in names], pa.string())).cast(pa.string())
    index = annotations.schema.get_field_index("annotator")
    return annotations.set_column(index, annotations.schema.field(index), replaced)
