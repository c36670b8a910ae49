"""What each annotator has done so far, from the pulled ``annotations.parquet``.

Figures are as of the last ``corpus pull``: tasks done (annotations submitted),
skipped (cancelled annotations), the median lead time, and agreement with the
others (percent agreement on the schema's primary field over every sentence the
annotator shares with another, pooled over their pairs).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from corpus.labelschema import LabelSchema


@dataclass(frozen=True)
class AnnotatorStats:
    """One annotator's work in the pulled annotations."""

    annotator: str
    done: int = 0
    skipped: int = 0
    median_lead_time: float | None = None
    shared: int = 0
    agreement: float | None = None


def annotator_stats(annotations: pa.Table, schema: LabelSchema,
                    project_ids: Sequence[int] | None = None) -> dict[str, AnnotatorStats]:
    """Per annotator: done, skipped, median lead time (s), agreement with the others."""
    from corpus.releases.aggregate import aggregate
    from corpus.releases.agreement import pairwise
    from corpus.releases.model import primary_field

    table = annotations
    if project_ids is not None:
        table = table.filter(pc.is_in(table["ls_project_id"],
                                      value_set=pa.array(list(project_ids), pa.int64())))
    names = table["annotator"].to_pylist()
    cancelled = table["was_cancelled"].to_pylist()
    lead = table["lead_time"].to_pylist()
    done: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    times: dict[str, list[float]] = defaultdict(list)
    for name, skip, seconds in zip(names, cancelled, lead, strict=True):
        who = name or "(unknown)"
        if skip:
            skipped[who] += 1
        else:
            done[who] += 1
        if seconds is not None:
            times[who].append(float(seconds))
    shared: dict[str, int] = defaultdict(int)
    agreed: dict[str, float] = defaultdict(float)
    primary = primary_field(schema)
    if primary and table.num_rows:
        sentence_ids = pc.unique(table["sentence_id"])
        agg = aggregate(table, sentence_ids, schema)
        for pair in pairwise(agg, primary):
            for who in (pair["a"], pair["b"]):
                shared[who] += int(pair["items"])
                agreed[who] += float(pair["percent_agreement"]) * int(pair["items"])
    out = {}
    for who in sorted(set(done) | set(skipped)):
        out[who] = AnnotatorStats(
            annotator=who, done=done[who], skipped=skipped[who],
            median_lead_time=statistics.median(times[who]) if times[who] else None,
            shared=shared[who],
            agreement=round(agreed[who] / shared[who], 4) if shared[who] else None)
    return out
