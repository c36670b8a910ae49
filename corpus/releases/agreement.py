"""Inter-annotator agreement: Krippendorff's alpha per field and pairwise Cohen's kappa."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import krippendorff
import numpy as np

from corpus.releases.aggregate import Aggregation, IntArray

# above this many (unit x value x value) cells the closed form below is used instead of the
# krippendorff package (same result, see tests; the package's O(units * values^2) memory
# and time would dominate a 300k-sentence release)
PACKAGE_CELLS = 200_000


def nominal_alpha(counts: IntArray) -> float:
    """Nominal Krippendorff's alpha of pairable units, as a closed form over coincidences.

    o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1);  n_c = sum_k o_ck;
    alpha = 1 - (n - 1) (n - trace o) / (n^2 - sum_c n_c^2).
    """
    c = counts.astype(np.float64)
    weight = 1.0 / (c.sum(axis=1) - 1.0)
    weighted = c * weight[:, None]
    coincidences = weighted.T @ c - np.diag(weighted.sum(axis=0))
    n_c = coincidences.sum(axis=1)
    n = n_c.sum()
    expected = n * n - float((n_c * n_c).sum())
    if expected <= 0:
        return math.nan
    return float(1.0 - (n - 1.0) * (n - float(np.trace(coincidences))) / expected)


def alpha_from_counts(counts: IntArray) -> tuple[float | None, int]:
    """Nominal Krippendorff's alpha from a (units, values) count matrix, and pairable units.

    Units with fewer than two values are not pairable and are left out; alpha is
    ``None`` when it is undefined (no pairable unit, or a single value overall).
    Small inputs go through the ``krippendorff`` package, large ones through
    ``nominal_alpha`` (identical results).
    """
    if counts.size == 0:
        return None, 0
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or int((pairable.sum(axis=0) > 0).sum()) < 2:
        return None, len(pairable)
    if pairable.shape[0] * pairable.shape[1] ** 2 > PACKAGE_CELLS:
        value = nominal_alpha(pairable)
    else:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = float(krippendorff.alpha(value_counts=pairable,
                                             level_of_measurement="nominal"))
    return (None if math.isnan(value) else round(value, 4)), len(pairable)


def binary_alphas(chosen: IntArray, n_ann: IntArray) -> tuple[list[float | None], int]:
    """Per column of ``chosen`` (units x labels: how many annotators chose the label), the
    nominal alpha of "chosen or not" (``alpha_from_counts`` of ``[n - chosen, chosen]``),
    all labels at once in closed form; and the pairable units (two or more annotators)."""
    keep = n_ann >= 2
    c1 = chosen[keep].astype(np.float64)
    n_u = n_ann[keep].astype(np.float64)[:, None]
    c0 = n_u - c1
    w = 1.0 / (n_u - 1.0)
    o11 = (c1 * (c1 - 1.0) * w).sum(axis=0)
    o00 = (c0 * (c0 - 1.0) * w).sum(axis=0)
    o01 = (c0 * c1 * w).sum(axis=0)
    n1, n0 = o11 + o01, o00 + o01
    n = n0 + n1
    expected = n * n - n0 * n0 - n1 * n1
    out: list[float | None] = []
    for j in range(chosen.shape[1]):
        both = bool(c1[:, j].sum() > 0) and bool(c0[:, j].sum() > 0)
        if not len(c1) or not both or expected[j] <= 0:
            out.append(None)
            continue
        value = 1.0 - (n[j] - 1.0) * (n[j] - (o00[j] + o11[j])) / expected[j]
        out.append(None if math.isnan(value) else round(float(value), 4))
    return out, int(keep.sum())


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def field_agreement(agg: Aggregation) -> dict[str, dict[str, Any]]:
    """Alpha per single field, per stance target and per multi-choice label (binary)."""
    out: dict[str, dict[str, Any]] = {}
    for f in agg.fields:
        if f.kind == "single" and f.counts is not None:
            a, units = alpha_from_counts(f.counts)
            out[f.name] = {"kind": f.kind, "alpha": a, "units": units}
        elif f.kind == "multi" and f.counts is not None:
            per: dict[str, Any] = {}
            n_ann = agg.n_annotators.astype(np.int64)
            alphas, units = binary_alphas(f.counts, n_ann)
            for j, label in enumerate(f.values):
                per[label] = {"alpha": alphas[j], "units": units}
            out[f.name] = {"kind": f.kind, "alpha": _mean([p["alpha"] for p in per.values()]),
                           "units": int((agg.n_annotators >= 2).sum()), "per_label": per,
                           "note": "alpha is the mean of the per-label binary alphas"}
        elif f.kind == "stance" and f.stance is not None:
            st = f.stance
            per = {}
            for t, target in enumerate(st.targets):
                a, units = alpha_from_counts(st.counts[st.target == t])
                per[target] = {"alpha": a, "units": units}
            out[f.name] = {"kind": f.kind, "alpha": _mean([p["alpha"] for p in per.values()]),
                           "units": sum(p["units"] for p in per.values()), "per_target": per,
                           "note": "alpha is the mean of the per-target alphas"}
        else:
            out[f.name] = {"kind": f.kind, "alpha": None, "units": 0,
                           "note": "not computed for spans; span votes are in the "
                                   f"{f.name}_votes column"}
    return out


def pairwise(agg: Aggregation, field: str) -> list[dict[str, Any]]:
    """Percent agreement and Cohen's kappa for every annotator pair on ``field``.

    Pairs are formed within each sentence between annotators who both answered
    ``field``; one entry per pair with at least one shared sentence, most shared first.
    """
    result = next((f for f in agg.fields if f.name == field), None)
    if result is None or result.row_codes is None:
        return []
    codes = result.row_codes
    ok = np.nonzero(codes >= 0)[0]
    sent, ann, lab = agg.row_sent[ok], agg.row_annotator[ok], codes[ok]
    width = len(result.values)
    a_count = max(len(agg.annotators), 1)
    keys: list[IntArray] = []
    d = 1
    while d < len(sent):
        same = np.nonzero(sent[d:] == sent[:-d])[0]
        if len(same) == 0:
            break
        i, j = same, same + d
        a, b = ann[i], ann[j]
        la, lb = lab[i], lab[j]
        swap = a > b
        a, b = np.where(swap, b, a), np.where(swap, a, b)
        la, lb = np.where(swap, lb, la), np.where(swap, la, lb)
        keys.append(((a * a_count + b) * width + la) * width + lb)
        d += 1
    if not keys:
        return []
    uniq, cnt = np.unique(np.concatenate(keys), return_counts=True)
    pair = uniq // (width * width)
    cell = uniq % (width * width)
    pairs: list[dict[str, Any]] = []
    bounds = np.nonzero(np.diff(np.concatenate([[-1], pair, [-1]])))[0]
    for s, e in itertools.pairwise(bounds):
        conf = np.zeros(width * width, dtype=np.int64)
        conf[cell[s:e]] = cnt[s:e]
        m = conf.reshape(width, width)
        total = int(m.sum())
        po = float(np.trace(m)) / total
        pe = float((m.sum(axis=1) * m.sum(axis=0)).sum()) / total ** 2
        kappa = None if pe >= 1.0 else round((po - pe) / (1.0 - pe), 4)
        p = int(pair[s])
        pairs.append({"a": agg.annotators[p // a_count], "b": agg.annotators[p % a_count],
                      "items": total, "percent_agreement": round(po, 4), "cohen_kappa": kappa})
    pairs.sort(key=lambda r: (-r["items"], r["a"], r["b"]))
    return pairs
