"""Aggregate every annotator's labels into one release row per sentence (vectorised).

Rules (documented in the dataset card too):

- cancelled (skipped) annotations are dropped; when one annotator has several
  annotations of a sentence only the latest (``updated_at``, then
  ``annotation_id``) counts;
- a sentence is released when it has at least ``min_annotations`` annotators,
  or a ground-truth annotation;
- **adjudicated**: when a sentence has a ``ground_truth`` annotation, the latest
  one decides every field as given; vote counts still include everybody; a decision of
  an adjudication round (``decisions``, see ``corpus.labelstudio.adjudication``) wins
  over both and is not a vote: the counts stay those of the annotators;
- **single** fields: plurality vote over the annotators who answered; when the
  top count is shared the label is null and the row is a ``tie``;
- **multi** fields: a label is kept when more than half of the sentence's
  annotators chose it (null when nobody answered the field);
- **stance**: plurality vote per target over the annotators who judged that
  target; a tied target keeps the target with a null label, and so does a target that
  annotators were asked but none answered (its votes are all 0); a target nobody was
  asked is absent (schema v2 asks the targets a sentence mentions, and any the
  annotator adds);
- **spans**: a span is kept when more than half of the sentence's annotators
  marked the exact same (start, end, label).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import ReleaseError
from corpus.releases.model import FieldLike, SchemaLike, primary_field

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

ANNOTATION_META = ("sentence_id", "annotation_id", "annotator", "updated_at",
                   "was_cancelled", "ground_truth")


@dataclass
class StanceGroups:
    """Vote counts of a stance field, one group per (sentence, target)."""

    targets: list[str]
    sent: IntArray            # sentence code of each group
    target: IntArray          # target code of each group
    counts: IntArray          # (groups, labels)


@dataclass
class FieldResult:
    """The aggregated label and vote columns of one schema field."""

    name: str
    kind: str
    values: tuple[str, ...]
    label: pa.Array
    votes: pa.Array
    counts: IntArray | None = None          # single/multi: (sentences, labels)
    stance: StanceGroups | None = None
    row_codes: IntArray | None = None       # single: label code of every kept annotation


@dataclass
class Aggregation:
    """Aggregated labels of the released sentences, in ``sentence_ids`` order."""

    sentence_ids: pa.Array
    n_annotators: npt.NDArray[np.int32]
    adjudicated: BoolArray
    agreement: pa.Array
    fields: list[FieldResult]
    row_sent: IntArray                      # sentence code of every kept annotation
    row_annotator: IntArray                 # annotator code of every kept annotation
    annotators: list[str]
    released_index: IntArray                # position of each released sentence in the input
    row_released: BoolArray                 # per input annotation row: its sentence is released
    stats: dict[str, int] = field(default_factory=dict)


def _np_int(arr: pa.Array | pa.ChunkedArray, fill: int = -1) -> IntArray:
    filled = pc.fill_null(arr, fill)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int64)


def _np_bool(arr: pa.Array | pa.ChunkedArray) -> BoolArray:
    filled = pc.fill_null(arr, False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _single(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _codes(arr: pa.Array | pa.ChunkedArray, values: Sequence[str]) -> IntArray:
    return _np_int(pc.index_in(arr, value_set=pa.array(list(values), pa.string())))


def _last_per_key(keys: IntArray) -> BoolArray:
    """For sorted ``keys``: True at the last element of each run."""
    last = np.ones(len(keys), dtype=np.bool_)
    if len(keys) > 1:
        last[:-1] = keys[:-1] != keys[1:]
    return last


def _run_starts(*sorted_cols: IntArray) -> BoolArray:
    """For rows sorted by ``sorted_cols``: True at the first row of each distinct tuple."""
    n = len(sorted_cols[0]) if sorted_cols else 0
    start = np.zeros(n, dtype=np.bool_)
    if n:
        start[0] = True
        for col in sorted_cols:
            start[1:] |= col[1:] != col[:-1]
    return start


def _plurality(counts: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Winner code (-1 on tie/no votes), total, top count and number of labels at the top."""
    total = counts.sum(axis=1)
    if counts.shape[1] == 0:
        zeros = np.zeros(len(counts), dtype=np.int64)
        return zeros - 1, total, zeros, zeros
    top = counts.max(axis=1)
    n_top = (counts == top[:, None]).sum(axis=1)
    winner = np.where((total > 0) & (n_top == 1), counts.argmax(axis=1), -1)
    return winner.astype(np.int64), total, top, n_top


