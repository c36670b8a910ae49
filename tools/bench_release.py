"""Benchmark `corpus release` and `corpus.load` on ~1M synthetic annotations.

Generates a temporary workspace (300k sentences, 3-4 annotators each, realistic
label mix, shuffled row order), then in fresh child processes times the release
build (seconds, CPU, peak RSS) and ``corpus.load`` of the train split.

    .venv/bin/python tools/bench_release.py [--sentences 300000] [--keep DIR]

Targets (issue 15): build <= 5 s and <= 2 GB peak RSS, load <= 0.3 s; each also printed
as a ratio to pyarrow's own read of the same files in the same run (a fresh interpreter
each: the workspace tables for the build, the split's data file for the load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

BUILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from corpus.releases.build import release
t1 = time.perf_counter(); c1 = time.process_time()
info = release(sys.argv[1], "bench")
t2 = time.perf_counter(); c2 = time.process_time()
print(json.dumps({"seconds": t2 - t1, "cpu": c2 - c1, "import": t1 - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": info.rows, "timings": info.timings, "path": str(info.path)}))
"""

PYARROW = """
import json, sys, time
import pyarrow.parquet as pq
paths = sys.argv[1].split("\x1f")
t0 = time.perf_counter()
rows = sum(pq.read_table(p).num_rows for p in paths)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows}))
"""

LOAD = """
import json, resource, sys, time
from corpus.releases.reader import load
t0 = time.perf_counter()
table = load(sys.argv[1], split="train")
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "rows": table.num_rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, arg: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON it prints last."""
    wall = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        sys.exit(f"child failed:\n{res.stderr}")
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_wall"] = time.perf_counter() - wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=300_000)
    ap.add_argument("--extra-share", type=float, default=0.34,
                    help="share of sentences with a 4th annotator (0.34 -> ~1.0M rows)")
    ap.add_argument("--annotators", type=int, default=40)
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.factories
    from tests.factories import make_workspace

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-release-"))
    try:
        t = time.perf_counter()
        ws = make_workspace(root / "ws", n_sentences=args.sentences, annotators_per_sentence=3,
                            extra_annotator_share=args.extra_share,
                            n_annotators=args.annotators, seed=42, shuffle=True)
        n_rows = pq.ParquetFile(ws.annotations).metadata.num_rows
        print(f"generated {n_rows:,} annotation rows over {args.sentences:,} sentences "
              f"in {time.perf_counter() - t:.1f} s -> {ws.root}")
        load1 = os.getloadavg()[0]
        build = child(BUILD, str(ws.root))
        load = child(LOAD, str(ws.releases_dir / "bench"))
        raw_build = child(PYARROW, "\x1f".join([str(ws.sentences), str(ws.annotations)]))
        train = next((ws.releases_dir / "bench").glob("v*/data/train-*.parquet"))
        raw_load = child(PYARROW, str(train))
        load2 = os.getloadavg()[0]
        timings = build["timings"]
        print("\nphase                              wall s   cpu s")
        for k, v in timings.items():
            if not k.endswith(" (cpu)"):
                print(f"  {k:<32}{v:>7.2f}{timings.get(k + ' (cpu)', 0.0):>8.2f}")
        print(f"\n{'measure':<34}{'value':>12}  target")
        rows = [
            ("release build, wall (s)", build["seconds"], "<= 5", build["seconds"] <= 5),
            ("  pyarrow read of its inputs (s)", raw_build["seconds"], "", True),
            ("  ratio build / pyarrow read", build["seconds"] / raw_build["seconds"], "", True),
            ("release build, CPU user+sys (s)", build["cpu"], "", True),
            ("release peak RSS (MB)", build["peak_rss_mb"], "<= 2048",
             build["peak_rss_mb"] <= 2048),
            ("  + interpreter/imports (s)", build["import"], "", True),
            ("corpus.load train split (s)", load["seconds"], "<= 0.3", load["seconds"] <= 0.3),
            ("  pyarrow read_table of the file (s)", raw_load["seconds"], "", True),
            ("  ratio load / pyarrow read", load["seconds"] / raw_load["seconds"], "", True),
            ("  train rows", load["rows"], "", True),
        ]
        for name, value, target, ok in rows:
            mark = "" if not target else ("ok" if ok else "MISSED")
            print(f"{name:<34}{value:>12,.2f}  {target} {mark}")
        print(f"\nload average (1 min) before/after: {load1:.2f} / {load2:.2f} "
              f"on {os.cpu_count()} CPUs (a shared machine inflates wall times)")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
