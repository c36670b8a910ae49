"""Labels of a cluster of repeated sentences, given to the members nobody annotated.

Push sends one representative per cluster (``corpus.duplicates``); a release gives the
cluster's labels to its other members, marked ``label_source = propagated``:

- the **source** of a cluster is its released row that was adjudicated, else the one with
  the most annotators, else the smallest ``sentence_id`` (several members are annotated
  when a push ran with ``--dedup off``; each of those keeps its own labels);
- a **member** is a sentence of the table (kind ``sentence``) in the source's cluster that
  has no released labels of its own; its row is its own sentence (text, offsets, article,
  source, date) with the source's labels, vote counts, ``n_annotators`` and ``agreement``,
  and ``propagated_from`` naming the source;
- **spans** are offsets into the text: a member gets them only when its text is the
  source's character for character, else null;
- a member goes to its **source's split**, so copies of one sentence never sit on both
  sides of train and test (the article hash decides every other row).

Every row has ``label_source``: ``annotated``, ``adjudicated`` (``agreement =
adjudicated``) or ``propagated``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.releases.model import SENTENCE_COLUMNS

LABEL_SOURCE = "label_source"
PROPAGATED_FROM = "propagated_from"
ARTICLE_COLUMNS = ("source", "published_at")


def with_label_source(table: pa.Table) -> pa.Table:
    """``table`` with ``label_source`` (annotated / adjudicated) and an empty
    ``propagated_from``."""
    adjudicated = pc.fill_null(pc.equal(table["agreement"], "adjudicated"), False)
    source = pc.if_else(adjudicated, "adjudicated", "annotated")
    return (table.append_column(LABEL_SOURCE, source)
            .append_column(PROPAGATED_FROM, pa.nulls(table.num_rows, pa.string())))


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:  # type: ignore[type-arg]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def propagate_labels(table: pa.Table, sentences: pa.Table, articles: pa.Table | None,
                     span_fields: Sequence[str], *, enabled: bool = True,
                     ) -> tuple[pa.Table, int]:
    """Release rows plus a propagated row per unannotated cluster member (see the module
    docstring), ordered like the release; and how many rows were propagated."""
    base = with_label_source(table)
    if not enabled or "cluster_id" not in sentences.column_names \
            or "cluster_id" not in table.column_names or table.num_rows == 0:
        return base, 0
    cluster = table["cluster_id"]
    pick = pa.table({
        "c": cluster,
        "adj": pc.cast(pc.equal(base[LABEL_SOURCE], "adjudicated"), pa.int8()),
        "n": table["n_annotators"], "sid": table["sentence_id"]})
    order = _np(pc.sort_indices(pick, sort_keys=[("c", "ascending"), ("adj", "descending"),
                                                 ("n", "descending"), ("sid", "ascending")]))
    sorted_c = pick["c"].take(pa.array(order))
    first = np.ones(len(order), dtype=np.bool_)
    if len(order) > 1:
        first[1:] = _np(pc.not_equal(sorted_c.slice(1), sorted_c.slice(0, len(order) - 1)))
    src_rows = order[first]
    src_clusters = cluster.take(pa.array(src_rows))
    is_member = pc.and_(
        pc.and_(pc.fill_null(pc.equal(sentences["kind"], "sentence"), False),
                pc.is_in(sentences["cluster_id"], value_set=src_clusters)),
        pc.invert(pc.is_in(sentences["sentence_id"], value_set=table["sentence_id"])))
    members = sentences.filter(is_member)
    if members.num_rows == 0:
        return base, 0
    at = _np(pc.index_in(members["cluster_id"], value_set=src_clusters)).astype(np.int64)
    source = base.take(pa.array(src_rows[at]))
    same_text = pc.equal(members["text"], source["text"])
    art_at = (pc.index_in(members["article_id"], value_set=articles["article_id"])
              if articles is not None else None)
    columns: list[pa.Array | pa.ChunkedArray] = []
    for f in base.schema:
        name = f.name
        if name in SENTENCE_COLUMNS and name in members.column_names:
            col = members[name]
        elif name in ARTICLE_COLUMNS:
            col = (articles[name].take(art_at) if articles is not None and art_at is not None
                   and name in articles.column_names else pa.nulls(members.num_rows, f.type))
        elif name == LABEL_SOURCE:
            col = pa.array(["propagated"] * members.num_rows, pa.string())
        elif name == PROPAGATED_FROM:
            col = source["sentence_id"]
        elif name in span_fields:
            col = pc.if_else(same_text, source[name], pa.nulls(members.num_rows, f.type))
        else:                                   # labels, votes, n_annotators, agreement, split
            col = source[name]
        columns.append(col.cast(f.type) if col.type != f.type else col)
    extra = pa.Table.from_arrays(columns, schema=base.schema)
    out = pa.concat_tables([base, extra])
    keys = [k for k in ("article_id", "para_idx", "sent_idx", "sentence_id")
            if k in out.column_names]
    return out.sort_by([(k, "ascending") for k in keys]), members.num_rows
