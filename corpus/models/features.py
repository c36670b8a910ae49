"""Character n-gram TF-IDF features and a linear classifier: the baseline's learning code.

One :class:`LinearModel` answers one field. It is plain arrays (vocabulary, idf,
coefficients), so it is stored as an ``.npz`` without pickle (:func:`to_arrays`,
:func:`from_arrays`) and applied by the same code whether it was just trained or read
back. scikit-learn (the ``model`` extra) counts the n-grams and fits the logistic
regressions (liblinear's dual solver, one per class against the rest: on these sparse
features, with many more n-grams than texts, 10-20x faster than its primal solver with
the same predictions, and far faster than a multinomial lbfgs fit, within 0.005 F_avg on
NLPCC); the TF-IDF weighting
and the probabilities are computed here, so a stored model gives the same scores under
any scikit-learn version.

Stance is learnt per target in one model: every row's features are given once as they
are (shared by all targets) and once more in the block of its target ("frustratingly
easy" feature augmentation, Daumé III 2007), so a target with few labels borrows from
the others while a target with many learns its own cues. A target unseen in training
gets the shared block only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from corpus.extras import require

FloatArray = npt.NDArray[np.float64]

LEARNER = "tfidf+ovr-logistic-liblinear-dual/1"
"""Names this module's learning code in every model version: bump it when a change here
makes the same labels and config give another model (stored models are then retrained)."""
ANALYZERS = ("char_wb", "char", "word")
WORD_PATTERN = r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
"""Words: runs of word characters other than Chinese, Japanese and Korean script, which is
written without spaces (its runs would be whole clauses); the character n-grams cover it."""


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """How texts become features and how the classifier is fitted (hashed into the model
    version: changing any of it retrains)."""

    char_analyzer: str = "char"
    """``char`` (n-grams across spaces and punctuation) or ``char_wb`` (inside word
    boundaries; measured worse on NLPCC stance, 0.696 vs 0.707 F_avg)."""
    char_ngrams: tuple[int, int] = (1, 3)
    word_ngrams: tuple[int, int] | None = (1, 2)
    """Word n-grams next to the character ones (None: characters only); see WORD_PATTERN."""
    min_df: int = 2
    max_features: int | None = 300_000
    """Per analyzer, the most frequent n-grams kept."""
    sublinear_tf: bool = True
    c: float = 1.0
    """Inverse regularisation strength of the logistic regression."""
    class_weight: str | None = "balanced"
    per_target: bool = True
    """Stance: target-specific copies of the features next to the shared ones."""
    max_iter: int = 3000

    def __post_init__(self) -> None:
        if self.char_analyzer not in ANALYZERS[:2]:
            raise ValueError(f"char_analyzer must be char_wb or char, got {self.char_analyzer!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (what the model version hashes)."""
        out = dataclasses.asdict(self)
        out["char_ngrams"] = list(self.char_ngrams)
        out["word_ngrams"] = list(self.word_ngrams) if self.word_ngrams else None
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FeatureConfig:
        """Inverse of :meth:`to_dict`."""
        args = dict(raw)
        args["char_ngrams"] = tuple(args["char_ngrams"])
        if args.get("word_ngrams") is not None:
            args["word_ngrams"] = tuple(args["word_ngrams"])
        return cls(**args)


@dataclasses.dataclass(frozen=True)
class Block:
    """One analyzer's part of the feature space: its n-grams and their idf."""

    analyzer: str
    ngrams: tuple[int, int]
    vocabulary: tuple[str, ...]
    idf: FloatArray


