"""The ``baseline`` pre-annotation model: learnt from the project's own pulled labels.

:func:`fit` turns the project's annotations (``workspace/annotations.parquet``, one
label per sentence by the release's vote rules, :func:`corpus.releases.aggregate.aggregate`,
adjudication decisions included) into one training set per field — ``claim``,
``checkworthy`` and every stance field (one row per judged sentence and target the
sentence mentions) — and
fits a character n-gram logistic regression on each (:mod:`corpus.models.features`).
Each field's 5-fold cross-validated macro-F1 is reported and stored with the model.

The model version is ``baseline-`` and 12 hex of the sha256 of everything the model is
learnt from: every training row (sentence id, text, target, label), the feature
configuration, the targets' aliases, the schema's values, and the format of the files
and of the learning code (``features.LEARNER``). The model lives under
``workspace/models/<project>/<version>/`` (``weights.npz``: plain arrays, loaded with
``allow_pickle=False``; ``model.json``: fields, classes, metrics, the sha256 of the
weights, written last, so a folder without it is no model). A fit whose training rows
are unchanged reads the stored model back instead of training (``BaselineModel.reused``);
changed labels give a new version next to the old ones (predictions made by an old
version keep naming it).

A field needs at least :data:`MIN_PER_VALUE` labels of each of at least two values;
values with fewer are left out of its training set (the model never suggests them).
Fields short of that are skipped and named (``BaselineModel.skipped``); when no field
can be learnt, :class:`NotEnoughLabels` says how many labels are needed. ``unsure``
answers are not learnt: they record the annotator's doubt, not the sentence.

:meth:`BaselineModel.suggest` answers each learnt field for each sentence (a field shown
only when another has some value is answered only when that value was suggested), and
stance only for the targets the sentence mentions (the target or one of its aliases,
case-insensitive): there the annotator decides, elsewhere ``not_about`` is the obvious
answer and needs no model. ``score`` is the lowest probability among the answers; each
answer's cue names the (at most 3) n-grams of the sentence that spoke most for it
(``claim=claim: "表示", "增长", "%"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import EXIT_FAILED, CorpusError, WorkspaceError
from corpus.extras import require
from corpus.labelschema import LabelSchema, load_schema, stance_control_name
from corpus.labelstudio.adjudication import release_decisions
from corpus.labelstudio.annotations import read_annotations
from corpus.labelstudio.sync import ProjectSync, check_project_name
from corpus.models.features import (
    LEARNER,
    CrossValidation,
    FeatureConfig,
    LinearModel,
    analyse,
    cross_validate,
    fit_linear,
    from_arrays,
    to_arrays,
)
from corpus.models.suggestions import Answer, Model, SentenceInput, Suggestion
from corpus.releases.aggregate import aggregate
from corpus.storage.atomic import write_bytes, write_json
from corpus.storage.tables import iter_batches
from corpus.workspace import Workspace

Progress = Callable[[str], None]

NAME = "baseline"
FORMAT = 1
"""Version of the stored files and of what is hashed into the model version."""
SINGLE_FIELDS = ("claim", "checkworthy")
"""The single-choice fields the baseline learns (when the schema has them); it learns
every stance field too."""
IGNORED_VALUES = frozenset({"unsure"})
MIN_PER_VALUE = 5
"""Labels a value needs to be learnt (and the folds of the cross-validation at most)."""
MIN_VALUES = 2
FOLDS = 5
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"


class NotEnoughLabels(CorpusError):
    """The project has too few pulled labels to train the baseline on any field."""

    exit_code = EXIT_FAILED


@dataclasses.dataclass(frozen=True)
class TrainingSet:
    """One field's training rows: a text, its label and (stance) the target judged."""

    field: str
    kind: str
    sentence_ids: tuple[str, ...]
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    targets: tuple[str, ...] | None = None
    dropped: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Values left out: too few labels (value -> count)."""

    def counts(self) -> Counter[str]:
        return Counter(self.labels)

    def shortfall(self) -> str | None:
        """Why the field cannot be learnt (None: it can)."""
        if len(self.counts()) >= MIN_VALUES:
            return None
        seen = dict(self.counts()) | dict(self.dropped)
        have = ", ".join(f"{v} {n}" for v, n in sorted(seen.items())) or "none"
        what = "labels" if self.kind != "stance" else "labels of targets the sentence names"
        return (f"{self.field}: {sum(seen.values())} {what} ({have}); the baseline needs at "
                f"least {MIN_PER_VALUE} labels of each of {MIN_VALUES} or more values")

    def digest_rows(self) -> list[list[str]]:
        targets = self.targets or ("",) * len(self.labels)
        return sorted([s, t, g, lab] for s, t, g, lab in
                      zip(self.sentence_ids, self.texts, targets, self.labels, strict=True))


@dataclasses.dataclass(frozen=True)
class FieldMetrics:
    """Cross-validated quality of one field's model."""

    macro_f1: float
    f1: Mapping[str, float]
    folds: int
    n: int
    counts: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"macro_f1": self.macro_f1, "f1": dict(self.f1), "folds": self.folds,
                "n": self.n, "counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FieldMetrics:
        return cls(float(raw["macro_f1"]), {str(k): float(v) for k, v in raw["f1"].items()},
                   int(raw["folds"]), int(raw["n"]),
                   {str(k): int(v) for k, v in raw["counts"].items()})

    @classmethod
    def of(cls, cv: CrossValidation, counts: Mapping[str, int]) -> FieldMetrics:
        return cls(cv.macro_f1, cv.f1, cv.folds, cv.n, dict(counts))


