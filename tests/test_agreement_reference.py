"""Agreement measures checked against outside implementations on random data (property tests).

Krippendorff's alpha (single fields, per multi-choice label, per stance target) against the
``krippendorff`` package on reliability data built independently from the same annotations;
pairwise Cohen's kappa against scikit-learn's ``cohen_kappa_score``; the bootstrap interval of
``corpus status`` against a bootstrap that resamples the same units and scores each resample
with the ``krippendorff`` package.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import krippendorff
import numpy as np
import pyarrow as pa
import pytest
from factories import annotation_rows_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as sklearn_metrics

from corpus.labelschema import load_schema
from corpus.labelstudio.team import BOOTSTRAP_SAMPLES, _bootstrap
from corpus.releases.aggregate import Aggregation, aggregate
from corpus.releases.agreement import field_agreement, nominal_alpha, pairwise

SCHEMA = load_schema()
FIELDS = {f.name: f for f in SCHEMA.fields}
CLAIM = tuple(FIELDS["claim"].values)
TYPES = tuple(FIELDS["claim_type"].values)[:3]
STANCE = tuple(FIELDS["stance"].values)
TARGETS = ("英伟达", "美国")
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# one unit = the answers of up to 4 annotators (None: that annotator did not label the unit)
answer = st.one_of(st.none(), st.integers(0, len(CLAIM) - 1))
units = st.lists(st.lists(answer, min_size=4, max_size=4), min_size=1, max_size=30)


def reference_alpha(matrix: np.ndarray[Any, Any]) -> float | None:
    """The package's nominal alpha of (annotators, units) reliability data; None if undefined."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = float(krippendorff.alpha(reliability_data=matrix,
                                             level_of_measurement="nominal"))
    except ValueError:  # "there has to be more than one value in the domain"
        return None
    return None if math.isnan(value) else value


def same(ours: float | None, expected: float | None) -> None:
    if expected is None:
        assert ours is None
    else:
        assert ours is not None
        assert ours == pytest.approx(expected, abs=1e-4)   # ours is rounded to 4 places


def agg_of(rows: list[dict[str, Any]], n_units: int) -> Aggregation:
    return aggregate(annotation_rows_table(rows, SCHEMA),
                     pa.array([f"u{u}" for u in range(n_units)]), SCHEMA)


@SETTINGS
@given(units)
def test_single_field_alpha_equals_package(data: list[list[int | None]]) -> None:
    rows = [{"sentence_id": f"u{u}", "annotator": f"a{a}@x.org", "claim": CLAIM[v]}
            for u, unit in enumerate(data) for a, v in enumerate(unit) if v is not None]
    if not rows:
        return
    matrix = np.array([[np.nan if v is None else v for v in unit] for unit in data],
                      dtype=float).T
    agg = agg_of(rows, len(data))
    info = field_agreement(agg)["claim"]
    same(info["alpha"], reference_alpha(matrix))
    assert info["units"] == int((np.isfinite(matrix).sum(axis=0) >= 2).sum())


@SETTINGS
@given(st.lists(st.lists(st.one_of(st.none(), st.sets(st.integers(0, len(TYPES) - 1))),
                         min_size=3, max_size=3), min_size=1, max_size=25))
def test_multi_choice_alpha_is_the_mean_of_binary_alphas(
        data: list[list[set[int] | None]]) -> None:
    """Per label: 1 if the annotator chose it, 0 if they annotated the sentence but did not."""
    rows = [{"sentence_id": f"u{u}", "annotator": f"a{a}@x.org", "claim": "claim",
             "claim_type": [TYPES[i] for i in sorted(chosen)]}
            for u, unit in enumerate(data) for a, chosen in enumerate(unit)
            if chosen is not None]
    if not rows:
        return
    info = field_agreement(agg_of(rows, len(data)))["claim_type"]
    expected: list[float] = []
    for j, label in enumerate(TYPES):
        matrix = np.array([[np.nan if c is None else float(j in c) for c in unit]
                           for unit in data], dtype=float).T
        ref = reference_alpha(matrix)
        same(info["per_label"][label]["alpha"], ref)
        if ref is not None:
            expected.append(ref)
    for label in FIELDS["claim_type"].values[len(TYPES):]:   # never chosen: undefined
        assert info["per_label"][label]["alpha"] is None
    same(info["alpha"], sum(expected) / len(expected) if expected else None)


@SETTINGS
@given(st.lists(st.lists(st.lists(st.one_of(st.none(), st.integers(0, len(STANCE) - 1)),
                                  min_size=len(TARGETS), max_size=len(TARGETS)),
                         min_size=3, max_size=3), min_size=1, max_size=20))
