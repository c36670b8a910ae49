"""Benchmark: peak memory of `corpus ingest` and `corpus split` on one huge article.

Issue 11 item 12: a 200 MB single-line article used to peak at 2.5 GB in
`ingest --no-split` and over 5.7 GB in split. With the default `--max-article-mb 20`
it is refused (a .txt file from its size, a JSONL line in 1 MB reads), and an article
just under the limit is ingested and split within the 1.5 GB target. Each run is a
fresh `corpus` process; its peak RSS comes from ``os.wait4`` (the process and the
workers it waited for; split runs one process here: one article is one job).

    .venv/bin/python tools/bench_big_article.py [--size-mb 200] [--limit-mb 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_68e5fa63c6607158.txt"
TARGET_MB = 1500


def sentences() -> list[str]:
    """Sentences of the seed article's cleaned body (no boilerplate to cut the line at)."""
    sys.path.insert(0, str(ROOT))
    from corpus.articles.clean import clean_article
    from corpus.text.normalize import normalize

    body = clean_article(normalize(SEED.read_text(encoding="utf-8"))).text
    return [s + "。" for s in body.replace("\n", "").split("。") if len(s) > 8]


def write_line(path: Path, n_bytes: int, *, jsonl: bool = False) -> None:
    """One line of ``n_bytes`` of Chinese prose (varied so it is not one repeated run)."""
    parts = sentences()
    with path.open("w", encoding="utf-8") as fh:
        if jsonl:
            fh.write('{"id": "huge", "text": "')
        written, i = 0, 0
        while written < n_bytes:
            chunk = "".join(f"{s}第{i + k}句。" for k, s in enumerate(parts))
            fh.write(chunk)
            written += len(chunk.encode("utf-8"))
            i += len(parts)
        if jsonl:
            fh.write('"}\n' + json.dumps({"id": "small", "text": parts[0]},
                                         ensure_ascii=False))
        fh.write("\n")


def run(label: str, args: list[str]) -> None:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "corpus.cli.main", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    verdict = "ok" if peak_mb <= TARGET_MB else "OVER"
    print(f"{label:<52} exit {os.waitstatus_to_exitcode(status):>2}  {seconds:7.1f} s  "
          f"peak RSS {peak_mb:7.0f} MB ({verdict}, target <= {TARGET_MB} MB)", flush=True)
    for line in errors:
        print(f"    {line[:160]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=200.0, help="the huge article")
    parser.add_argument("--limit-mb", type=float, default=20.0,
                        help="the --max-article-mb in force (default: the default, 20)")
    parser.add_argument("--skip-at-limit", action="store_true",
                        help="skip ingest+split of an article just under the limit")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        folder = tmp / "in"
        folder.mkdir()
        (folder / "good.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
        huge = int(args.size_mb * 1e6)
        write_line(folder / "huge.txt", huge)
        write_line(tmp / "huge.jsonl", huge, jsonl=True)
        limit = ["--max-article-mb", f"{args.limit_mb:g}"]
        run(f"ingest --no-split, {args.size_mb:g} MB .txt + good.txt",
            ["ingest", str(folder), "-w", str(tmp / "ws1"), "--no-split", *limit])
        run(f"ingest --no-split, {args.size_mb:g} MB JSONL line + small",
            ["ingest", str(tmp / "huge.jsonl"), "-w", str(tmp / "ws2"), "--no-split", *limit])
        (folder / "huge.txt").unlink()
        (tmp / "huge.jsonl").unlink()
        if args.skip_at_limit:
            return
        near = int(args.limit_mb * 1e6 * 0.98)
        write_line(folder / "near.txt", near)
        run(f"ingest --no-split, {near / 1e6:.1f} MB .txt (under the limit)",
            ["ingest", str(folder), "-w", str(tmp / "ws3"), "--no-split", *limit])
        run(f"split, {near / 1e6:.1f} MB article (under the limit)",
            ["split", "-w", str(tmp / "ws3"), *limit])


if __name__ == "__main__":
    main()
