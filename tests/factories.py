"""Synthetic workspaces (sentences + annotations) for tests and benchmarks.

Generation is vectorised so a million annotation rows take a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.labelschema import (
    PREDICTION_FIELDS,
    LabelSchema,
    annotation_arrow_schema,
    load_schema,
)
from corpus.workspace import Workspace

SENTENCE_SCHEMA = pa.schema([
    ("sentence_id", pa.string()), ("article_id", pa.string()), ("para_idx", pa.int32()),
    ("sent_idx", pa.int32()), ("start", pa.int32()), ("end", pa.int32()), ("text", pa.string()),
    ("kind", pa.string()), ("tokens", pa.list_(pa.string())), ("lang", pa.string()),
])

_T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def sentence_rows(article_id: str, n: int, *, prefix: str | None = None) -> list[dict[str, Any]]:
    """``n`` plain sentence rows of one article (ids ``<prefix>-<i>``)."""
    prefix = prefix or article_id
    rows = []
    for i in range(n):
        text = f"{article_id} 句子 {i} says 18.7% grew."
        rows.append({
            "sentence_id": f"{prefix}-{i}", "article_id": article_id, "para_idx": i // 3,
            "sent_idx": i, "start": i * 40, "end": i * 40 + len(text), "text": text,
            "kind": "sentence", "tokens": text.split(), "lang": "zh",
        })
    return rows


def annotation_rows_table(rows: Iterable[Mapping[str, Any]],
                          schema: LabelSchema | None = None) -> pa.Table:
    """Annotation table from partial dicts; missing metadata gets sensible defaults."""
    schema = schema or load_schema()
    arrow = annotation_arrow_schema(schema)
    full = []
    for i, row in enumerate(rows):
        base: dict[str, Any] = {
            "annotation_id": i + 1, "ls_task_id": i + 1, "ls_project_id": 1,
            "annotator": "a@x.org", "created_at": _T0, "updated_at": _T0, "lead_time": 3.5,
            "was_cancelled": False, "ground_truth": False, "schema_version": schema.version,
        }
        base.update(row)
        full.append({name: base.get(name) for name in arrow.names})
    return pa.Table.from_pylist(full, schema=arrow)


def _strings(prefix: str, ids: np.ndarray[Any, Any]) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(ids).cast(pa.string()), "")


def make_workspace(
    root: Path | str,
    *,
    n_sentences: int = 1000,
    annotators_per_sentence: int = 3,
    extra_annotator_share: float = 0.0,
    n_annotators: int = 12,
    sentences_per_article: int = 12,
    targets: Sequence[str] = ("央行", "Nvidia", "关税", "新能源"),
    seed: int = 0,
    schema: LabelSchema | None = None,
    shuffle: bool = False,
) -> Workspace:
    """Write sentences.parquet and annotations.parquet with a realistic label mix.

    Each sentence gets ``annotators_per_sentence`` distinct annotators (one more
    for ``extra_annotator_share`` of them); 80% of votes follow a per-sentence
    truth, the rest are random; ~1% are cancelled and ~0.5% ground truth.
    """
    schema = schema or load_schema()
    rng = np.random.default_rng(seed)
    ws = Workspace.resolve(root).ensure()

    # --- sentences
    sid = np.arange(n_sentences)
    art = sid // sentences_per_article
    sent_idx = (sid % sentences_per_article).astype(np.int32)
    words = np.array(["GDP", "增长", "18.7%", "央行", "表示", "Nvidia", "关税", "预计", "明年",
                      "上涨", "下降", "政策", "市场", "数据", "显示"], dtype=object)
    n_tok = rng.integers(4, 14, size=n_sentences)
    tok_vals = words[rng.integers(0, len(words), size=int(n_tok.sum()))]
    tok_offsets = np.concatenate([[0], np.cumsum(n_tok)]).astype(np.int32)
    tokens = pa.ListArray.from_arrays(pa.array(tok_offsets), pa.array(tok_vals, pa.string()))
    text = pc.binary_join(tokens, " ")
    lengths = np.asarray(pc.utf8_length(text), dtype=np.int32)
    starts = np.zeros(n_sentences, dtype=np.int32)
    sentences = pa.table({
        "sentence_id": _strings("s", sid), "article_id": _strings("art", art),
        "para_idx": pa.array((sent_idx // 4).astype(np.int32)), "sent_idx": pa.array(sent_idx),
        "start": pa.array(starts), "end": pa.array(starts + lengths), "text": text,
        "kind": pa.array(np.where(sent_idx == 0, "heading", "sentence").astype(object)),
        "tokens": tokens, "lang": pa.array(np.full(n_sentences, "zh", dtype=object)),
    }, schema=SENTENCE_SCHEMA)
    pq.write_table(sentences, ws.sentences, compression="zstd")

    # --- annotations: k (or k + 1) distinct annotators per sentence
    k = annotators_per_sentence
    ks = k + (rng.random(n_sentences) < extra_annotator_share).astype(np.int64)
    row_sent = np.repeat(sid, ks)
    n = len(row_sent)
    row_start = np.concatenate([[0], np.cumsum(ks)])[:-1]
    pos = np.arange(n) - row_start[row_sent]
    first = rng.integers(0, n_annotators, size=n_sentences)
    step = rng.integers(1, max(n_annotators // (k + 1), 1) + 1, size=n_sentences)
    ann = (first[row_sent] + pos * step[row_sent]) % n_annotators
    agree = rng.random(n) < 0.8

    def single(values: Sequence[str], p: Sequence[float]) -> np.ndarray[Any, Any]:
        truth = rng.choice(len(values), size=n_sentences, p=p)
        noise = rng.integers(0, len(values), size=n)
        return np.where(agree, truth[row_sent], noise)

    columns: dict[str, pa.Array] = {}
    stance_parts: dict[str, tuple[Any, Any, tuple[str, ...]]] = {}
    claim_code = np.zeros(n, dtype=np.int64)
    for f in schema.fields:
        v = np.array(f.values, dtype=object)
        if f.kind == "single":
            p: np.ndarray[Any, Any] = np.full(len(v), 1.0 / len(v))
            if f.name == "claim" and len(v) == 3:
                p = np.array([0.4, 0.5, 0.1])
            codes = single(f.values, list(p))
            if f.name == "claim":
                claim_code = codes
            arr = v[codes]
            mask = (claim_code != 0) if f.name == "checkworthy" else (rng.random(n) < 0.02)
            columns[f.name] = pa.array(arr, pa.string(), mask=mask)
        elif f.kind == "multi":
            truth = rng.integers(0, len(v), size=n_sentences)
            first_label = np.where(agree, truth[row_sent], rng.integers(0, len(v), size=n))
            second = rng.random(n) < 0.3
            lens = np.where(claim_code == 0, 1 + second, 0)
            vals = np.empty(int(lens.sum()), dtype=object)
            offs = np.concatenate([[0], np.cumsum(lens)])
            pos = offs[:-1][lens > 0]
            vals[pos] = v[first_label[lens > 0]]
            two = lens == 2
            vals[offs[:-1][two] + 1] = v[(first_label[two] + 1) % len(v)]
            columns[f.name] = pa.ListArray.from_arrays(
                pa.array(offs.astype(np.int32)), pa.array(vals, pa.string()),
                mask=pa.array(claim_code != 0))
        elif f.kind == "stance" and f.of is not None:
            # asked per stance answer of `of` that is one of its shown_when values
            p_tt, p_lab, p_values = stance_parts[f.of]
            shown = [i for i, val in enumerate(p_values) if val in (f.shown_values or p_values)]
            keep = np.isin(p_lab, shown)
            tvals = np.array(list(targets), dtype=object)
            lab = np.where(np.repeat(agree, 2)[keep], 0,
                           rng.integers(0, len(v), size=int(keep.sum())))
            struct = pa.StructArray.from_arrays(
                [pa.array(tvals[p_tt[keep]], pa.string()), pa.array(v[lab], pa.string())],
                names=["target", "label"])
            per_row = keep.reshape(-1, 2).sum(axis=1)
            columns[f.name] = pa.ListArray.from_arrays(
                pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)), struct)
        elif f.kind == "stance":
            tvals = np.array(list(targets), dtype=object)
            n_t = 2
            t_first = (art % len(tvals))[row_sent]
            tt = np.stack([t_first, (t_first + 1) % len(tvals)], axis=1).reshape(-1)
            truth = rng.choice(len(v), size=(n_sentences, n_t), p=[0.15, 0.15, 0.2, 0.5])
            lab = np.where(np.repeat(agree, n_t), truth[row_sent].reshape(-1),
                           rng.integers(0, len(v), size=n * n_t))
            struct = pa.StructArray.from_arrays(
                [pa.array(tvals[tt], pa.string()), pa.array(v[lab], pa.string())],
                names=["target", "label"])
            columns[f.name] = pa.ListArray.from_arrays(
                pa.array((np.arange(n + 1) * n_t).astype(np.int32)), struct)
            stance_parts[f.name] = (tt, lab, tuple(f.values))
        else:
            has = (claim_code == 0) & (rng.random(n) < 0.9)
            length = lengths[row_sent]
            end = np.where(agree, length // 2, np.maximum(length // 3, 1)).astype(np.int32)
            lens = has.astype(np.int64)
            idx = np.nonzero(has)[0]
            texts = [t[:e] for t, e in zip(text.take(pa.array(row_sent[idx])).to_pylist(),
                                            end[idx].tolist(), strict=True)]
            struct = pa.StructArray.from_arrays(
                [pa.array(np.zeros(len(idx), dtype=np.int32)), pa.array(end[idx]),
                 pa.array(np.full(len(idx), v[0], dtype=object), pa.string()),
                 pa.array(texts, pa.string())],
                names=["start", "end", "label", "text"])
            columns[f.name] = pa.ListArray.from_arrays(
                pa.array(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)), struct)

    ts = pa.array((np.datetime64("2025-01-01T00:00:00", "us")
                   + rng.integers(0, 10**12, size=n).astype("timedelta64[us]")),
                  pa.timestamp("us", tz="UTC"))
    arrow = annotation_arrow_schema(schema)
    base: dict[str, pa.Array] = {
        "sentence_id": _strings("s", row_sent),
        "annotation_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "ls_task_id": pa.array(row_sent.astype(np.int64) + 1),
        "ls_project_id": pa.array(np.ones(n, dtype=np.int64)),
        "annotator": pc.binary_join_element_wise(
            "annotator", pa.array(ann).cast(pa.string()), "@example.org", ""),
        "created_at": ts, "updated_at": ts,
        "lead_time": pa.array(rng.gamma(2.0, 4.0, size=n)),
        "was_cancelled": pa.array(rng.random(n) < 0.01),
        "ground_truth": pa.array(rng.random(n) < 0.005),
        "schema_version": pa.array(np.full(n, schema.version, dtype=np.int32)),
        **{f.name: pa.nulls(n, f.type) for f in PREDICTION_FIELDS},
    }
    table = pa.table({**base, **columns}).cast(arrow)
    if shuffle:                                   # pulled annotations arrive in no set order
        table = table.take(pa.array(rng.permutation(table.num_rows)))
    pq.write_table(table, ws.annotations, compression="zstd", row_group_size=131072)
    return ws