def _take_values(values: Sequence[str], codes: IntArray) -> pa.Array:
    return pa.array(list(values), pa.string()).take(
        pa.array(np.where(codes < 0, 0, codes), mask=codes < 0))


def _votes_struct(values: Sequence[str], counts: IntArray) -> pa.StructArray:
    arrays = [pa.array(counts[:, j].astype(np.int32)) for j in range(len(values))]
    if not arrays:
        empty: pa.StructArray = pa.array([{}] * len(counts), pa.struct([]))
        return empty
    return pa.StructArray.from_arrays(arrays, names=list(values))


def _offsets(lengths: IntArray) -> pa.Array:
    return pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))


@dataclass
class _Rows:
    """The kept annotations: positions in the input table and their sentence codes."""

    rows: IntArray          # input row of each kept annotation (sorted by sentence, annotator)
    pos: IntArray           # per input row: index into ``rows`` or -1
    sent: IntArray          # sentence code of each kept annotation
    n: int                  # number of released sentences
    n_ann: IntArray         # kept annotations per sentence
    gt_row: IntArray        # per sentence: input row of the deciding annotation, or -1

    def flat_parents(self, column: pa.Array) -> tuple[IntArray, IntArray]:
        """For a list column: kept flat positions and their parent (index into ``rows``)."""
        parent_full = _np_int(pc.list_parent_indices(column))
        parent = self.pos[parent_full]
        flat_idx = np.nonzero(parent >= 0)[0]
        return flat_idx, parent[flat_idx]

    def answered(self, column: pa.Array) -> BoolArray:
        """Sentences where at least one kept annotation has a non-null value."""
        valid = _np_bool(pc.is_valid(column))[self.rows]
        return np.bincount(self.sent[valid], minlength=self.n) > 0


def _override(agg: pa.Array, column: pa.Array, r: _Rows) -> pa.Array:
    """Replace rows with a ground-truth annotation by that annotation's value."""
    has = r.gt_row >= 0
    if not has.any():
        return agg.cast(column.type)
    gt_values = column.take(pa.array(r.gt_row[has]))
    combined = pa.concat_arrays([agg.cast(column.type), gt_values])
    idx = np.arange(len(agg), dtype=np.int64)
    idx[has] = len(agg) + np.arange(int(has.sum()), dtype=np.int64)
    return combined.take(pa.array(idx))


def _agg_single(f: FieldLike, column: pa.Array, r: _Rows) -> FieldResult:
    values = tuple(f.values)
    all_codes = _codes(column, values)
    codes = all_codes[r.rows]
    valid = codes >= 0
    width = len(values)
    n = r.n
    counts = np.bincount(r.sent[valid] * width + codes[valid], minlength=n * width)
    counts = counts.reshape(n, width)
    winner, _, _, _ = _plurality(counts)
    has = r.gt_row >= 0
    winner[has] = all_codes[r.gt_row[has]]
    return FieldResult(f.name, f.kind, values, _take_values(values, winner),
                       _votes_struct(values, counts), counts=counts, row_codes=codes)


