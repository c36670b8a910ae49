"""Deterministic train/validation/test assignment by a hash of ``article_id``."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.errors import ReleaseOptionError
from corpus.releases.model import SPLITS


def parse_ratios(spec: str | Sequence[float]) -> tuple[float, float, float]:
    """``"80/10/10"`` or ``(0.8, 0.1, 0.1)`` -> normalised ratios summing to 1."""
    if isinstance(spec, str):
        parts = spec.replace(",", "/").replace(":", "/").split("/")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
    else:
        values = [float(v) for v in spec]
    if len(values) != 3 or any(v < 0 or not math.isfinite(v) for v in values) or (
            sum(values) <= 0):
        raise ReleaseOptionError(f"split ratios {spec!r} are not three non-negative numbers",
                           hint="use e.g. --split 80/10/10 (train/validation/test)")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def article_position(article_id: str) -> float:
    """Uniform position in [0, 1) of an article: first 8 bytes of sha256(article_id)."""
    digest = hashlib.sha256(article_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(article_ids: pa.Array | pa.ChunkedArray,
           ratios: Sequence[float] = (0.8, 0.1, 0.1)) -> pa.Array:
    """The split name of every row, from its article's hash position and ``ratios``.

    Every sentence of an article lands in one split, and a sentence keeps its
    split across versions as long as the ratios stay the same.
    """
    train, validation, _ = parse_ratios(ratios)
    encoded = pc.dictionary_encode(article_ids)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques = encoded.dictionary.to_pylist()
    pos = np.array([article_position(str(a)) for a in uniques], dtype=np.float64)
    code = np.where(pos < train, 0, np.where(pos < train + validation, 1, 2))
    split_of_row = code[np.asarray(encoded.indices.to_numpy(zero_copy_only=False))]
    return pa.array(np.array(SPLITS, dtype=object)[split_of_row], pa.string())
