"""What each annotator has done so far, from the pulled ``annotations.parquet``.

Figures are as of the last ``corpus pull``: tasks done (annotations submitted),
skipped (cancelled annotations), the median lead time, and agreement with the
others (percent agreement on the schema's primary field over every sentence the
annotator shares with another, pooled over their pairs).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


# --------------------------------------------------------------------------- status

BOOTSTRAP_SAMPLES = 200
FLAG_BELOW = 0.15
"""An annotator is flagged when their agreement with the others' majority is this far below
the median of the team (and they share at least ``FLAG_MIN_ITEMS`` sentences)."""
FLAG_MIN_ITEMS = 10


@dataclass(frozen=True)
class FieldAlpha:
    """Krippendorff's alpha of one field so far, with a bootstrap 95% interval (singles)."""

    field: str
    kind: str
    alpha: float | None
    units: int
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class AnnotatorStatus:
    """One annotator in ``corpus status``."""

    stats: AnnotatorStats
    vs_majority: float | None
    majority_items: int
    flagged: bool


@dataclass(frozen=True)
class PredictionAcceptance:
    """How annotators treated one model version's predictions (``corpus status``)."""

    model_version: str
    predicted: int
    """tasks ``corpus predict`` gave a prediction of this version"""
    started: int
    """submitted annotations that started from one of its predictions"""
    accepted: int
    """of those, submitted with the prediction's answers unchanged"""

    @property
    def rate(self) -> float | None:
        """``accepted / started`` (None before any)."""
        return self.accepted / self.started if self.started else None


@dataclass(frozen=True)
class ProjectStatus:
    """What ``corpus status`` shows: progress, agreement so far, annotators, segment feedback,
    acceptance of predictions per model version."""

    project: str
    overlap: int | None
    tasks: int
    progress: dict[int, int]
    """number of distinct annotators (submitted, not skipped) -> tasks"""
    fields: list[FieldAlpha]
    annotators: list[AnnotatorStatus]
    segment_feedback: list[dict[str, str]]
    """sentences an annotator marked ``bad_split`` or ``junk``: id, label, annotator, text"""
    predictions: list[PredictionAcceptance] = field(default_factory=list)
    """per model version, oldest first"""

    def as_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["progress"] = {str(k): v for k, v in self.progress.items()}
        for row, acc in zip(out["predictions"], self.predictions, strict=True):
            row["rate"] = acc.rate
        return out


def prediction_acceptance(table: pa.Table, predicted: Mapping[str, int]
                          ) -> list[PredictionAcceptance]:
    """Per model version: tasks predicted (``predicted``), submitted annotations that started
    from its predictions and those accepted unchanged (rows of one project's annotations)."""
    kept = table.filter(pc.invert(pc.fill_null(table["was_cancelled"], False)))
    started: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for version, ok in zip(kept["prediction_model_version"].to_pylist(),
                           kept["prediction_accepted"].to_pylist(), strict=True):
        if version is None:
            continue
        started[version] += 1
        accepted[version] += bool(ok)
    versions = list(dict.fromkeys([*predicted, *sorted(started)]))
    return [PredictionAcceptance(v, int(predicted.get(v, 0)), started[v], accepted[v])
            for v in versions]