@dataclasses.dataclass(frozen=True)
class FieldModel:
    """A learnt field: its model and where it applies."""

    name: str
    kind: str
    model: LinearModel
    metrics: FieldMetrics
    shown_when: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class BaselineModel:
    """The trained baseline of one project (implements :class:`corpus.models.suggestions.Model`)."""

    version: str
    """``baseline-`` + 12 hex of the training rows' hash (stored with every prediction)."""
    project: str
    fields: tuple[FieldModel, ...]
    config: FeatureConfig
    path: Path
    aliases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Stance target -> the names a sentence may mention it by (the target included)."""
    skipped: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Fields not learnt -> why (too few labels)."""
    reused: bool = False
    """True when :func:`fit` read the stored model back (labels unchanged)."""

    @property
    def metrics(self) -> dict[str, float]:
        """Cross-validated macro-F1 per learnt field."""
        return {f.name: f.metrics.macro_f1 for f in self.fields}

    def summary(self) -> str:
        """One line per field: its CV macro-F1 or why it was skipped."""
        lines = [f"{self.version} ({'stored, labels unchanged' if self.reused else 'trained'}"
                 f"; {self.path})"]
        for f in self.fields:
            m = f.metrics
            lines.append(f"  {f.name}: {m.n} labels, {m.folds}-fold CV macro-F1 "
                         f"{m.macro_f1:.3f}")
        lines += [f"  skipped {why}" for why in self.skipped.values()]
        return "\n".join(lines)

    def mentioned(self, text: str, targets: Sequence[str]) -> list[str]:
        """The ``targets`` that ``text`` names (the target or an alias, case-insensitive)."""
        return [t for t in targets if mentions(text, t, self.aliases)]

    def suggest(self, sentences: Sequence[SentenceInput]) -> list[Suggestion]:
        """One suggestion per sentence that gets at least one answer, in input order."""
        if not sentences:
            return []
        texts = [s.text for s in sentences]
        answers: list[dict[str, Answer]] = [{} for _ in sentences]
        probs: list[list[float]] = [[] for _ in sentences]
        cues: list[list[str]] = [[] for _ in sentences]
        for f in self.fields:
            if f.kind == "stance":
                self._suggest_stance(f, sentences, answers, probs, cues)
                continue
            x = f.model.features(texts)
            p = f.model.probabilities_of(x)
            best = p.argmax(axis=1).tolist()
            why = f.model.explain(x, best)
            for i, j in enumerate(best):
                if f.shown_when and answers[i].get(f.shown_when[0]) != f.shown_when[1]:
                    continue
                answers[i][f.name] = f.model.classes[j]
                probs[i].append(float(p[i, j]))
                cues[i].append(_cue(f"{f.name}={f.model.classes[j]}", why[i]))
        return [Suggestion(s.sentence_id, a, min(1.0, max(0.0, min(pr))), tuple(c))
                for s, a, pr, c in zip(sentences, answers, probs, cues, strict=True) if a]

    def _suggest_stance(self, f: FieldModel, sentences: Sequence[SentenceInput],
                        answers: list[dict[str, Answer]], probs: list[list[float]],
                        cues: list[list[str]]) -> None:
        rows: list[tuple[int, str]] = []
        for i, s in enumerate(sentences):
            targets = list(s.targets) or list(self.aliases) or list(f.model.targets)
            rows += [(i, t) for t in self.mentioned(s.text, targets)]
        if not rows:
            return
        x = f.model.features([sentences[i].text for i, _ in rows])
        row_targets = [t for _, t in rows]
        p = f.model.probabilities_of(x, row_targets)
        best = p.argmax(axis=1).tolist()
        why = f.model.explain(x, best, row_targets)
        for (i, target), j, row, w in zip(rows, best, p, why, strict=True):
            answers[i][stance_control_name(f.name, target)] = f.model.classes[j]
            probs[i].append(float(row[j]))
            cues[i].append(_cue(f"{f.name} {target}={f.model.classes[j]}", w))


