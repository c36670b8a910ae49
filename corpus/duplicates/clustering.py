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
- **out of core**: :func:`cluster_file` (split's) reads ``BATCH_ROWS`` rows at a time
  and keeps a few numbers per row, never the texts or keys; exact groups are equal
  64-bit key hashes (:func:`key_hashes`), the long keys, signatures and LSH band keys
  go to scratch files and come back a band at a time (see :func:`cluster_batches`).
- **cluster id**: the smallest ``sentence_id`` of the cluster (a singleton's own id):
  deterministic, the same whatever the order rows come in. Adding articles can merge
  clusters and so change an id; push therefore keeps a cluster's task where it already
  is (see ``corpus.duplicates.representatives``).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from corpus.duplicates.minhash import (
    PERMUTATIONS,
    band_keys,
    bands_for,
    bucket_pairs,
    components,
    signatures,
    verify,
)
from corpus.duplicates.sentence_ids import SentenceIds
from corpus.errors import OptionError
from corpus.storage.memory import trim_heap
from corpus.storage.tables import iter_batches

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

DEFAULT_THRESHOLD = 0.8
SHORT_CHARS = 10
"""Keys shorter than this are clustered only with their neighbours (see the module doc)."""
NEAR_MIN_CHARS = 20
"""Keys shorter than this are matched exactly only (a few changed characters in a short
sentence are usually another number, name or negation: another claim)."""
_STRIP = r"[\s\p{P}]+"
KEY_SLICE = 32_768
"""Distinct texts normalised per Arrow call."""
BATCH_ROWS = 65_536
"""Rows read, normalised and hashed at a time."""
COLUMNS = ("sentence_id", "article_id", "text", "kind")


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


def key_hashes(keys: pa.Array) -> U64:
    """A 64-bit hash of each key (BLAKE2b of its UTF-8): equal keys, equal hashes; two
    distinct keys of a corpus of n share one with probability about n**2 / 2**65."""
    out = b"".join(blake2b(k, digest_size=8).digest()
                   for k in keys.cast(pa.binary()).to_pylist())
    return np.frombuffer(out, dtype="<u8").astype(np.uint64)


@dataclass
class Clusters:
    """The cluster of every row: ``sentence_id[rep[i]]`` is row ``i``'s ``cluster_id``."""

    sentence_id: SentenceIds
    rep: npt.NDArray[Any]
    report: ClusterReport

    def ids(self, start: int = 0, rows: int | None = None) -> pa.Array:
        """The ``cluster_id`` of rows ``start`` to ``start + rows`` (all: None)."""
        rep = self.rep[start:] if rows is None else self.rep[start:start + rows]
        return self.sentence_id.take(rep)


class _Scratch:
    """The temporary files of one clustering: ``base`` and a suffix each, all removed at
    the end (split's are named after its own temporary file, so a killed split's are
    removed by the next one, ``corpus.storage.atomic.remove_stale``)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.paths: list[Path] = []

    def path(self, suffix: str) -> Path:
        path = self.base.with_name(f"{self.base.name}.{suffix}")
        self.paths.append(path)
        return path

    def remove(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)


def cluster_ids(sentences: pa.Table, *, threshold: float = DEFAULT_THRESHOLD,
                threads: int = 2) -> tuple[pa.Array, ClusterReport]:
    """The ``cluster_id`` of every row of ``sentences`` (columns ``sentence_id``,
    ``article_id``, ``text``, ``kind``; rows in article order, sentences in order, as
    split writes them) and what was found."""
    with tempfile.TemporaryDirectory(prefix="corpus-dedup-") as tmp:
        found = cluster_batches(sentences.select(list(COLUMNS)).to_batches(BATCH_ROWS),
                                Path(tmp) / "clusters", threshold=threshold, threads=threads)
    return found.ids(), found.report


def cluster_file(path: Path, *, threshold: float = DEFAULT_THRESHOLD,
                 threads: int = 2) -> Clusters:
    """The clusters of the sentence rows of the Parquet file ``path`` (as
    :func:`cluster_ids`), read ``BATCH_ROWS`` rows at a time; its temporary files are
    ``path`` with a suffix."""
    return cluster_batches(iter_batches(path, list(COLUMNS), BATCH_ROWS), path,
                           threshold=threshold, threads=threads)


def cluster_batches(batches: Iterable[pa.RecordBatch], scratch: Path, *,
                    threshold: float = DEFAULT_THRESHOLD, threads: int = 2) -> Clusters:
    """The clusters of the rows of ``batches`` (columns ``COLUMNS``, in article order).

    Out of core: what stays in memory is a few numbers per row (key hash, key length,
    flags, groups; ~100 bytes with the sentence id) and, for the keys that have a
    near-duplicate candidate, their MinHash signature (128 bytes). The long keys, their
    signatures and LSH band keys go to files next to ``scratch`` and are read back a band
    at a time."""
    t0 = time.perf_counter()
    threshold = check_threshold(threshold)
    files = _Scratch(scratch)
    try:
        rows = _read_rows(batches, files.path("keys"), threads)
        trim_heap(collect=False)  # the batches' lists, joined
        found = _cluster(rows, files, threshold, threads)
    finally:
        files.remove()
        close = getattr(batches, "close", None)   # a generator: its open file, now
        if close is not None:
            close()
    found.report.seconds = time.perf_counter() - t0
    return found


@dataclass
class _Rows:
    """Pass one over the rows: what clustering needs of each, and the long keys on disk."""

    sentence_id: SentenceIds
    hashes: U64
    lengths: npt.NDArray[np.int32]
    eligible: npt.NDArray[np.bool_]
    same_article: npt.NDArray[np.bool_]
    """Row ``i`` is in the same article as row ``i - 1``."""
    keys: Path
    """``KEYS_SCHEMA`` batches: the distinct long keys of each batch of rows."""


KEYS_SCHEMA = pa.schema([("hash", pa.uint64()), ("key", pa.string())])


@dataclass
class _Batch:
    """What pass one keeps of one batch of rows (:func:`_prepare`)."""

    sentence_id: pa.Array
    hashes: U64
    lengths: npt.NDArray[np.int32]
    eligible: npt.NDArray[np.bool_]
    same: npt.NDArray[np.bool_]
    """As ``_Rows.same_article``; the first row's is set by the batch before it."""
    first_article: str
    last_article: str
    long_keys: pa.RecordBatch | None


def _prepare(batch: pa.RecordBatch, threads: int) -> _Batch:
    m = batch.num_rows
    # (the schema has no nulls; in a hand-made table a null text has no key and null
    # article ids are one article, whatever the batches)
    article = pc.fill_null(batch.column("article_id"), "")
    text = pc.fill_null(batch.column("text"), "")
    encoded = pc.dictionary_encode(dedup_keys(text, threads))
    uniq = encoded.dictionary
    idx = _np(encoded.indices)
    ulen = np.asarray(pc.utf8_length(uniq).to_numpy(zero_copy_only=False), dtype=np.int32)
    uhash = key_hashes(uniq)
    heading = pc.fill_null(pc.equal(batch.column("kind"), "heading"), False)
    ok = (ulen[idx] > 0) & ~np.asarray(heading.to_numpy(zero_copy_only=False))
    used = np.zeros(len(uniq), dtype=np.bool_)
    used[idx[ok]] = True
    long = used & (ulen >= NEAR_MIN_CHARS)
    long_keys = pa.record_batch([pa.array(uhash[long]), uniq.filter(pa.array(long))],
                                schema=KEYS_SCHEMA) if long.any() else None
    same = np.zeros(m, dtype=np.bool_)
    if m > 1:
        same[1:] = np.asarray(pc.fill_null(pc.equal(article.slice(1), article.slice(
            0, m - 1)), False).to_numpy(zero_copy_only=False))
    return _Batch(batch.column("sentence_id"), uhash[idx], ulen[idx], ok, same,
                  str(article[0].as_py()), str(article[m - 1].as_py()), long_keys)


def _read_rows(batches: Iterable[pa.RecordBatch], keys_path: Path, threads: int) -> _Rows:
    """Pass one: each batch normalised and hashed in a thread of its own (``threads``
    batches at a time; Arrow's kernels and NumPy release the GIL), kept in order."""
    sids = SentenceIds()
    hashes: list[U64] = []
    lengths: list[npt.NDArray[np.int32]] = []
    eligible: list[npt.NDArray[np.bool_]] = []
    same: list[npt.NDArray[np.bool_]] = []
    last_article: str | None = None
    workers = max(1, threads)
    with pa.OSFile(str(keys_path), "wb") as sink, \
            pa.ipc.new_stream(sink, KEYS_SCHEMA) as writer, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        def keep(done: _Batch) -> None:
            nonlocal last_article
            if done.long_keys is not None:
                writer.write_batch(done.long_keys)
            done.same[0] = done.first_article == last_article
            last_article = done.last_article
            sids.append(done.sentence_id)  # packed: 10 bytes a row
            hashes.append(done.hashes)
            lengths.append(done.lengths)
            eligible.append(done.eligible)
            same.append(done.same)

        pending: deque[Future[_Batch]] = deque()
        for batch in batches:
            if batch.num_rows:
                pending.append(pool.submit(_prepare, batch, 1 if workers > 1 else threads))
            if len(pending) >= workers:
                keep(pending.popleft().result())
        while pending:
            keep(pending.popleft().result())
    trim_heap()  # the batches' Arrow buffers: only the per-row numbers stay
    if not hashes:
        return _Rows(sids.finish(), np.zeros(0, dtype=np.uint64),
                     np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.bool_),
                     np.zeros(0, dtype=np.bool_), keys_path)
    return _Rows(sids.finish(), np.concatenate(hashes), np.concatenate(lengths),
                 np.concatenate(eligible), np.concatenate(same), keys_path)


def _cluster(rows: _Rows, files: _Scratch, threshold: float, threads: int) -> Clusters:
    n = len(rows.hashes)
    report = ClusterReport(sentences=n)
    if n == 0:
        return Clusters(rows.sentence_id, np.zeros(0, dtype=np.int64), report)
    # row numbers and groups in 32 bits while they fit: 4 bytes a row for each array
    index: type[np.signedinteger[Any]] = (
        np.int32 if 2 * n < np.iinfo(np.int32).max else np.int64)
    group_hash, inverse = np.unique(rows.hashes, return_inverse=True)
    gid: npt.NDArray[np.signedinteger[Any]] = inverse.reshape(-1).astype(index)
    # (gid: the exact group of every row, groups in hash order)
    del inverse
    rows.hashes = np.zeros(0, dtype=np.uint64)
    n_groups = len(group_hash)
    lengths, eligible, same = rows.lengths, rows.eligible, rows.same_article

    # short keys: the group of (previous key, key, next key) within the article
    short = eligible & (lengths < SHORT_CHARS)
    node = gid.copy()                                 # node of the cluster graph per row
    if short.any():
        at = np.nonzero(short)[0]
        before = np.where(same[at], gid[np.maximum(at - 1, 0)], -1).astype(index)
        after_ok = np.zeros(len(at), dtype=np.bool_)
        inside = at + 1 < n
        after_ok[inside] = same[at[inside] + 1]
        after = np.where(after_ok, gid[np.minimum(at + 1, n - 1)], -1).astype(index)
        triples = np.stack([before, gid[at], after], axis=1)
        _, tri = np.unique(triples, axis=0, return_inverse=True)
        node[at] = n_groups + tri.reshape(-1).astype(index)
    node[~eligible] = -1
    exact_nodes = np.bincount(node[node >= 0])
    report.exact = int(exact_nodes[exact_nodes >= 2].sum())

    # near duplicates among the distinct long keys (in the order of their hashes, so
    # which member of an LSH bucket the others are compared with never depends on the
    # order the rows came in)
    long_groups = np.unique(gid[eligible & ~short & (lengths >= NEAR_MIN_CHARS)]).astype(
        np.int64)
    del gid, short
    if threshold < 1 and len(long_groups) > 1:
        comp = _near(rows.keys, group_hash, long_groups, files, threshold, threads)
        merged = np.arange(n_groups, dtype=index)
        merged[long_groups] = long_groups[comp]
        del comp
        long_rows = (node >= 0) & (node < n_groups)
        node[long_rows] = merged[node[long_rows]]
        report.near_keys = len(long_groups)

    # cluster id: smallest sentence_id per node; rows outside the graph keep their own id
    rep = np.arange(n, dtype=index)
    in_graph = node >= 0
    if in_graph.any():
        order = rows.sentence_id.order().astype(index)
        rank = np.empty(n, dtype=index)
        rank[order] = np.arange(n, dtype=index)
        best = np.full(int(node.max()) + 1, n, dtype=index)   # smallest rank per node
        np.minimum.at(best, node[in_graph], rank[in_graph])
        del rank
        rep[in_graph] = order[best[node[in_graph]]]
        del order, best
        size = np.bincount(node[in_graph])
        multi = size >= 2
        report.clusters = int(multi.sum())
        report.clustered = int(size[multi].sum())
    return Clusters(rows.sentence_id, rep, report)


SIGNATURE_BLOCK = 1 << 16
"""Signatures read back from disk at a time."""


def _near(keys: Path, group_hash: U64, long_groups: I64, files: _Scratch,
          threshold: float, threads: int) -> I64:
    """Components of the near-duplicate graph of the long keys (``long_groups``, groups
    in hash order): the smallest index into ``long_groups`` of each one's component."""
    n_long = len(long_groups)
    position = np.full(len(group_hash), -1, dtype=np.int64)
    position[long_groups] = np.arange(n_long, dtype=np.int64)
    done = np.zeros(n_long, dtype=np.bool_)
    bands, _ = bands_for(threshold, PERMUTATIONS)
    pos_path, sig_path = files.path("pos"), files.path("sig")
    band_paths = [files.path(f"band{b}") for b in range(bands)]
    with contextlib.ExitStack() as stack:
        pos_out = stack.enter_context(pos_path.open("wb"))
        sig_out = stack.enter_context(sig_path.open("wb"))
        band_out = [stack.enter_context(p.open("wb")) for p in band_paths]
        with pa.OSFile(str(keys), "rb") as source:
            for batch in pa.ipc.open_stream(source):
                p = position[np.searchsorted(group_hash, _u64(batch.column(0)))]
                fresh = np.nonzero(p >= 0)[0]
                fresh = fresh[~done[p[fresh]]]
                _, first = np.unique(p[fresh], return_index=True)
                fresh = fresh[first]                 # one row per key
                if not len(fresh):
                    continue
                done[p[fresh]] = True
                sig = signatures(batch.column(1).take(pa.array(fresh)), threads=threads)
                p[fresh].tofile(pos_out)
                sig.tofile(sig_out)
                for b, key in enumerate(band_keys(sig, threshold).T):
                    np.ascontiguousarray(key).tofile(band_out[b])
    pos: I64 = np.fromfile(pos_path, dtype=np.int64)
    codes = np.zeros(0, dtype=np.int64)            # candidate pairs u * n_long + v
    for path in band_paths:
        u, v = bucket_pairs(np.fromfile(path, dtype=np.uint64), pos)
        codes = np.union1d(codes, u * n_long + v)
        path.unlink()
    if not len(codes):
        return np.arange(n_long, dtype=np.int64)
    u, v = np.divmod(codes, n_long)
    del codes
    involved = np.zeros(n_long, dtype=np.bool_)
    involved[u] = True
    involved[v] = True
    index = np.cumsum(involved) - 1                # row of each involved key in `sig`
    sig = np.empty((int(involved.sum()), PERMUTATIONS), dtype=np.uint32)
    with sig_path.open("rb") as source:
        for lo in range(0, len(pos), SIGNATURE_BLOCK):
            block_pos = pos[lo:lo + SIGNATURE_BLOCK]
            block = np.fromfile(source, dtype=np.uint32,
                                count=len(block_pos) * PERMUTATIONS).reshape(-1, PERMUTATIONS)
            keep = involved[block_pos]
            sig[index[block_pos[keep]]] = block[keep]
    eu, ev = verify(sig, index[u], index[v], threshold)
    back = np.nonzero(involved)[0]
    return components(n_long, back[eu], back[ev])


def _u64(arr: pa.Array | pa.ChunkedArray) -> U64:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.uint64)
