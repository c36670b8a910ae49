"""Clusters of sentences that repeat across articles: exact after normalisation, or near.

Rules (also in docs/design.md, "Near-duplicate sentences"):

- **key**: the sentence text with NFKC (full/half width folded), lower case, and no
  whitespace or punctuation (``dedup_key``); two sentences with the same key are exact
  duplicates. Sentences of kind ``heading`` and keys with no character left are never
  clustered.
- **short sentences** (key under ``SHORT_CHARS`` characters, e.g. 他说。 or "He said.")
  mean what their neighbours say; the same words in unrelated articles are different
  sentences to label (stance, claim spans). They are clustered only with copies whose
  previous and next sentences have the same keys too (a syndicated copy of the passage).
- **near duplicates**: among keys of at least ``NEAR_MIN_CHARS`` characters, MinHash
  signatures over character 3-grams and banded LSH (``corpus.duplicates.minhash``) link
  two keys whose estimated Jaccard similarity reaches ``threshold`` (default 0.8; 1
  turns near-duplicate search off: exact only). Clusters are the connected components.
- **cluster id**: the smallest ``sentence_id`` of the cluster (a singleton's own id):
  deterministic, the same whatever the order rows come in. Adding articles can merge
  clusters and so change an id; push therefore keeps a cluster's task where it already
  is (see ``corpus.duplicates.representatives``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corpus.duplicates.minhash import components, signatures, similar_pairs
from corpus.errors import OptionError

I64 = npt.NDArray[np.int64]

DEFAULT_THRESHOLD = 0.8
SHORT_CHARS = 10
"""Keys shorter than this are clustered only with their neighbours (see the module doc)."""
NEAR_MIN_CHARS = 20
"""Keys shorter than this are matched exactly only (a few changed characters in a short
sentence are usually another number, name or negation: another claim)."""
_STRIP = r"[\s\p{P}]+"
KEY_SLICE = 32_768
"""Distinct texts normalised per Arrow call."""


@dataclass
class ClusterReport:
    """What one clustering did."""

    sentences: int = 0
    clusters: int = 0
    """Clusters of two or more sentences."""
    clustered: int = 0
    """Sentences in those clusters."""
    exact: int = 0
    """Sentences whose key is shared with another sentence of their cluster."""
    near_keys: int = 0
    """Distinct keys compared by MinHash."""
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        """Sentences beyond the first of each cluster (tasks a deduplicated push saves)."""
        return self.clustered - self.clusters


def check_threshold(threshold: float) -> float:
    """``threshold`` if it is a Jaccard similarity in (0, 1], else OptionError."""
    if not isinstance(threshold, (int, float)) or not 0 < float(threshold) <= 1:
        raise OptionError(f"dedup threshold must be in (0, 1], got {threshold!r}",
                          hint="pass --dedup-threshold 0.8 (1: exact duplicates only)")
    return float(threshold)


def _keys(text: pa.Array) -> pa.Array:
    out = pc.replace_substring_regex(pc.utf8_lower(pc.utf8_normalize(text, "NFKC")),
                                     _STRIP, "")
    return out.cast(pa.string())


def dedup_keys(text: pa.Array | pa.ChunkedArray, threads: int = 2) -> pa.Array:
    """The comparison key of each text: NFKC, lower case, no whitespace or punctuation.

    Each distinct text is normalised once, ``KEY_SLICE`` texts at a time (bounded
    intermediates) in ``threads`` threads (Arrow's kernels run without the GIL)."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    uniq = encoded.dictionary
    parts = [uniq.slice(lo, KEY_SLICE) for lo in range(0, len(uniq), KEY_SLICE)]
    if len(parts) > 1 and threads > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            done = list(pool.map(_keys, parts))
    else:
        done = [_keys(p) for p in parts]
    keys = pa.concat_arrays(done) if done else pa.array([], pa.string())
    return keys.take(encoded.indices)


def dedup_key(text: str) -> str:
    """:func:`dedup_keys` of one text."""
    return str(dedup_keys(pa.array([text], pa.string()))[0].as_py())


def _np(arr: pa.Array | pa.ChunkedArray) -> I64:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def cluster_ids(sentences: pa.Table, *, threshold: float = DEFAULT_THRESHOLD,
                threads: int = 2) -> tuple[pa.Array, ClusterReport]:
    """The ``cluster_id`` of every row of ``sentences`` (columns ``sentence_id``,
    ``article_id``, ``text``, ``kind``; rows in article order, sentences in order, as
    split writes them) and what was found."""
    t0 = time.perf_counter()
    threshold = check_threshold(threshold)
    n = sentences.num_rows
    report = ClusterReport(sentences=n)
    sid = sentences.column("sentence_id").combine_chunks()
    if n == 0:
        return sid, report
    keys = dedup_keys(sentences.column("text"), threads)
    lengths = _np(pc.utf8_length(keys))
    kind = sentences.column("kind")
    heading = _np(pc.fill_null(pc.equal(kind, "heading"), False).cast(pa.int8())) == 1
    eligible = (lengths > 0) & ~heading
    encoded = pc.dictionary_encode(keys)
    gid = _np(encoded.indices)                       # exact group of every row
    uniq = encoded.dictionary                        # unique keys, first-occurrence order
    n_groups = len(uniq)

    # short keys: the group of (previous key, key, next key) within the article
    article = _np(pc.dictionary_encode(sentences.column("article_id").combine_chunks()).indices)
    prev = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    same_prev = np.zeros(n, dtype=np.bool_)
    same_prev[1:] = article[1:] == article[:-1]
    prev[1:] = np.where(same_prev[1:], gid[:-1], -1)
    nxt[:-1] = np.where(same_prev[1:], gid[1:], -1)
    short = eligible & (lengths < SHORT_CHARS)
    node = gid.copy()                                # node of the cluster graph per row
    if short.any():
        triples = np.stack([prev[short], gid[short], nxt[short]], axis=1)
        _, inverse = np.unique(triples, axis=0, return_inverse=True)
        node[short] = n_groups + inverse.reshape(-1)
    node[~eligible] = -1
    exact_nodes = np.bincount(node[node >= 0])
    report.exact = int(exact_nodes[exact_nodes >= 2].sum())

    # near duplicates among the distinct long keys
    ulen = _np(pc.utf8_length(uniq))
    long_groups = np.unique(gid[eligible & ~short & (lengths >= NEAR_MIN_CHARS)])
    long_groups = long_groups[ulen[long_groups] >= NEAR_MIN_CHARS]
    merged = np.arange(n_groups, dtype=np.int64)
    if threshold < 1 and len(long_groups) > 1:
        # in the order of the keys themselves, so which member of an LSH bucket the
        # others are compared with never depends on the order the rows came in
        long_keys = uniq.take(pa.array(long_groups))
        by_key = _np(pc.sort_indices(long_keys))
        long_groups = long_groups[by_key]
        sig = signatures(long_keys.take(pa.array(by_key)), threads=threads)
        u, v = similar_pairs(sig, threshold)
        comp = components(len(long_groups), u, v)
        merged[long_groups] = long_groups[comp]
        report.near_keys = len(long_groups)
    long_rows = node >= 0
    long_rows &= node < n_groups
    node[long_rows] = merged[node[long_rows]]

    # cluster id: smallest sentence_id per node; rows outside the graph keep their own id
    in_graph = np.nonzero(node >= 0)[0]
    cluster = sid
    if len(in_graph):
        part = pa.table({"node": pa.array(node[in_graph]), "sid": sid.take(pa.array(in_graph))})
        order = _np(pc.sort_indices(part, sort_keys=[("node", "ascending"),
                                                     ("sid", "ascending")]))
        nodes_sorted = node[in_graph][order]
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = nodes_sorted[1:] != nodes_sorted[:-1]
        run = np.cumsum(first) - 1
        size = np.bincount(run)
        head = order[np.nonzero(first)[0]]           # row (in part) of each node's min id
        rep_in_part = head[run]                      # per sorted row
        idx = np.arange(n, dtype=np.int64)
        idx[in_graph[order]] = in_graph[rep_in_part]
        cluster = sid.take(pa.array(idx))
        multi = size >= 2
        report.clusters = int(multi.sum())
        report.clustered = int(size[multi].sum())
    report.seconds = time.perf_counter() - t0
    return cluster, report
