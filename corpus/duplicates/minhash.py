"""Vectorised MinHash over character shingles, and banded LSH candidates (NumPy only).

Pure-Python MinHash (``datasketch``: one object and 32-128 hash passes per sentence)
costs ~100 us a sentence, minutes on a large corpus; here every step is a NumPy kernel
over all shingles of many strings at once:

- **shingles**: the code points of every string in one ``uint32`` array; shingle ``p``
  of width 3 is the exact 63-bit key ``c[p] << 42 | c[p+1] << 21 | c[p+2]`` (code points
  have 21 bits, so no two shingles collide);
- **MinHash**: ``k`` multiply-shift hashes ``(a_j * x + b_j) mod 2**64 >> 32`` (random
  odd ``a_j``; a universal family of 64 -> 32 bit hashes), the minimum per string with
  ``np.minimum.reduceat``; chunks of strings run in two threads (NumPy releases the GIL);
- **LSH**: ``b`` bands of ``r`` rows; strings whose signature agrees on a whole band
  share a bucket. Each member of a bucket is compared with the bucket's first member
  (linear, however large the bucket), and kept as an edge when its estimated Jaccard
  similarity (the share of equal signature values) reaches the threshold.

The seeds are fixed: the same strings give the same signatures on any machine.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

SHINGLE = 3
"""Characters per shingle (after normalisation)."""
PERMUTATIONS = 32
"""Hash functions per signature: b * r of the LSH bands."""
SEED = 20261203
CHUNK_SHINGLES = 1 << 15
"""Shingles per NumPy step (``PERMUTATIONS`` rows of it stay within a few tens of MB)."""
VERIFY_BLOCK = 1 << 16
"""Candidate pairs compared at a time."""
MIN_RECALL = 0.97
"""LSH bands are chosen so a pair at the threshold becomes a candidate this often."""


def _params(k: int = PERMUTATIONS) -> tuple[U64, U64]:
    rng = np.random.default_rng(SEED)
    a = rng.integers(1, 2**63, size=k, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=k, dtype=np.uint64)
    return a, b


def codepoints(texts: list[str]) -> tuple[U32, I64]:
    """Code points of all ``texts`` in one array, and each text's start offset (n + 1)."""
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    cps = np.frombuffer(joined, dtype=np.uint32)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return cps, offsets


def shingles(cps: U32, offsets: I64) -> tuple[U64, I64]:
    """Shingle keys of every text (each of at least ``SHINGLE`` characters) and each
    text's first shingle (n + 1 offsets)."""
    lengths = np.diff(offsets)
    if len(lengths) and int(lengths.min()) < SHINGLE:
        raise ValueError(f"every text needs at least {SHINGLE} characters")
    n_cps = len(cps)
    if n_cps < SHINGLE:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(offsets), dtype=np.int64)
    wide = cps.astype(np.uint64)
    width = n_cps - (SHINGLE - 1)
    key = wide[:width] << np.uint64(21 * (SHINGLE - 1))
    for j in range(1, SHINGLE):
        key |= wide[j:j + width] << np.uint64(21 * (SHINGLE - 1 - j))
    valid = np.ones(width, dtype=np.bool_)
    for j in range(1, SHINGLE):            # shingles that run into the next text
        ends = offsets[1:-1] - j
        valid[ends[ends >= 0]] = False
    starts = offsets - np.arange(len(offsets), dtype=np.int64) * (SHINGLE - 1)
    return key[valid], starts


def signatures(texts: pa.Array, k: int = PERMUTATIONS, threads: int = 2) -> U32:
    """MinHash signatures of ``texts`` (an Arrow string array; each text of at least
    ``SHINGLE`` characters), one row of ``k`` values per text.

    Chunks of whole texts, about ``CHUNK_SHINGLES`` characters each, are turned into code
    points and shingles (:func:`codepoints`, :func:`shingles`) and hashed in ``threads``
    threads: nothing of the size of the corpus is held but the signatures."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    out = np.full((n, k), np.iinfo(np.uint32).max, dtype=np.uint32)
    if n == 0:
        return out
    a, b = _params(k)
    lengths = np.asarray(pc.utf8_length(texts).to_numpy(zero_copy_only=False), dtype=np.int64)
    ends = np.cumsum(lengths)
    bounds = [0]
    cuts = np.searchsorted(ends, np.arange(CHUNK_SHINGLES, int(ends[-1]), CHUNK_SHINGLES),
                           side="left") + 1
    for c in cuts.tolist():
        if bounds[-1] < c < n:
            bounds.append(int(c))
    bounds.append(n)

    def work(lo: int, hi: int) -> None:
        cps, offsets = codepoints(texts.slice(lo, hi - lo).to_pylist())
        keys, starts = shingles(cps, offsets)
        h = np.multiply(a[:, None], keys[None, :])
        h += b[:, None]
        h >>= np.uint64(32)
        out[lo:hi] = np.minimum.reduceat(h, starts[:-1], axis=1).T

    pairs = list(itertools.pairwise(bounds))
    if threads <= 1 or len(pairs) <= 1:
        for lo, hi in pairs:
            work(lo, hi)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda p: work(*p), pairs))
    return out


def bands_for(threshold: float, k: int = PERMUTATIONS) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= k``: the most rows per band (fewest false
    candidates) that still make a pair at ``threshold`` a candidate ``MIN_RECALL`` of the
    time (``1 - (1 - t**r)**b``)."""
    best = (k, 1)
    for r in range(1, k + 1):
        b = k // r
        if 1 - (1 - threshold**r) ** b >= MIN_RECALL:
            best = (b, r)
    return best