def test_stance_alpha_per_target_equals_package(
        data: list[list[list[int | None]]]) -> None:
    rows = []
    for u, unit in enumerate(data):
        for a, judged in enumerate(unit):
            stance = [{"target": t, "label": STANCE[v]}
                      for t, v in zip(TARGETS, judged, strict=True) if v is not None]
            rows.append({"sentence_id": f"u{u}", "annotator": f"a{a}@x.org",
                         "claim": "claim", "stance": stance or None})
    info = field_agreement(agg_of(rows, len(data)))["stance"]
    expected: list[float] = []
    for t, target in enumerate(TARGETS):
        matrix = np.array([[np.nan if judged[t] is None else judged[t] for judged in unit]
                           for unit in data], dtype=float).T
        ref = reference_alpha(matrix)
        if target in info["per_target"]:
            same(info["per_target"][target]["alpha"], ref)
        else:   # nobody judged the target at all
            assert ref is None
        if ref is not None:
            expected.append(ref)
    same(info["alpha"], sum(expected) / len(expected) if expected else None)


@SETTINGS
@given(units)
def test_pairwise_kappa_equals_scikit_learn(data: list[list[int | None]]) -> None:
    rows = [{"sentence_id": f"u{u}", "annotator": f"a{a}@x.org", "claim": CLAIM[v]}
            for u, unit in enumerate(data) for a, v in enumerate(unit) if v is not None]
    if not rows:
        return
    got = {(p["a"], p["b"]): p for p in pairwise(agg_of(rows, len(data)), "claim")}
    expected_pairs = set()
    for a in range(4):
        for b in range(a + 1, 4):
            shared = [(unit[a], unit[b]) for unit in data
                      if unit[a] is not None and unit[b] is not None]
            if not shared:
                continue
            key = (f"a{a}@x.org", f"a{b}@x.org")
            expected_pairs.add(key)
            ya, yb = [CLAIM[x] for x, _ in shared], [CLAIM[y] for _, y in shared]
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                kappa = float(sklearn_metrics.cohen_kappa_score(ya, yb, labels=list(CLAIM)))
            pair = got[key]
            assert pair["items"] == len(shared)
            assert pair["percent_agreement"] == pytest.approx(
                sum(x == y for x, y in shared) / len(shared), abs=1e-4)
            same(pair["cohen_kappa"], None if math.isnan(kappa) else kappa)
    assert set(got) == expected_pairs


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=2, max_size=40),
       st.integers(0, 2**32 - 1))
def test_bootstrap_interval_equals_package_on_the_same_resamples(
        counts_list: list[list[int]], seed: int) -> None:
    """``corpus status``: 2.5/97.5 percentiles of alpha over resampled pairable units."""
    counts = np.array(counts_list, dtype=np.int64)
    low, high = _bootstrap(counts, np.random.default_rng(seed))
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) < 2:
        assert (low, high) == (None, None)
        return
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BOOTSTRAP_SAMPLES):
        sample = pairable[rng.integers(0, len(pairable), len(pairable))]
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                a = float(krippendorff.alpha(value_counts=sample,
                                             level_of_measurement="nominal"))
        except ValueError:
            continue
        if not math.isnan(a):
            values.append(a)
    if not values:
        assert (low, high) == (None, None)
        return
    ref_low, ref_high = np.percentile(values, [2.5, 97.5])
    assert low == pytest.approx(ref_low, abs=1e-4)
    assert high == pytest.approx(ref_high, abs=1e-4)
    assert low is not None and high is not None and low <= high


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 4), min_size=4, max_size=4), min_size=1, max_size=60))
def test_closed_form_alpha_equals_package(counts_list: list[list[int]]) -> None:
    counts = np.array(counts_list, dtype=np.int64)
    counts = counts[counts.sum(axis=1) >= 2]
    if len(counts) == 0 or int((counts.sum(axis=0) > 0).sum()) < 2:
        return
    ours = nominal_alpha(counts)
    expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    if math.isnan(expected):
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


def test_binary_alphas_equal_one_alpha_per_label() -> None:
    """The multi-choice field's per-label alphas, all at once, equal ``alpha_from_counts``
    of each label's [not chosen, chosen] counts (the krippendorff package on small data)."""
    import numpy as np

    from corpus.releases.agreement import alpha_from_counts, binary_alphas

    rng = np.random.default_rng(3)
    for trial in range(40):
        units = int(rng.integers(1, 40))
        n_ann = rng.integers(1, 5, units)
        chosen = np.stack([rng.binomial(n_ann, p) for p in rng.random(5)], axis=1)
        if trial % 7 == 0:
            chosen[:, 0] = 0                     # a label nobody chose: undefined
        got, pairable = binary_alphas(chosen, n_ann)
        for j in range(chosen.shape[1]):
            want, units_j = alpha_from_counts(np.stack([n_ann - chosen[:, j], chosen[:, j]],
                                                       axis=1))
            assert units_j == pairable
            if want is None:
                assert got[j] is None, (trial, j)
            else:
                assert got[j] is not None and abs(got[j] - want) <= 1e-4, (trial, j, got, want)