def _agg_multi(f: FieldLike, column: pa.Array, r: _Rows) -> FieldResult:
    values = tuple(f.values)
    width = len(values)
    n = r.n
    flat_idx, parent = r.flat_parents(column)
    codes = _codes(pc.list_flatten(column), values)[flat_idx]
    ok = codes >= 0
    key = np.unique(parent[ok] * width + codes[ok])          # one vote per annotation
    counts = np.bincount(r.sent[key // width] * width + key % width, minlength=n * width)
    counts = counts.reshape(n, width)
    answered = r.answered(column)
    keep = (counts * 2 > r.n_ann[:, None]) & answered[:, None]
    _, cols = np.nonzero(keep)
    agg = pa.ListArray.from_arrays(
        _offsets(keep.sum(axis=1)), _take_values(values, cols.astype(np.int64)),
        mask=pa.array(~answered))
    return FieldResult(f.name, f.kind, values, _override(agg, column, r),
                       _votes_struct(values, counts), counts=counts)


_DENSE_CELLS = 40_000_000
"""Up to this many (annotation x target) and (sentence x target x label) cells, stance
votes are counted in dense arrays (no sort: ~5x faster on a 1M-row release); beyond it
(many targets), by sorting."""


def _stance_counts_dense(r: _Rows, parent: IntArray, tc: IntArray, lc: IntArray,
                         t_count: int, width: int) -> tuple[IntArray, IntArray]:
    """(group keys ``sentence * t_count + target`` ascending, their label counts): one
    judgment per annotation and target, the last of repeated ones (the flat order); a
    judgment without a label (``lc`` -1: asked, not answered) makes its group, no vote."""
    per_annotation = parent * t_count + tc
    if len(per_annotation) and np.bincount(per_annotation).max() > 1:
        last = np.full(len(r.rows) * t_count, -1, dtype=np.int64)
        np.maximum.at(last, per_annotation, np.arange(len(per_annotation), dtype=np.int64))
        keep = last[last >= 0]
        parent, tc, lc = parent[keep], tc[keep], lc[keep]
    gkey = r.sent[parent] * t_count + tc
    groups = np.nonzero(np.bincount(gkey, minlength=r.n * t_count))[0]
    voted = lc >= 0
    cells = np.bincount(gkey[voted] * width + lc[voted], minlength=r.n * t_count * width)
    return groups, cells.reshape(r.n * t_count, width)[groups]


def _stance_counts_sorted(r: _Rows, parent: IntArray, tc: IntArray, lc: IntArray,
                          t_count: int, width: int) -> tuple[IntArray, IntArray]:
    """:func:`_stance_counts_dense` by a stable sort, for many targets."""
    # sort by (sentence, target, annotation); stable, so the last of repeated judgments
    # of one target within one annotation comes last
    gkey = r.sent[parent] * t_count + tc
    composite = gkey * (len(r.rows) + 1) + parent
    order = np.argsort(composite, kind="stable")
    composite = composite[order]
    last = _last_per_key(composite)
    lc = lc[order][last]
    gkey = gkey[order][last]
    starts = _run_starts(gkey)
    group_id = np.cumsum(starts) - 1
    groups = gkey[starts]
    g = len(groups)
    voted = lc >= 0
    counts = np.bincount(group_id[voted] * width + lc[voted],
                         minlength=g * width).reshape(g, width)
    return groups, counts


def _agg_stance(f: FieldLike, column: pa.Array, r: _Rows) -> FieldResult:
    values = tuple(f.values)
    width = len(values)
    n = r.n
    flat = pc.list_flatten(column)
    flat_idx, parent = r.flat_parents(column)
    target_arr = flat.field("target")
    targets = sorted(str(t) for t in pc.unique(target_arr).to_pylist() if t is not None)
    t_count = max(len(targets), 1)
    tc = _codes(target_arr, targets)[flat_idx]
    lc = _codes(flat.field("label"), values)[flat_idx]
    # an asked target without an answer (label null) still makes its group: "asked"
    ok = np.nonzero(tc >= 0)[0]
    if len(r.rows) * t_count <= _DENSE_CELLS and n * t_count * width <= _DENSE_CELLS:
        groups, counts = _stance_counts_dense(r, parent[ok], tc[ok], lc[ok], t_count, width)
    else:
        groups, counts = _stance_counts_sorted(r, parent[ok], tc[ok], lc[ok], t_count, width)
    g_sent = groups // t_count
    g_target = groups % t_count
    winner, _, _, _ = _plurality(counts)
    answered = r.answered(column)
    offsets = _offsets(np.bincount(g_sent, minlength=n))
    mask = pa.array(~answered)
    target_values = _take_values(targets, g_target)
    value_type = column.type.value_type
    agg_struct = pa.StructArray.from_arrays(
        [target_values, _take_values(values, winner)], names=["target", "label"])
    agg = pa.ListArray.from_arrays(offsets, agg_struct.cast(value_type), mask=mask)
    vote_struct = pa.StructArray.from_arrays(
        [target_values, *[pa.array(counts[:, j].astype(np.int32)) for j in range(width)]],
        names=["target", *values])
    votes = pa.ListArray.from_arrays(offsets, vote_struct, mask=mask)
    return FieldResult(f.name, f.kind, values, _override(agg, column, r), votes,
                       stance=StanceGroups(targets, g_sent, g_target, counts))


def _agg_spans(f: FieldLike, column: pa.Array, r: _Rows) -> FieldResult:
    values = tuple(f.values)
    n = r.n
    flat = pc.list_flatten(column)
    flat_idx, parent_k = r.flat_parents(column)
    parent = np.full(len(flat), -1, dtype=np.int64)
    parent[flat_idx] = parent_k
    start = _np_int(flat.field("start"))
    end = _np_int(flat.field("end"))
    lc = _codes(flat.field("label"), values)
    ok = np.nonzero((parent >= 0) & (lc >= 0) & _np_bool(pc.is_valid(flat.field("start")))
                    & _np_bool(pc.is_valid(flat.field("end"))))[0]
    # one vote per (annotation, span)
    order = ok[np.lexsort((lc[ok], end[ok], start[ok], parent[ok]))]
    order = order[_run_starts(parent[order], start[order], end[order], lc[order])]
    s = r.sent[parent[order]]
    order = order[np.lexsort((lc[order], end[order], start[order], s))]
    s = r.sent[parent[order]]
    first = _run_starts(s, start[order], end[order], lc[order])
    group_start = np.nonzero(first)[0]
    counts = np.diff(np.append(group_start, len(order)))
    rep = order[group_start]                      # representative flat row of each group
    g_sent = s[group_start]
    keep = counts * 2 > r.n_ann[g_sent]
    answered = r.answered(column)
    mask = pa.array(~answered)
    text = flat.field("text")
    value_type = column.type.value_type
    rep_k = rep[keep]
    agg_struct = pa.StructArray.from_arrays(
        [pa.array(start[rep_k].astype(np.int32)), pa.array(end[rep_k].astype(np.int32)),
         _take_values(values, lc[rep_k]), text.take(pa.array(rep_k))],
        names=["start", "end", "label", "text"])
    agg = pa.ListArray.from_arrays(_offsets(np.bincount(g_sent[keep], minlength=n)),
                                   agg_struct.cast(value_type), mask=mask)
    vote_struct = pa.StructArray.from_arrays(
        [pa.array(start[rep].astype(np.int32)), pa.array(end[rep].astype(np.int32)),
         _take_values(values, lc[rep]), pa.array(counts.astype(np.int32))],
        names=["start", "end", "label", "count"])
    votes = pa.ListArray.from_arrays(_offsets(np.bincount(g_sent, minlength=n)),
                                     vote_struct, mask=mask)
    return FieldResult(f.name, f.kind, values, _override(agg, column, r), votes)


def aggregate(annotations: pa.Table, sentence_ids: pa.Array, schema: SchemaLike, *,
              min_annotations: int = 1, decisions: pa.Table | None = None) -> Aggregation:
    """Aggregate ``annotations`` over the sentences ``sentence_ids`` (in release order).

    Only sentences with ``>= min_annotations`` kept annotations (or a ground
    truth, or a decision) are returned, in the order of ``sentence_ids``.
    ``decisions``: rows like ``annotations`` from adjudication rounds; the latest per
    sentence decides every field, and they are not counted as votes.
    """
    if min_annotations < 1:
        raise ReleaseError(f"--min-annotations must be at least 1, got {min_annotations}",
                           hint="pass --min-annotations 1 or more")
    missing = [c for c in (*ANNOTATION_META, *(f.name for f in schema.fields))
               if c not in annotations.column_names]
    if missing:
        raise ReleaseError(
            f"annotations table lacks column(s) {', '.join(missing)} of schema "
            f"{schema.name} v{schema.version}",
            hint="run `corpus pull` with the current schema, or pass the schema it was pulled with")
    stats: dict[str, int] = {"annotation_rows": annotations.num_rows}
    n_votes = annotations.num_rows
    if decisions is not None and decisions.num_rows:
        annotations = pa.concat_tables([annotations, decisions.select(
            annotations.column_names).cast(annotations.schema)])
    is_decision = np.arange(annotations.num_rows) >= n_votes
    cancelled = _np_bool(annotations["was_cancelled"])
    stats["cancelled"] = int((cancelled & ~is_decision).sum())
    sent_all = _np_int(pc.index_in(annotations["sentence_id"], value_set=sentence_ids))
    stats["orphans"] = int(((sent_all < 0) & ~cancelled & ~is_decision).sum())
    keep_rows = np.nonzero(~cancelled & (sent_all >= 0) & ~is_decision)[0]
    dec_rows = np.nonzero(~cancelled & (sent_all >= 0) & is_decision)[0]

    ann_dict = pc.unique(annotations["annotator"].take(pa.array(keep_rows)))
    annotators = sorted(str(a) for a in ann_dict.to_pylist() if a is not None)
    ann_all = _codes(annotations["annotator"], annotators)
    a_count = max(len(annotators), 1)
    updated = _np_int(annotations["updated_at"].cast(pa.int64()), fill=0)
    ann_id = _np_int(annotations["annotation_id"], fill=0)

    # latest annotation per (sentence, annotator); result sorted by sentence, annotator
    key = sent_all[keep_rows] * (a_count + 1) + (ann_all[keep_rows] + 1)
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    rows = keep_rows[order]
    if len(key_sorted) > 1 and bool((key_sorted[1:] == key_sorted[:-1]).any()):
        order = keep_rows[np.lexsort((ann_id[keep_rows], updated[keep_rows], key))]
        key_sorted = sent_all[order] * (a_count + 1) + (ann_all[order] + 1)
        rows = order[_last_per_key(key_sorted)]
    stats["superseded"] = int(len(keep_rows) - len(rows))

    n_all = len(sentence_ids)
    sent_rows = sent_all[rows]
    gt_all = _np_bool(annotations["ground_truth"])
    gt = gt_all[rows]
    n_ann_all = np.bincount(sent_rows, minlength=n_all)
    has_gt_all = np.bincount(sent_rows[gt], minlength=n_all) > 0
    has_gt_all |= np.bincount(sent_all[dec_rows], minlength=n_all) > 0
    released = (n_ann_all >= min_annotations) | has_gt_all
    new_code = np.cumsum(released) - 1
    rows = rows[released[sent_rows]]
    sent = new_code[sent_all[rows]]
    n = int(released.sum())
    pos = np.full(annotations.num_rows, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows), dtype=np.int64)

    # latest ground-truth annotation per sentence (index into ``rows``)
    gt_idx = np.nonzero(gt_all[rows])[0]
    gt_idx = gt_idx[np.lexsort((ann_id[rows][gt_idx], updated[rows][gt_idx], sent[gt_idx]))]
    last = _last_per_key(sent[gt_idx])
    gt_row = np.full(n, -1, dtype=np.int64)
    gt_row[sent[gt_idx[last]]] = rows[gt_idx[last]]
    if len(dec_rows):   # the latest decision per sentence wins over ground truth
        dec = dec_rows[np.lexsort((ann_id[dec_rows], updated[dec_rows], sent_all[dec_rows]))]
        dec = dec[_last_per_key(sent_all[dec])]
        gt_row[new_code[sent_all[dec]]] = dec
    r = _Rows(rows=rows, pos=pos, sent=sent, n=n, n_ann=n_ann_all[released], gt_row=gt_row)

    kinds = {"single": _agg_single, "multi": _agg_multi, "stance": _agg_stance,
             "spans": _agg_spans}
    for f in schema.fields:
        if f.kind not in kinds:
            raise ReleaseError(f"field {f.name!r} has unknown kind {f.kind!r}",
                               hint="fix the label schema YAML (single|multi|stance|spans)")

    def one(f: FieldLike) -> FieldResult:
        return kinds[f.kind](f, _single(annotations[f.name]), r)

    # fields are independent and Arrow/NumPy kernels release the GIL: two at a time, the
    # costliest (per-target stance, spans, multi) first so that they run side by side
    cost = {"stance": 0, "spans": 1, "multi": 2, "single": 3}
    by_cost = sorted(range(len(schema.fields)), key=lambda i: cost.get(schema.fields[i].kind, 4))
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(by_cost, pool.map(one, [schema.fields[i] for i in by_cost]), strict=True))
    results = [done[i] for i in range(len(schema.fields))]

    agreement = _agreement(results, primary_field(schema), gt_row, n)
    stats["kept_annotations"] = len(rows)
    return Aggregation(
        sentence_ids=sentence_ids.filter(pa.array(released)),
        n_annotators=r.n_ann.astype(np.int32), adjudicated=gt_row >= 0, agreement=agreement,
        fields=results, row_sent=sent, row_annotator=ann_all[rows], annotators=annotators,
        released_index=np.nonzero(released)[0],
        row_released=((sent_all >= 0) & released[np.maximum(sent_all, 0)])[:n_votes],
        stats=stats)