def band_keys(sig: U32, threshold: float) -> U64:
    """One bucket key per LSH band and row of ``sig``: ``(rows, bands)`` (``bands_for``)."""
    n, k = sig.shape
    bands, rows = bands_for(threshold, k)
    rng = np.random.default_rng(SEED + 1)
    mult = rng.integers(1, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    out = np.empty((n, bands), dtype=np.uint64)
    for band in range(bands):
        cols = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        out[:, band] = (cols * mult[None, :]).sum(axis=1, dtype=np.uint64)
    return out


def bucket_pairs(key: U64, ids: I64) -> tuple[I64, I64]:
    """Candidates of one band: ``(member, first)`` for every member of a bucket (equal
    ``key``) but its first, the member with the smallest id (``ids``: distinct)."""
    n = len(key)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = np.lexsort((ids, key))
    ks = key[order]
    start = np.ones(n, dtype=np.bool_)
    start[1:] = ks[1:] != ks[:-1]
    first = order[np.maximum.accumulate(np.where(start, np.arange(n), 0))]
    cand = np.nonzero(~start)[0]
    return ids[order[cand]].astype(np.int64), ids[first[cand]].astype(np.int64)


def needed(threshold: float, k: int = PERMUTATIONS) -> int:
    """Equal signature values for the estimated Jaccard similarity to reach ``threshold``."""
    return int(np.ceil(threshold * k - 1e-9))


def verify(sig: U32, u: I64, v: I64, threshold: float) -> tuple[I64, I64]:
    """The pairs ``(u, v)`` (rows of ``sig``) whose estimated similarity reaches
    ``threshold``, ``VERIFY_BLOCK`` pairs at a time (bounded gathers)."""
    need = needed(threshold, sig.shape[1])
    us: list[I64] = [np.zeros(0, dtype=np.int64)]
    vs: list[I64] = [np.zeros(0, dtype=np.int64)]
    for lo in range(0, len(u), VERIFY_BLOCK):
        pu, pv = u[lo:lo + VERIFY_BLOCK], v[lo:lo + VERIFY_BLOCK]
        keep = np.count_nonzero(sig[pu] == sig[pv], axis=1) >= need
        us.append(pu[keep])
        vs.append(pv[keep])
    return np.concatenate(us), np.concatenate(vs)


def similar_pairs(sig: U32, threshold: float) -> tuple[I64, I64]:
    """Edges ``(u, v)`` between rows of ``sig`` that share an LSH bucket and whose
    estimated Jaccard similarity is at least ``threshold`` (all in memory; split's
    out-of-core path, ``corpus.duplicates.clustering``, runs the same steps from disk)."""
    n = sig.shape[0]
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    keys = band_keys(sig, threshold)
    ids = np.arange(n, dtype=np.int64)
    us: list[I64] = []
    vs: list[I64] = []
    for band in range(keys.shape[1]):
        u, v = verify(sig, *bucket_pairs(np.ascontiguousarray(keys[:, band]), ids), threshold)
        us.append(u)
        vs.append(v)
    return np.concatenate(us), np.concatenate(vs)


def components(n: int, u: I64, v: I64) -> I64:
    """Connected components of ``n`` nodes and edges ``(u, v)``: the smallest node of each
    node's component (hooking and pointer jumping, vectorised)."""
    labels: I64 = np.arange(n, dtype=np.int64)
    if not len(u):
        return labels
    while True:
        lu, lv = labels[u], labels[v]
        low = np.minimum(lu, lv)
        new: I64 = labels.copy()
        np.minimum.at(new, lu, low)
        np.minimum.at(new, lv, low)
        while True:                        # pointer jumping to the roots
            nxt: I64 = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, labels):
            return labels
        labels = new