def _cue(answer: str, ngrams: Sequence[str]) -> str:
    """``claim=claim: "表示", "增长"``: the answer and the n-grams that spoke most for it."""
    shown = ", ".join(json.dumps(g, ensure_ascii=False) for g in ngrams) or "(no n-gram: prior)"
    return f"{answer}: {shown}"


# --------------------------------------------------------------------------- training data


def models_dir(workspace: Workspace, project: str) -> Path:
    """Where the project's models are stored: ``workspace/models/<project>/``."""
    return workspace.root / "models" / check_project_name(project)


def _project_state(workspace: Workspace, project: str) -> dict[str, Any]:
    state = ProjectSync.of(workspace, project).read_state()
    if state is None or not isinstance(state.get("project_id"), int):
        raise WorkspaceError(
            f"project {project!r} was never pushed from this workspace "
            f"({workspace.sync_dir / check_project_name(project)} has no project.json)",
            hint=f"run `corpus push --project {project}`, label, then `corpus pull "
                 f"--project {project}`")
    return state


def mentions(text: str, target: str, aliases: Mapping[str, Sequence[str]]) -> bool:
    """True when ``text`` names ``target`` or one of its aliases (case-insensitive)."""
    low = text.casefold()
    return any(n.casefold() in low for n in (target, *aliases.get(target, ())) if n)