@dataclasses.dataclass(frozen=True)
class LinearModel:
    """A fitted field model: features, classes and the logistic regression's weights."""

    config: FeatureConfig
    blocks: tuple[Block, ...]
    classes: tuple[str, ...]
    coef: FloatArray          # (1 or n_classes, n_features)
    intercept: FloatArray     # (1 or n_classes,)
    targets: tuple[str, ...] = ()
    """Stance: the targets with their own feature block (empty for other fields)."""

    @property
    def n_base(self) -> int:
        return sum(len(b.vocabulary) for b in self.blocks)

    def probabilities(self, texts: Sequence[str],
                      targets: Sequence[str] | None = None) -> FloatArray:
        """Probability of every class (columns in ``classes`` order) for each text."""
        return self.probabilities_of(self.features(texts), targets)

    def features(self, texts: Sequence[str]) -> Any:
        """``texts`` weighed over this model's vocabulary (CSR, one row per text)."""
        return _transform(self.blocks, self.config, texts)

    def class_weights(self, cls: int, target: str | None = None) -> FloatArray:
        """What each n-gram adds to the score of class ``cls`` (for ``target``: the shared
        weight plus the target's own)."""
        n = self.n_base
        w = self.coef[0] if self.coef.shape[0] == 1 else self.coef[cls]
        if self.coef.shape[0] == 1 and cls == 0:
            w = -w
        out: FloatArray = w[:n].copy()
        if target is not None and self.per_target_blocks and target in self.targets:
            b = self.targets.index(target) + 1
            out += w[b * n:(b + 1) * n]
        return out

    def explain(self, x: Any, chosen: Sequence[int], targets: Sequence[str] | None = None,
                k: int = 3) -> list[list[str]]:
        """Per row of ``x`` (:meth:`features`): the ``k`` n-grams of the text that speak
        most for its ``chosen`` class, strongest first."""
        names = [g for b in self.blocks for g in b.vocabulary]
        cache: dict[tuple[int, str | None], FloatArray] = {}
        out = []
        for i, c in enumerate(chosen):
            t = targets[i] if targets is not None else None
            if (c, t) not in cache:
                cache[(c, t)] = self.class_weights(c, t)
            lo, hi = x.indptr[i], x.indptr[i + 1]
            cols = x.indices[lo:hi]
            contrib = x.data[lo:hi] * cache[(c, t)][cols]
            top = np.argsort(-contrib, kind="stable")[:k]
            out.append([names[cols[j]] for j in top if contrib[j] > 0])
        return out

    def probabilities_of(self, x: Any, targets: Sequence[str] | None = None) -> FloatArray:
        """:meth:`probabilities` of rows already weighed over this model's vocabulary.

        One-vs-rest: each class's logistic probability, normalised to sum 1 (a binary
        field has one classifier: its second class against the first)."""
        x = _augment(x, targets, self.targets, self.per_target_blocks)
        p = _sigmoid(np.asarray(x @ self.coef.T, dtype=np.float64) + self.intercept)
        if self.coef.shape[0] == 1:
            return np.column_stack([1.0 - p[:, 0], p[:, 0]])
        total = p.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0
        out: FloatArray = p / total
        return out

    @property
    def per_target_blocks(self) -> bool:
        return bool(self.targets) and self.coef.shape[1] > self.n_base

    def top_features(self, k: int = 5) -> dict[str, list[str]]:
        """The ``k`` n-grams with the largest shared weight for each class (for a lead to
        see what the model learnt)."""
        names = [g for b in self.blocks for g in b.vocabulary]
        coef = self.coef[:, : self.n_base]
        if coef.shape[0] == 1:
            rows = {self.classes[1]: coef[0], self.classes[0]: -coef[0]}
        else:
            rows = {c: coef[i] for i, c in enumerate(self.classes)}
        return {c: [names[j] for j in np.argsort(-w)[:k]] for c, w in rows.items()}


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))),
                               np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
    return out


def _counter(analyzer: str, ngrams: tuple[int, int],
             vocabulary: Sequence[str] | None = None) -> Any:
    text = require("sklearn.feature_extraction.text")
    kwargs: dict[str, Any] = {"analyzer": analyzer, "ngram_range": ngrams, "lowercase": True,
                              "dtype": np.float64}
    if analyzer == "word":
        kwargs["token_pattern"] = WORD_PATTERN
    if vocabulary is not None:
        kwargs["vocabulary"] = {g: i for i, g in enumerate(vocabulary)}
    return text.CountVectorizer(**kwargs)


def _analyzers(config: FeatureConfig) -> list[tuple[str, tuple[int, int]]]:
    out = [(config.char_analyzer, config.char_ngrams)]
    if config.word_ngrams is not None:
        out.append(("word", config.word_ngrams))
    return out


def _weigh(counts: Any, idf: FloatArray, sublinear: bool) -> Any:
    """TF-IDF with L2-normalised rows (scikit-learn's TfidfTransformer, computed here)."""
    sparse = require("scipy.sparse")
    x = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
    if sublinear:
        x.data = np.log(x.data) + 1.0
    x = x @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ x)


@dataclasses.dataclass(frozen=True)
class Analysed:
    """Texts cut into n-grams once: per analyzer every n-gram seen and the count matrix.

    Cross-validation selects each fold's vocabulary (``min_df``, ``max_features``) and
    idf from its training rows only, without cutting the texts again."""

    parts: tuple[tuple[str, tuple[int, int], npt.NDArray[np.str_], Any], ...]
    n: int


def analyse(texts: Sequence[str], config: FeatureConfig) -> Analysed:
    """Count every n-gram of ``texts`` under each analyzer of ``config``."""
    parts = []
    for analyzer, ngrams in _analyzers(config):
        counter = _counter(analyzer, ngrams)
        try:
            counts = counter.fit_transform(texts)
        except ValueError:                      # no n-gram at all (e.g. no Latin word)
            continue
        parts.append((analyzer, ngrams, counter.get_feature_names_out().astype(str),
                      counts.tocsr()))
    return Analysed(tuple(parts), len(texts))


