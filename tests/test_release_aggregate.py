"""Aggregation rules and agreement measures of a release (synthetic annotation tables)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import krippendorff
import numpy as np
import pyarrow as pa
import pytest
from factories import annotation_rows_table

from corpus.errors import ReleaseError
from corpus.labelschema import load_schema
from corpus.releases.aggregate import Aggregation, aggregate
from corpus.releases.agreement import alpha_from_counts, field_agreement, nominal_alpha, pairwise

SCHEMA = load_schema()
T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def run(rows: list[dict[str, Any]], sids: tuple[str, ...] = ("s1", "s2", "s3"),
        min_annotations: int = 1) -> Aggregation:
    return aggregate(annotation_rows_table(rows, SCHEMA), pa.array(list(sids)), SCHEMA,
                     min_annotations=min_annotations)


def label(agg: Aggregation, name: str) -> list[Any]:
    return next(f for f in agg.fields if f.name == name).label.to_pylist()


def votes(agg: Aggregation, name: str) -> list[Any]:
    return next(f for f in agg.fields if f.name == name).votes.to_pylist()


def claims(sid: str, *labels: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"sentence_id": sid, "annotator": f"a{i}@x.org", "claim": lab, **extra}
            for i, lab in enumerate(labels)]


def test_unanimous_majority_tie() -> None:
    agg = run(claims("s1", "claim", "claim", "claim")
              + claims("s2", "claim", "no_claim", "claim")
              + claims("s3", "claim", "no_claim"))
    assert agg.sentence_ids.to_pylist() == ["s1", "s2", "s3"]
    assert label(agg, "claim") == ["claim", "claim", None]
    assert agg.agreement.to_pylist() == ["unanimous", "majority", "tie"]
    assert votes(agg, "claim") == [{"claim": 3, "no_claim": 0, "unsure": 0},
                                   {"claim": 2, "no_claim": 1, "unsure": 0},
                                   {"claim": 1, "no_claim": 1, "unsure": 0}]
    assert agg.n_annotators.tolist() == [3, 3, 2]


def test_plurality_of_three_labels_is_majority() -> None:
    agg = run(claims("s1", "claim", "claim", "no_claim", "unsure"))
    assert label(agg, "claim") == ["claim"]
    assert agg.agreement.to_pylist() == ["majority"]


def test_ground_truth_adjudicates_every_field() -> None:
    rows = claims("s1", "no_claim", "no_claim", checkworthy="no")
    rows.append({"sentence_id": "s1", "annotator": "lead@x.org", "claim": "claim",
                 "checkworthy": "urgent", "claim_type": ["quote"], "ground_truth": True})
    agg = run(rows)
    assert label(agg, "claim") == ["claim"]
    assert label(agg, "checkworthy") == ["urgent"]
    assert label(agg, "claim_type") == [["quote"]]
    assert agg.agreement.to_pylist() == ["adjudicated"]
    assert votes(agg, "claim") == [{"claim": 1, "no_claim": 2, "unsure": 0}]


def test_latest_ground_truth_wins() -> None:
    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org", "claim": "claim", "ground_truth": True,
         "updated_at": T0},
        {"sentence_id": "s1", "annotator": "b@x.org", "claim": "unsure", "ground_truth": True,
         "updated_at": T0 + timedelta(hours=1)},
    ]
    assert label(run(rows), "claim") == ["unsure"]


def test_cancelled_annotations_are_excluded() -> None:
    rows = claims("s1", "claim", "claim")
    rows += [{"sentence_id": "s1", "annotator": f"c{i}@x.org", "claim": "no_claim",
              "was_cancelled": True} for i in range(3)]
    rows += [{"sentence_id": "s2", "annotator": "c@x.org", "was_cancelled": True}]
    agg = run(rows)
    assert agg.sentence_ids.to_pylist() == ["s1"]          # s2 has only a skip
    assert label(agg, "claim") == ["claim"]
    assert agg.agreement.to_pylist() == ["unanimous"]
    assert agg.n_annotators.tolist() == [2]
    assert agg.stats["cancelled"] == 4


def test_latest_annotation_of_one_annotator_counts_once() -> None:
    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org", "claim": "claim", "updated_at": T0,
         "annotation_id": 1},
        {"sentence_id": "s1", "annotator": "a@x.org", "claim": "no_claim",
         "updated_at": T0 + timedelta(days=1), "annotation_id": 2},
        {"sentence_id": "s1", "annotator": "b@x.org", "claim": "no_claim", "annotation_id": 3},
    ]
    agg = run(rows)
    assert label(agg, "claim") == ["no_claim"]
    assert agg.agreement.to_pylist() == ["unanimous"]
    assert agg.n_annotators.tolist() == [2]
    assert agg.stats["superseded"] == 1


def test_multi_choice_keeps_labels_chosen_by_more_than_half() -> None:
    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org", "claim_type": ["quote", "statistic"]},
        {"sentence_id": "s1", "annotator": "b@x.org", "claim_type": ["statistic"]},
        {"sentence_id": "s1", "annotator": "c@x.org", "claim_type": ["quote", "causal"]},
        # exactly half is not more than half
        {"sentence_id": "s2", "annotator": "a@x.org", "claim_type": ["event"]},
        {"sentence_id": "s2", "annotator": "b@x.org", "claim_type": ["event", "policy"]},
        {"sentence_id": "s2", "annotator": "c@x.org", "claim_type": ["policy"]},
        {"sentence_id": "s2", "annotator": "d@x.org", "claim_type": []},
        # nobody answered the field
        {"sentence_id": "s3", "annotator": "a@x.org", "claim": "no_claim"},
    ]
    agg = run(rows)
    assert label(agg, "claim_type") == [["statistic", "quote"], [], None]
    v = votes(agg, "claim_type")
    assert v[0]["statistic"] == 2 and v[0]["quote"] == 2 and v[0]["causal"] == 1
    assert v[1]["event"] == 2 and v[1]["policy"] == 2


def test_stance_is_voted_per_target() -> None:
    def st(**targets: str) -> list[dict[str, str]]:
        return [{"target": t, "label": lab} for t, lab in targets.items()]

    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org", "stance": st(央行="favor", Nvidia="neutral")},
        {"sentence_id": "s1", "annotator": "b@x.org", "stance": st(央行="favor", Nvidia="against")},
        {"sentence_id": "s1", "annotator": "c@x.org", "stance": st(央行="against")},
    ]
    agg = run(rows)
    assert label(agg, "stance") == [[{"target": "Nvidia", "label": None},
                                     {"target": "央行", "label": "favor"}]]
    assert votes(agg, "stance") == [[
        {"target": "Nvidia", "favor": 0, "against": 1, "neutral": 1, "not_about": 0},
        {"target": "央行", "favor": 2, "against": 1, "neutral": 0, "not_about": 0}]]


def test_asked_but_unanswered_is_listed_and_not_asked_is_absent() -> None:
    """Schema v2: an annotation lists every target it was asked (label None when not
    answered); the release keeps an asked target with a null label and zero votes, and a
    target nobody was asked stays out. The holder is voted per target like stance."""
    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org",
         "stance": [{"target": "Nvidia", "label": None}, {"target": "央行", "label": "favor"}],
         "stance_holder": [{"target": "央行", "label": "author"}]},
        {"sentence_id": "s1", "annotator": "b@x.org",
         "stance": [{"target": "Nvidia", "label": None}, {"target": "央行", "label": "favor"}],
         "stance_holder": [{"target": "央行", "label": "quoted_source"}]},
        {"sentence_id": "s1", "annotator": "c@x.org",
         "stance": [{"target": "央行", "label": "favor"}],
         "stance_holder": [{"target": "央行", "label": "author"}]},
        {"sentence_id": "s2", "annotator": "a@x.org", "stance": [], "stance_holder": []},
    ]
    agg = run(rows)
    assert label(agg, "stance") == [[{"target": "Nvidia", "label": None},
                                     {"target": "央行", "label": "favor"}], []]
    assert votes(agg, "stance")[0][0] == {
        "target": "Nvidia", "favor": 0, "against": 0, "neutral": 0, "not_about": 0}
    assert label(agg, "stance_holder") == [[{"target": "央行", "label": "author"}], []]
    # the card's label counts tell a tie from a target asked and never answered
    from corpus.releases.build import _label_counts

    f = next(f for f in agg.fields if f.name == "stance")
    assert _label_counts(f.label, "stance", f.votes) == {"Nvidia=(no answer)": 1,
                                                         "央行=favor": 1}
    tied = run([{"sentence_id": "s1", "annotator": f"{a}@x.org",
                 "stance": [{"target": "Nvidia", "label": lab}]}
                for a, lab in (("a", "favor"), ("b", "against"))])
    f = next(f for f in tied.fields if f.name == "stance")
    assert _label_counts(f.label, "stance", f.votes) == {"Nvidia=(tie)": 1}


def test_spans_kept_when_marked_identically_by_a_majority() -> None:
    def span(start: int, end: int, lab: str = "claim") -> dict[str, Any]:
        return {"start": start, "end": end, "label": lab, "text": "abcdefgh"[start:end]}

    rows = [
        {"sentence_id": "s1", "annotator": "a@x.org", "claim_span": [span(0, 5), span(6, 8, "source")]},
        {"sentence_id": "s1", "annotator": "b@x.org", "claim_span": [span(0, 5)]},
        {"sentence_id": "s1", "annotator": "c@x.org", "claim_span": [span(0, 6)]},
    ]
    agg = run(rows)
    assert label(agg, "claim_span") == [[span(0, 5)]]
    assert votes(agg, "claim_span") == [[
        {"start": 0, "end": 5, "label": "claim", "count": 2},
        {"start": 0, "end": 6, "label": "claim", "count": 1},
        {"start": 6, "end": 8, "label": "source", "count": 1}]]


def test_min_annotations_filters_but_keeps_adjudicated() -> None:
    rows = claims("s1", "claim", "claim", "no_claim") + claims("s2", "claim")
    rows.append({"sentence_id": "s3", "annotator": "lead@x.org", "claim": "unsure",
                 "ground_truth": True})
    agg = run(rows, min_annotations=2)
    assert agg.sentence_ids.to_pylist() == ["s1", "s3"]
    assert label(agg, "claim") == ["claim", "unsure"]
    assert run(rows, min_annotations=1).sentence_ids.to_pylist() == ["s1", "s2", "s3"]
    with pytest.raises(ReleaseError, match="at least 1"):
        run(rows, min_annotations=0)


def test_orphan_annotations_are_counted_not_released() -> None:
    agg = run(claims("s1", "claim") + claims("gone", "claim"))
    assert agg.sentence_ids.to_pylist() == ["s1"]
    assert agg.stats["orphans"] == 1


def test_missing_field_column_is_a_clear_error() -> None:
    table = annotation_rows_table(claims("s1", "claim"), SCHEMA).drop_columns(["stance"])
    with pytest.raises(ReleaseError, match=r"lacks column.*stance"):
        aggregate(table, pa.array(["s1"]), SCHEMA)


def test_closed_form_alpha_equals_krippendorff_package() -> None:
    rng = np.random.default_rng(7)
    for width in (2, 3, 4, 8):
        counts = rng.integers(0, 4, size=(3000, width))
        counts = counts[counts.sum(axis=1) >= 2]
        expected = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        assert nominal_alpha(counts) == pytest.approx(expected, abs=1e-9)


def test_field_alpha_matches_reliability_data() -> None:
    rng = np.random.default_rng(3)
    annotators = [f"a{i}@x.org" for i in range(4)]
    values = ["claim", "no_claim", "unsure"]
    rows, matrix = [], np.full((4, 40), np.nan)
    for u in range(40):
        truth = rng.integers(0, 3)
        for a in rng.choice(4, size=int(rng.integers(2, 5)), replace=False):
            lab = truth if rng.random() < 0.7 else rng.integers(0, 3)
            matrix[a, u] = lab
            rows.append({"sentence_id": f"u{u}", "annotator": annotators[a],
                         "claim": values[lab]})
    agg = aggregate(annotation_rows_table(rows, SCHEMA), pa.array([f"u{u}" for u in range(40)]),
                    SCHEMA)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert field_agreement(agg)["claim"]["alpha"] == pytest.approx(expected, abs=1e-4)


def test_alpha_undefined_is_none() -> None:
    assert alpha_from_counts(np.array([[2, 0], [3, 0]])) == (None, 2)
    assert alpha_from_counts(np.zeros((0, 3), dtype=np.int64)) == (None, 0)


def test_pairwise_percent_agreement_and_kappa() -> None:
    labels_a = ["claim", "no_claim", "claim", "unsure", "no_claim", "claim"]
    labels_b = ["claim", "no_claim", "no_claim", "unsure", "no_claim", "claim"]
    rows = []
    for i, (la, lb) in enumerate(zip(labels_a, labels_b, strict=True)):
        rows.append({"sentence_id": f"s{i}", "annotator": "b@x.org", "claim": lb})
        rows.append({"sentence_id": f"s{i}", "annotator": "a@x.org", "claim": la})
    agg = aggregate(annotation_rows_table(rows, SCHEMA), pa.array([f"s{i}" for i in range(6)]),
                    SCHEMA)
    (pair,) = pairwise(agg, "claim")
    assert (pair["a"], pair["b"], pair["items"]) == ("a@x.org", "b@x.org", 6)
    assert pair["percent_agreement"] == pytest.approx(5 / 6, abs=1e-4)
    # Cohen's kappa by hand: po = 5/6; a: claim 3, no_claim 2, unsure 1; b: 2, 3, 1
    pe = (3 * 2 + 2 * 3 + 1 * 1) / 36
    assert pair["cohen_kappa"] == pytest.approx((5 / 6 - pe) / (1 - pe), abs=1e-4)


def test_sparse_fields_aggregate_to_nulls() -> None:
    agg = run(claims("s1", "no_claim", "no_claim") + claims("s2", "unsure"))
    assert label(agg, "claim_type") == [None, None]
    assert label(agg, "stance") == [None, None]
    assert label(agg, "claim_span") == [None, None]
    assert label(agg, "checkworthy") == [None, None]
    assert votes(agg, "stance") == [None, None]
    assert votes(agg, "checkworthy")[0] == {"urgent": 0, "yes": 0, "no": 0, "unsure": 0}
    assert field_agreement(agg)["stance"]["alpha"] is None


def test_stance_counts_dense_equal_the_sorted_path() -> None:
    """The dense stance count (few targets) and the sort-based one (many) agree, repeated
    judgments of a target within one annotation included (the last one counts)."""
    from corpus.releases import aggregate as agg_mod

    rng = np.random.default_rng(7)
    for trial in range(20):
        n_rows = int(rng.integers(1, 60))
        sent = np.sort(rng.integers(0, max(1, n_rows // 3), n_rows))
        n = int(sent.max()) + 1
        r = agg_mod._Rows(rows=np.arange(n_rows), pos=np.arange(n_rows), sent=sent, n=n,
                          n_ann=np.bincount(sent, minlength=n),
                          gt_row=np.full(n, -1, dtype=np.int64))
        k = int(rng.integers(0, 4 * n_rows))
        parent = np.sort(rng.integers(0, n_rows, k))         # flat order: by annotation
        t_count, width = int(rng.integers(1, 6)), 4
        tc = rng.integers(0, t_count, k)
        lc = rng.integers(0, width, k)
        dense = agg_mod._stance_counts_dense(r, parent, tc, lc, t_count, width)
        sorted_ = agg_mod._stance_counts_sorted(r, parent, tc, lc, t_count, width)
        assert np.array_equal(dense[0], sorted_[0]), trial
        assert np.array_equal(dense[1], sorted_[1]), trial
        # one vote per (annotation, target): never more votes in a group than annotations
        assert (dense[1].sum(axis=1) <= r.n_ann[dense[0] // t_count]).all()