def target_aliases(state: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Target -> its names (target first, then aliases) from a pushed project's state."""
    out: dict[str, tuple[str, ...]] = {str(t): (str(t),) for t in state.get("targets") or ()}
    for d in state.get("target_details") or ():
        if isinstance(d, Mapping) and d.get("target"):
            t = str(d["target"])
            out[t] = (t, *(str(a) for a in d.get("aliases") or () if a))
    return out


def training_sets(workspace: Workspace, project: str,
                  schema: LabelSchema | None = None) -> dict[str, TrainingSet]:
    """Per learnable field of ``schema``: the project's labelled sentences (one label per
    sentence and target, by the release's vote rules; stance: only the targets a sentence
    mentions, the only ones the model is asked about)."""
    schema = schema or load_schema()
    state = _project_state(workspace, project)
    project_id = int(state["project_id"])
    aliases = target_aliases(state)
    every = read_annotations(workspace, schema)
    votes = every.filter(pc.fill_null(pc.equal(every["ls_project_id"], project_id), False))
    decisions, _ = release_decisions(workspace, every, [project_id])
    wanted = [f for f in schema.fields
              if (f.kind == "single" and f.name in SINGLE_FIELDS)
              or (f.kind == "stance" and f.of is None)]   # not the holder (schema v2)
    if votes.num_rows == 0 and decisions is None:
        return {f.name: TrainingSet(f.name, f.kind, (), (), ()) for f in wanted}
    ids = votes["sentence_id"] if decisions is None else pa.chunked_array(
        [*votes["sentence_id"].chunks, *decisions["sentence_id"].chunks])
    path = workspace.require(workspace.sentences, produced_by="corpus ingest")
    labelled = pc.unique(ids)
    kept = [pa.table({"sentence_id": b["sentence_id"].cast(pa.string()),   # streamed: only
                      "text": b["text"].cast(pa.string())})                  # labelled ones
            .filter(pc.is_in(b["sentence_id"].cast(pa.string()), value_set=labelled))
            for b in iter_batches(path, ["sentence_id", "text"], batch_size=65536)]
    sentences = pa.concat_tables(kept) if kept else pa.table(
        {"sentence_id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    text_of = dict(zip(sentences["sentence_id"].to_pylist(), sentences["text"].to_pylist(),
                       strict=True))
    agg = aggregate(votes, sentences["sentence_id"].combine_chunks(), schema,
                    decisions=decisions)
    sids = [str(s) for s in agg.sentence_ids.to_pylist()]
    by_name = {r.name: r for r in agg.fields}
    out: dict[str, TrainingSet] = {}
    for f in wanted:
        labels = by_name[f.name].label.to_pylist()
        rows: list[tuple[str, str, str]] = []       # (sentence id, target, label)
        for sid, value in zip(sids, labels, strict=True):
            if f.kind == "stance":
                rows += [(sid, str(j["target"]), str(j["label"])) for j in value or ()
                         if j.get("label") is not None and j.get("target") is not None
                         and mentions(text_of[sid], str(j["target"]), aliases)]
            elif value is not None:
                rows.append((sid, "", str(value)))
        rows = [r for r in rows if r[2] not in IGNORED_VALUES]
        counts = Counter(r[2] for r in rows)
        dropped = {v: n for v, n in counts.items() if n < MIN_PER_VALUE}
        rows = [r for r in rows if r[2] not in dropped]
        out[f.name] = TrainingSet(
            f.name, f.kind, tuple(r[0] for r in rows), tuple(text_of[r[0]] for r in rows),
            tuple(r[2] for r in rows),
            tuple(r[1] for r in rows) if f.kind == "stance" else None, dropped)
    return out


def model_version(sets: Mapping[str, TrainingSet], config: FeatureConfig,
                  schema: LabelSchema, aliases: Mapping[str, Sequence[str]]) -> str:
    """``baseline-`` + 12 hex of the sha256 of the training rows and the configuration."""
    doc = {
        "format": FORMAT, "model": NAME, "learner": LEARNER, "config": config.to_dict(),
        "schema": {f.name: list(f.values) for f in schema.fields},
        "aliases": {t: list(a) for t, a in sorted(aliases.items())},
        "fields": {name: s.digest_rows() for name, s in sorted(sets.items())},
    }
    blob = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f"{NAME}-{hashlib.sha256(blob.encode('utf-8')).hexdigest()[:12]}"


# --------------------------------------------------------------------------- fit / store


def fit(workspace: Workspace, project: str, *, progress: Progress | None = None,
        schema: LabelSchema | None = None,
        config: FeatureConfig | None = None) -> BaselineModel:
    """The project's baseline model: the stored one when the training labels are unchanged,
    else trained now (seconds), cross-validated and stored under ``workspace/models/``."""
    require("sklearn")
    say = progress or (lambda _msg: None)
    schema = schema or load_schema()
    config = config or FeatureConfig()
    state = _project_state(workspace, project)
    aliases = target_aliases(state)
    sets = training_sets(workspace, project, schema)
    learnable = {n: s for n, s in sets.items() if s.shortfall() is None}
    skipped = {n: str(s.shortfall()) for n, s in sets.items() if n not in learnable}
    if not learnable:
        raise NotEnoughLabels(
            f"too few labels in {workspace.annotations} for project {project!r} to train "
            f"the baseline: " + "; ".join(skipped.values()),
            hint=f"label more sentences in Label Studio, then `corpus pull --project {project}`"
                 " (or start with `--model heuristic`)")
    version = model_version(learnable, config, schema, aliases)
    folder = models_dir(workspace, project) / version
    stored = _load_if_valid(folder, project, version)
    if stored is not None:
        say(f"{version}: training labels unchanged, using the stored model ({folder})")
        return dataclasses.replace(stored, reused=True, skipped=skipped)
    fields: list[FieldModel] = []
    for name, s in learnable.items():
        counts = dict(sorted(s.counts().items()))
        analysed = analyse(s.texts, config)       # cut into n-grams once, for CV and fit
        cv = cross_validate(s.texts, s.labels, config, targets=s.targets, folds=FOLDS,
                            analysed=analysed)
        model = fit_linear(s.texts, s.labels, config, targets=s.targets, analysed=analysed)
        field = schema.field(name)
        fields.append(FieldModel(name, s.kind, model, FieldMetrics.of(cv, counts),
                                 field.shown_when))
        say(f"{name}: {len(s.labels)} labels "
            f"({', '.join(f'{v} {n}' for v, n in counts.items())}), {cv.folds}-fold CV "
            f"macro-F1 {cv.macro_f1:.3f}")
    for why in skipped.values():
        say(f"skipped {why}")
    result = BaselineModel(version, project, tuple(fields), config, folder, aliases, skipped)
    save(result)
    say(f"{version}: stored in {folder}")
    return result


def save(model: BaselineModel) -> None:
    """Write ``weights.npz`` then ``model.json`` (each atomically; the JSON last)."""
    arrays: dict[str, Any] = {}
    for i, f in enumerate(model.fields):
        arrays |= to_arrays(f.model, f"f{i}")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    data = buf.getvalue()
    write_bytes(model.path / WEIGHTS_FILE, data)
    write_json(model.path / MODEL_FILE, {
        "format": FORMAT, "model": NAME, "version": model.version, "project": model.project,
        "config": model.config.to_dict(),
        "aliases": {t: list(a) for t, a in model.aliases.items()},
        "weights_sha256": hashlib.sha256(data).hexdigest(),
        "fields": [{"name": f.name, "kind": f.kind, "arrays": f"f{i}",
                    "classes": list(f.model.classes), "targets": list(f.model.targets),
                    "shown_when": list(f.shown_when) if f.shown_when else None,
                    "metrics": f.metrics.to_dict(),
                    "top_features": f.model.top_features()}
                   for i, f in enumerate(model.fields)],
    })


def load(folder: Path, project: str | None = None) -> BaselineModel:
    """The model stored in ``folder`` (WorkspaceError when it is missing or damaged)."""
    meta_path = folder / MODEL_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = (folder / WEIGHTS_FILE).read_bytes()
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"{folder} holds no readable baseline model ({exc})",
                             hint="delete the folder; `corpus predict` trains it again"
                             ) from None
    try:
        if meta.get("format") != FORMAT or meta.get("model") != NAME:
            raise ValueError(f"format {meta.get('format')!r} of {meta.get('model')!r}")
        if hashlib.sha256(data).hexdigest() != meta["weights_sha256"]:
            raise ValueError(f"{WEIGHTS_FILE} does not match its sha256 in {MODEL_FILE}")
        config = FeatureConfig.from_dict(meta["config"])
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        fields = tuple(
            FieldModel(str(f["name"]), str(f["kind"]),
                       from_arrays(arrays, str(f["arrays"]), config),
                       FieldMetrics.from_dict(f["metrics"]),
                       _pair(f.get("shown_when")))
            for f in meta["fields"])
        aliases = {str(t): tuple(str(x) for x in a) for t, a in meta["aliases"].items()}
        return BaselineModel(str(meta["version"]), project or str(meta["project"]), fields,
                             config, folder, aliases, {}, True)
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkspaceError(f"{meta_path}: not a baseline model this version reads ({exc})",
                             hint="delete the folder; `corpus predict` trains it again"
                             ) from None


def _load_if_valid(folder: Path, project: str, version: str) -> BaselineModel | None:
    """The stored model of ``version``, or None when there is none (or it is damaged, so it
    is trained again and overwritten)."""
    if not (folder / MODEL_FILE).exists():
        return None
    try:
        model = load(folder, project)
    except WorkspaceError:
        return None
    return model if model.version == version else None


def _pair(raw: Any) -> tuple[str, str] | None:
    """A stored ``shown_when`` ([field, value] or null)."""
    if raw is None:
        return None
    field, value = raw
    return str(field), str(value)


def _implements_model(model: BaselineModel) -> Model:
    """mypy checks here that BaselineModel implements the Model protocol."""
    return model