def _select(analysed: Analysed, rows: npt.NDArray[np.int64],
            config: FeatureConfig) -> tuple[tuple[Block, ...], Any]:
    """The vocabulary and idf learnt from ``rows``, and those rows weighed over it."""
    sparse = require("scipy.sparse")
    blocks: list[Block] = []
    weighed = []
    n = len(rows)
    for analyzer, ngrams, vocab, counts in analysed.parts:
        sub = counts[rows]
        df = np.diff(sparse.csc_matrix(sub).indptr)
        keep = np.nonzero(df >= config.min_df)[0]
        if config.max_features is not None and len(keep) > config.max_features:
            tf = np.asarray(sub[:, keep].sum(axis=0)).ravel()
            keep = np.sort(keep[np.argsort(-tf, kind="stable")[: config.max_features]])
        if not len(keep):
            continue
        idf = np.log((1.0 + n) / (1.0 + df[keep])) + 1.0
        blocks.append(Block(analyzer, ngrams, tuple(str(g) for g in vocab[keep]), idf))
        weighed.append(_weigh(sub[:, keep], idf, config.sublinear_tf))
    if not blocks:
        raise ValueError(f"no n-gram occurs in {config.min_df} or more of the {n} texts")
    return tuple(blocks), sparse.hstack(weighed, format="csr")


def _reweigh(analysed: Analysed, rows: npt.NDArray[np.int64], blocks: Sequence[Block],
             config: FeatureConfig) -> Any:
    """Other rows of ``analysed`` weighed over the vocabulary ``blocks`` chose."""
    sparse = require("scipy.sparse")
    out = []
    by_spec = {(a, g): (vocab, counts) for a, g, vocab, counts in analysed.parts}
    for b in blocks:
        vocab, counts = by_spec[(b.analyzer, b.ngrams)]
        cols = np.searchsorted(vocab, np.array(b.vocabulary, dtype=str))
        out.append(_weigh(counts[rows][:, cols], b.idf, config.sublinear_tf))
    return sparse.hstack(out, format="csr")


def _transform(blocks: Sequence[Block], config: FeatureConfig, texts: Sequence[str]) -> Any:
    sparse = require("scipy.sparse")
    parts = []
    for b in blocks:
        counts = _counter(b.analyzer, b.ngrams, b.vocabulary).transform(texts)
        parts.append(_weigh(counts, b.idf, config.sublinear_tf))
    return sparse.hstack(parts, format="csr")


def _augment(x: Any, row_targets: Sequence[str] | None, targets: Sequence[str],
             per_target: bool) -> Any:
    """``[x, x of target 1, ..., x of target k]``: each row's copy in its own target's block."""
    if not per_target or not targets:
        return x
    sparse = require("scipy.sparse")
    index = {t: i for i, t in enumerate(targets)}
    if row_targets is None or len(row_targets) != x.shape[0]:
        raise ValueError("stance features need one target per text")
    codes = np.array([index.get(t, -1) for t in row_targets], dtype=np.int64)
    blocks = [x]
    for i in range(len(targets)):
        blocks.append(sparse.diags((codes == i).astype(np.float64)) @ x)
    return sparse.hstack(blocks, format="csr")


def _fit_matrix(x: Any, labels: Sequence[str], blocks: tuple[Block, ...],
                config: FeatureConfig, targets: Sequence[str] | None) -> LinearModel:
    """One-vs-rest logistic regressions (liblinear) on weighed rows ``x``."""
    linear_model = require("sklearn.linear_model")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise ValueError(f"a classifier needs two classes, got {classes}")
    known = tuple(sorted(set(targets))) if targets is not None else ()
    x = _augment(x, targets, known, config.per_target)
    y = np.asarray(labels, dtype=object)
    coefs, intercepts = [], []
    for positive in (classes[1:] if len(classes) == 2 else classes):
        clf = linear_model.LogisticRegression(C=config.c, class_weight=config.class_weight,
                                              solver="liblinear", dual=True,
                                              max_iter=config.max_iter, random_state=0)
        clf.fit(x, (y == positive).astype(np.int64))
        coefs.append(np.asarray(clf.coef_[0]))
        intercepts.append(float(clf.intercept_[0]))
    # weights are stored as float32: round them now, so a stored model scores exactly as
    # the one just trained
    coef = np.vstack(coefs).astype(np.float32).astype(np.float64)
    return LinearModel(config, blocks, classes, coef, np.asarray(intercepts), known)