def single_votes(agg: Aggregation) -> dict[str, int]:
    """Per single-choice and stance field: how many released labels rest on one vote
    although two or more annotators took the sentence (the others skipped that field or,
    for stance, that target); adjudicated sentences are not counted. Stance counts
    (sentence, target) pairs."""
    n_ann = np.asarray(agg.n_annotators, dtype=np.int64)
    open_ = ~np.asarray(agg.adjudicated, dtype=np.bool_)
    out: dict[str, int] = {}
    for f in agg.fields:
        if f.kind == "single" and f.counts is not None:
            total = f.counts.sum(axis=1)
            out[f.name] = int(np.sum((total == 1) & (n_ann >= 2) & open_))
        elif f.kind == "stance" and f.stance is not None:
            total = f.stance.counts.sum(axis=1)
            s = f.stance.sent
            out[f.name] = int(np.sum((total == 1) & (n_ann[s] >= 2) & open_[s]))
    return out


def _agreement(results: list[FieldResult], primary: str | None, gt_row: IntArray,
               n: int) -> pa.Array:
    codes: IntArray = np.full(n, -1, dtype=np.int64)
    for r in results:
        if r.name == primary and r.counts is not None:
            _, total, top, n_top = _plurality(r.counts)
            codes = np.select(
                [total == 0, n_top > 1, top == total], [-1, 2, 0], default=1).astype(np.int64)
    codes[gt_row >= 0] = 3
    return _take_values(("unanimous", "majority", "tie", "adjudicated"), codes)
