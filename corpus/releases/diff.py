"""Compare two versions: added, removed and relabelled sentences (``corpus diff``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

BoolArray = npt.NDArray[np.bool_]


@dataclass
class ReleaseDiff:
    """Sentence ids added, removed and relabelled from version ``a`` to ``b``."""

    a: str
    b: str
    added: list[str]
    removed: list[str]
    relabelled: list[str]
    changed_fields: dict[str, list[str]] = field(default_factory=dict)  # sentence -> fields
    changes: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    """Per relabelled sentence: field -> (old label, new label)."""
    texts: dict[str, str] = field(default_factory=dict)
    """The text of every sentence listed (added: as in ``b``; removed: as in ``a``)."""

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.relabelled)


def _valid(arr: pa.Array) -> BoolArray:
    return np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=np.bool_)


def rows_equal(a: pa.Array, b: pa.Array) -> BoolArray:
    """Row-wise deep equality of two aligned arrays of the same type (null == null)."""
    va, vb = _valid(a), _valid(b)
    both = va & vb
    out: BoolArray = np.asarray(va == vb)  # both null -> equal; exactly one null -> different
    if not both.any():
        return out
    idx = pa.array(np.nonzero(both)[0])
    sa, sb = a.take(idx), b.take(idx)
    typ = a.type
    if pa.types.is_struct(typ):
        eq: BoolArray = np.ones(len(sa), dtype=np.bool_)
        for i in range(typ.num_fields):
            eq &= rows_equal(sa.field(i), sb.field(i))
    elif pa.types.is_list(typ) or pa.types.is_large_list(typ):
        la = np.asarray(pc.list_value_length(sa).to_numpy(zero_copy_only=False))
        lb = np.asarray(pc.list_value_length(sb).to_numpy(zero_copy_only=False))
        eq = np.asarray(la == lb, dtype=np.bool_)
        same = pa.array(np.nonzero(eq)[0])
        ta, tb = sa.take(same), sb.take(same)
        inner = rows_equal(pc.list_flatten(ta), pc.list_flatten(tb))
        parents = np.asarray(pc.list_parent_indices(ta).to_numpy(zero_copy_only=False))
        bad = np.bincount(parents[~inner], minlength=len(ta)) > 0
        eq[np.nonzero(eq)[0][bad]] = False
    else:
        eq = np.asarray(pc.fill_null(pc.equal(sa, sb), False).to_numpy(zero_copy_only=False),
                        dtype=np.bool_)
    out[both] = eq
    return out


def diff_tables(a: pa.Table, b: pa.Table, label_columns: list[str], *, name_a: str = "a",
                name_b: str = "b") -> ReleaseDiff:
    """Diff two release tables on ``sentence_id`` and ``label_columns``."""
    ids_a = a["sentence_id"].combine_chunks()
    ids_b = b["sentence_id"].combine_chunks()
    in_a = np.asarray(pc.is_in(ids_b, value_set=ids_a).to_numpy(zero_copy_only=False))
    in_b = np.asarray(pc.is_in(ids_a, value_set=ids_b).to_numpy(zero_copy_only=False))
    added = sorted(ids_b.filter(pa.array(~in_a)).to_pylist())
    removed = sorted(ids_a.filter(pa.array(~in_b)).to_pylist())
    common_b = ids_b.filter(pa.array(in_a))
    pos_a = pc.index_in(common_b, value_set=ids_a)
    pos_b = pa.array(np.nonzero(in_a)[0])
    changed: dict[str, list[str]] = {}
    different = np.zeros(len(common_b), dtype=np.bool_)
    per_field: dict[str, BoolArray] = {}
    for col in label_columns:
        if col not in a.column_names or col not in b.column_names:
            continue
        ca = a[col].combine_chunks().take(pos_a)
        cb = b[col].combine_chunks().take(pos_b)
        neq = (np.ones(len(common_b), dtype=np.bool_) if ca.type != cb.type
               else ~rows_equal(ca, cb))
        per_field[col] = neq
        different |= neq
    ids = common_b.to_pylist()
    rows = np.nonzero(different)[0]
    at = pa.array(rows, pa.int64())
    old_new = {c: (a[c].combine_chunks().take(pos_a).take(at).to_pylist(),
                   b[c].combine_chunks().take(pos_b).take(at).to_pylist())
               for c in per_field}
    changes: dict[str, dict[str, tuple[Any, Any]]] = {}
    for k, i in enumerate(rows):
        changed[ids[i]] = [c for c, neq in per_field.items() if neq[i]]
        changes[ids[i]] = {c: (old_new[c][0][k], old_new[c][1][k]) for c in changed[ids[i]]}
    texts: dict[str, str] = {}
    for table, wanted in ((a, removed), (b, [*added, *changed])):
        if "text" in table.column_names and wanted:
            keep = pc.is_in(table["sentence_id"], value_set=pa.array(wanted, pa.string()))
            part = table.filter(keep).select(["sentence_id", "text"]).to_pydict()
            texts.update(zip(part["sentence_id"], part["text"], strict=True))
    return ReleaseDiff(name_a, name_b, added, removed, sorted(changed),
                       dict(sorted(changed.items())), dict(sorted(changes.items())), texts)


def show_label(value: Any) -> str:
    """A label as a person reads it: ``(none)`` for null, choices joined, stance as
    ``target=label``, spans as their text."""
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(show_label(v) for v in value) or "(none)"
    if isinstance(value, dict):
        if "target" in value:
            return f"{value['target']}={show_label(value.get('label'))}"
        if "text" in value:
            return repr(value["text"])
        return ", ".join(f"{k}={show_label(v)}" for k, v in value.items())
    return str(value)