def fit_linear(texts: Sequence[str], labels: Sequence[str], config: FeatureConfig, *,
               targets: Sequence[str] | None = None,
               analysed: Analysed | None = None) -> LinearModel:
    """Fit one field's model on ``texts`` and their ``labels`` (``targets``: the stance
    target of each row, for a stance field; ``analysed``: ``texts`` already analysed)."""
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    analysed = analysed or analyse(texts, config)
    blocks, x = _select(analysed, np.arange(len(texts)), config)
    return _fit_matrix(x, labels, blocks, config, targets)


@dataclasses.dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold scores of one field: every label predicted by a model that never saw it."""

    macro_f1: float
    folds: int
    n: int
    f1: dict[str, float]
    """Per class."""
    predicted: tuple[str, ...]


def cross_validate(texts: Sequence[str], labels: Sequence[str], config: FeatureConfig, *,
                   targets: Sequence[str] | None = None, folds: int = 5, seed: int = 0,
                   analysed: Analysed | None = None) -> CrossValidation:
    """Stratified ``folds``-fold cross-validated macro-F1 (fewer folds when the rarest
    class has fewer labels; at least 2). Each fold learns its vocabulary, idf and weights
    from its training rows only."""
    model_selection = require("sklearn.model_selection")
    y = np.asarray(labels, dtype=object)
    rarest = min(int((y == c).sum()) for c in set(labels))
    k = max(2, min(folds, rarest))
    analysed = analysed or analyse(texts, config)
    splitter = model_selection.StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    predicted = np.empty(len(y), dtype=object)
    for train, test in splitter.split(np.zeros(len(y)), y):
        tr_t = [targets[i] for i in train] if targets is not None else None
        te_t = [targets[i] for i in test] if targets is not None else None
        blocks, x = _select(analysed, train, config)
        m = _fit_matrix(x, [labels[i] for i in train], blocks, config, tr_t)
        probs = m.probabilities_of(_reweigh(analysed, test, m.blocks, config), te_t)
        predicted[test] = np.asarray(m.classes, dtype=object)[probs.argmax(axis=1)]
    score, per = macro_f1(list(y), list(predicted))
    return CrossValidation(score, k, len(y), per, tuple(str(p) for p in predicted))


def to_arrays(model: LinearModel, prefix: str) -> dict[str, npt.NDArray[Any]]:
    """The model as named plain arrays (no object dtype: loadable with allow_pickle=False)."""
    out: dict[str, npt.NDArray[Any]] = {
        f"{prefix}.classes": np.array(model.classes, dtype=str),
        f"{prefix}.coef": model.coef.astype(np.float32),
        f"{prefix}.intercept": model.intercept,
        f"{prefix}.targets": np.array(model.targets, dtype=str),
    }
    for i, b in enumerate(model.blocks):
        out[f"{prefix}.block{i}.vocabulary"] = np.array(b.vocabulary, dtype=str)
        out[f"{prefix}.block{i}.idf"] = b.idf
        out[f"{prefix}.block{i}.spec"] = np.array([b.analyzer, str(b.ngrams[0]),
                                                   str(b.ngrams[1])], dtype=str)
    return out


def from_arrays(arrays: Mapping[str, npt.NDArray[Any]], prefix: str,
                config: FeatureConfig) -> LinearModel:
    """Inverse of :func:`to_arrays` (KeyError when an array is missing)."""
    blocks = []
    i = 0
    while f"{prefix}.block{i}.spec" in arrays:
        analyzer, lo, hi = (str(s) for s in arrays[f"{prefix}.block{i}.spec"])
        blocks.append(Block(analyzer, (int(lo), int(hi)),
                            tuple(str(g) for g in arrays[f"{prefix}.block{i}.vocabulary"]),
                            np.asarray(arrays[f"{prefix}.block{i}.idf"], dtype=np.float64)))
        i += 1
    if not blocks:
        raise KeyError(f"{prefix}.block0.spec")
    return LinearModel(
        config, tuple(blocks), tuple(str(c) for c in arrays[f"{prefix}.classes"]),
        np.asarray(arrays[f"{prefix}.coef"], dtype=np.float64),
        np.asarray(arrays[f"{prefix}.intercept"], dtype=np.float64),
        tuple(str(t) for t in arrays[f"{prefix}.targets"]))


def macro_f1(gold: Sequence[str], predicted: Sequence[str],
             labels: Sequence[str] | None = None) -> tuple[float, dict[str, float]]:
    """Macro-F1 over ``labels`` (default: the gold classes) and the F1 of each."""
    metrics = require("sklearn.metrics")
    classes = sorted(set(gold)) if labels is None else list(labels)
    per = metrics.f1_score(list(gold), list(predicted), labels=classes, average=None,
                           zero_division=0)
    scores = {c: float(v) for c, v in zip(classes, per, strict=True)}
    return (float(np.mean(per)) if len(per) else math.nan), scores