def _bootstrap(counts: Any, rng: Any) -> tuple[float | None, float | None]:
    import numpy as np

    from corpus.releases.agreement import nominal_alpha

    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) < 2:
        return None, None
    values = []
    for _ in range(BOOTSTRAP_SAMPLES):
        sample = pairable[rng.integers(0, len(pairable), len(pairable))]
        a = nominal_alpha(sample)
        if a == a:  # not nan
            values.append(a)
    if not values:
        return None, None
    low, high = np.percentile(values, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def _vs_majority(agg: Any, primary: str | None) -> dict[str, tuple[float, int]]:
    """Per annotator: share of their primary-field answers equal to the others' majority."""
    import numpy as np

    result = next((f for f in agg.fields if f.name == primary), None)
    if result is None or result.row_codes is None or result.counts is None:
        return {}
    codes = result.row_codes
    ok = np.nonzero(codes >= 0)[0]
    own, sent, who = codes[ok], agg.row_sent[ok], agg.row_annotator[ok]
    others = result.counts[sent].astype(np.int64).copy()
    others[np.arange(len(own)), own] -= 1
    top = others.max(axis=1)
    unique_top = (others == top[:, None]).sum(axis=1) == 1
    usable = (top > 0) & unique_top
    agree = others.argmax(axis=1) == own
    out: dict[str, tuple[float, int]] = {}
    for code, name in enumerate(agg.annotators):
        mine = usable & (who == code)
        n = int(mine.sum())
        if n:
            out[name] = (round(float(agree[mine].mean()), 4), n)
    return out


def project_status(workspace: Any, project: str, schema: LabelSchema) -> ProjectStatus:
    """Progress and quality of ``project`` from the last pull (see ``corpus status``)."""
    import numpy as np

    from corpus.errors import WorkspaceError
    from corpus.labelstudio.annotations import read_annotations
    from corpus.labelstudio.sync import ProjectSync
    from corpus.releases.aggregate import aggregate
    from corpus.releases.agreement import field_agreement
    from corpus.releases.model import primary_field
    from corpus.storage.tables import read_table

    sync = ProjectSync.of(workspace, project)
    state = sync.read_state()
    if state is None:
        raise WorkspaceError(f"project {project!r} was never pushed from {workspace.root}",
                             hint=f"run `corpus push --project {project}` and `corpus pull`")
    ledger = sync.read_ledger()
    table = read_annotations(workspace, schema)
    table = table.filter(pc.fill_null(pc.equal(table["ls_project_id"],
                                               int(state["project_id"])), False))
    kept = table.filter(pc.invert(pc.fill_null(table["was_cancelled"], False)))
    per_task: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for sid, who in zip(kept["sentence_id"].to_pylist(), kept["annotator"].to_pylist(),
                        strict=True):
        if (sid, who) not in seen:
            seen.add((sid, who))
            per_task[sid] += 1
    progress: Counter[int] = Counter(per_task[s] for s in ledger)
    progress.update(per_task[s] for s in per_task if s not in ledger)

    fields: list[FieldAlpha] = []
    annotators: list[AnnotatorStatus] = []
    feedback: list[dict[str, str]] = []
    stats = annotator_stats(table, schema)
    if kept.num_rows:
        agg = aggregate(table, pc.unique(table["sentence_id"]), schema)
        rng = np.random.default_rng(0)
        for name, info in field_agreement(agg).items():
            low = high = None
            result = next((f for f in agg.fields if f.name == name), None)
            if info["kind"] == "single" and result is not None and result.counts is not None:
                low, high = _bootstrap(result.counts, rng)
            fields.append(FieldAlpha(name, info["kind"], info["alpha"], int(info["units"]),
                                     low, high))
        majority = _vs_majority(agg, primary_field(schema))
        rates = [v for v, n in majority.values() if n >= FLAG_MIN_ITEMS]
        median = float(np.median(rates)) if rates else None
        for name, st in stats.items():
            vs, n = majority.get(name, (None, 0))
            flagged = bool(median is not None and vs is not None and n >= FLAG_MIN_ITEMS
                           and len(rates) >= 3 and vs < median - FLAG_BELOW)
            annotators.append(AnnotatorStatus(st, vs, n, flagged))
    if "seg_quality" in kept.column_names and kept.num_rows:
        texts: dict[str, str] = {}
        marked = [(r["sentence_id"], r["seg_quality"], r["annotator"])
                  for r in kept.select(["sentence_id", "seg_quality", "annotator"]).to_pylist()
                  if r["seg_quality"] in ("bad_split", "junk")]
        if marked and workspace.sentences.exists():
            sents = read_table(workspace.sentences, columns=["sentence_id", "text"])
            wanted = {m[0] for m in marked}
            texts = {s: t for s, t in zip(sents["sentence_id"].to_pylist(),
                                          sents["text"].to_pylist(), strict=True)
                     if s in wanted}
        feedback = [{"sentence_id": s, "label": lab, "annotator": who,
                     "text": texts.get(s, "")} for s, lab, who in sorted(marked)]
    from corpus.labelstudio.predictions import read_predictions

    try:
        recorded = read_predictions(workspace, project)
    except WorkspaceError:
        recorded = None
    predicted: Counter[str] = Counter()
    if recorded is not None and recorded.num_rows:
        for v in recorded["model_version"].to_pylist():  # in the order they were made
            predicted[v] += 1
    overlap = state.get("overlap")
    return ProjectStatus(project=project, overlap=overlap if isinstance(overlap, int) else None,
                         tasks=len(ledger),
                         progress=dict(sorted(progress.items())), fields=fields,
                         annotators=annotators, segment_feedback=feedback,
                         predictions=prediction_acceptance(table, predicted))


def render_status_chart(status: ProjectStatus, path: Any) -> Any:
    """Progress (tasks by annotators so far) and agreement per annotator, as a PNG.

    ``path`` is a file name or a binary stream; needs the ``chart`` extra (matplotlib).
    """
    from corpus.extras import require

    canvas_cls = require("matplotlib.backends.backend_agg").FigureCanvasAgg
    figure_cls = require("matplotlib.figure").Figure
    from matplotlib.ticker import MaxNLocator

    fig = figure_cls(figsize=(10, 4), dpi=100)
    canvas_cls(fig)
    left, right = fig.subplots(1, 2)
    keys = list(range(0, max([*status.progress, status.overlap or 0]) + 1))
    left.bar([str(k) for k in keys], [status.progress.get(k, 0) for k in keys],
             color="#4c72b0")
    left.set_title(f"{status.project}: tasks by annotators so far")
    left.set_xlabel("annotators (submitted)")
    left.set_ylabel("tasks")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    people = [a for a in status.annotators if a.vs_majority is not None]
    names = [a.stats.annotator for a in people]
    right.barh(names, [a.vs_majority or 0.0 for a in people],
               color=["#c44e52" if a.flagged else "#55a868" for a in people])
    right.set_xlim(0, 1)
    right.set_title("agreement with the others' majority (red: flagged)")
    right.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
