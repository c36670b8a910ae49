"""Benchmark: near-duplicate clustering against split, in the same run, on the 50 MB corpus.

The corpus is tools/bench_segment.py's generated Chinese news (seed paragraphs shuffled,
numbers varied): sentences repeat across articles, exactly or with other numbers. A
second variant makes every sentence distinct (the article number is written into each
one), so every sentence goes through MinHash: the worst case for the near-duplicate path.

For each variant, ``corpus.ingest`` then ``corpus.split`` (library, all cores) and prints,
per MB of article text (10**6 bytes of UTF-8):
  * split: segmentation, tokenisation and writing the rows (``SplitReport.split_seconds``);
  * clustering: reading the rows back, ``corpus.duplicates.cluster_file`` (out of
    core), and the final write of sentences.parquet with ``cluster_id``
    (``SplitReport.dedup_seconds``);
  * the same-run ratio clustering / split (clustering must be the faster: > 1).
Then, on a sample of distinct sentences, ``cluster_ids`` against datasketch (MinHash with
the same 32 permutations per sentence, MinHashLSH at the same threshold; ``bench`` extra):
sentences per second and the same-run ratio.

Usage: .venv/bin/python tools/bench_dedup.py [--size-mb 50] [--sample 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench_segment import generate  # noqa: E402

from corpus.articles.ingestion import ingest  # noqa: E402
from corpus.duplicates import DEFAULT_THRESHOLD, cluster_ids, dedup_keys  # noqa: E402
from corpus.duplicates.minhash import PERMUTATIONS, SHINGLE, bands_for  # noqa: E402


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f}"


SPLIT_CHILD = """
import dataclasses, json, resource, sys
from corpus.sentences import split
report = split(sys.argv[1])
out = dataclasses.asdict(report)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def split_in_child(ws: Path) -> dict[str, Any]:
    """``corpus.split`` in a fresh process (as the CLI runs it), its report and peak RSS."""
    done = subprocess.run([sys.executable, "-c", SPLIT_CHILD, str(ws)], check=True,
                          capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def distinct(articles: list[str]) -> list[str]:
    """Every sentence of article ``n`` gets ``n`` before its terminator: no exact repeats."""
    return [re.sub(r"([。！？])", f"{n}\\1", text) for n, text in enumerate(articles)]


def run(label: str, articles: list[str], tmp: Path) -> tuple[float, Path]:
    size = sum(len(t.encode("utf-8")) for t in articles) / 1e6
    src = tmp / f"{label}.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(articles):
            fh.write(json.dumps({"id": f"b{i}", "title": f"标题{i}", "text": text},
                                ensure_ascii=False) + "\n")
    ws = tmp / f"ws-{label}"
    ingest([src], ws)
    r = split_in_child(ws)
    c = r["clusters"]
    split_rate = size / r["split_seconds"]
    dedup_rate = size / r["dedup_seconds"]
    print(f"[{label}] {len(articles):,} articles, {size:.1f} MB, {r['sentences']:,} "
          f"sentences, {r['workers']} processes ({load()})")
    print(f"  split (segment + tokenise + rows)      {r['split_seconds']:6.2f} s "
          f"{split_rate:7.2f} MB/s")
    print(f"  clustering (cluster_file + write)     {r['dedup_seconds']:6.2f} s "
          f"{dedup_rate:7.2f} MB/s   (clustering alone {c['seconds']:.2f} s, "
          f"{size / c['seconds']:.1f} MB/s)")
    print(f"  ratio clustering / split (same run)    {dedup_rate / split_rate:6.2f}x "
          f"({'keeps up' if dedup_rate > split_rate else 'SLOWER than split'})")
    print(f"  found: {c['clusters']:,} clusters of {c['clustered']:,} sentences "
          f"({c['exact']:,} exact after normalisation), {c['near_keys']:,} distinct keys "
          f"through MinHash; a deduplicated push saves {c['clustered'] - c['clusters']:,} of "
          f"{r['sentences']:,} tasks")
    print(f"  peak RSS of split's main process (where clustering runs; workers apart): "
          f"{r['peak_rss_mb']:,.0f} MB")
    return dedup_rate / split_rate, ws


def versus_datasketch(ws: Path, sample: int) -> None:
    """cluster_ids vs datasketch on the first ``sample`` distinct long sentences."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        print("datasketch not installed (pip install -e '.[bench]'): comparison skipped")
        return
    table = pq.read_table(ws / "sentences.parquet",
                          columns=["sentence_id", "article_id", "text", "kind"])
    table = table.filter(pa.compute.equal(table["kind"], "sentence")).slice(0, sample)
    keys = dedup_keys(table["text"]).to_pylist()
    start = time.perf_counter()
    _, report = cluster_ids(table)
    ours = time.perf_counter() - start
    bands, rows = bands_for(DEFAULT_THRESHOLD)
    start = time.perf_counter()
    lsh = MinHashLSH(num_perm=PERMUTATIONS, params=(bands, rows))
    found = 0
    for i, key in enumerate(keys):
        m = MinHash(num_perm=PERMUTATIONS)
        m.update_batch([key[p:p + SHINGLE].encode("utf-8")
                        for p in range(max(len(key) - SHINGLE + 1, 1))])
        found += bool(lsh.query(m))
        lsh.insert(str(i), m)
    theirs = time.perf_counter() - start
    n = table.num_rows
    print(f"[vs datasketch] {n:,} sentences, same 32 permutations, {bands}x{rows} bands "
          f"({load()})")
    print(f"  corpus.duplicates.cluster_ids  {ours:6.2f} s {n / ours:10,.0f} sentences/s "
          f"({report.clustered:,} clustered)")
    print(f"  datasketch MinHash + MinHashLSH {theirs:6.2f} s {n / theirs:10,.0f} sentences/s "
          f"({found:,} had a candidate)")
    print(f"  ratio (same run): {theirs / ours:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--sample", type=int, default=20_000,
                        help="sentences for the datasketch comparison")
    args = parser.parse_args()
    articles = generate(int(args.size_mb * 1e6))
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        ratios = {}
        ratios["repeats"], _ = run("repeats", articles, Path(tmp))
        ratios["distinct"], ws = run("distinct", distinct(articles), Path(tmp))
        del articles
        versus_datasketch(ws, args.sample)
    worst = min(ratios.values())
    print(f"clustering keeps up with split: {'met' if worst > 1 else 'MISSED'} "
          f"(slowest ratio {worst:.2f}x; {load()})")


if __name__ == "__main__":
    main()
