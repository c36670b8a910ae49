"""Benchmark: segmentation, tokenisation and ingest+split throughput on generated Chinese news.

The corpus (default 50 MB of UTF-8) is generated at run time from seeds/ by shuffling
paragraphs and varying numbers, so no two articles are duplicates. Nothing is committed.

Prints MB/s (MB = 10**6 bytes of UTF-8 input) for:
  * corpus.segment alone (one process),
  * jieba tokenisation alone (one process, on a sample),
  * `corpus ingest` + `corpus split` end to end (a child process; its peak RSS too),
and the same-run ratio against pysbd (lang "zh") and spaCy's sentencizer on a blank
"zh" pipeline, measured on the same sample.

Usage: .venv/bin/python tools/bench_segment.py [--size-mb 50] [--sample-mb 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.articles.clean import clean_article  # noqa: E402
from corpus.text.normalize import normalize  # noqa: E402
from corpus.text.segmenter import segment  # noqa: E402
from corpus.text.tokenizer import tokenize_many  # noqa: E402


def generate(target_bytes: int, seed: int = 7) -> list[str]:
    """Articles built from the seed articles' paragraphs, each one different."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        body = clean_article(normalize(path.read_text(encoding="utf-8"))).text
        paragraphs.extend(p for p in body.split("\n\n") if p.strip())
    articles: list[str] = []
    size = 0
    n = 0
    while size < target_bytes:
        n += 1
        picked = rng.sample(paragraphs, k=min(len(paragraphs), rng.randint(12, 30)))
        text = "\n\n".join(
            re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 9)), p) for p in picked
        )
        text = f"第{n}篇：{text}"
        articles.append(text)
        size += len(text.encode("utf-8"))
    return articles


def mb(texts: list[str]) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def rate(label: str, texts: list[str], fn: Callable[[list[str]], object]) -> float:
    """Print wall and CPU throughput; return MB per CPU second (robust on a shared machine)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    fn(texts)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"{label:<40} {mb(texts):6.1f} MB {seconds:7.2f} s wall {mb(texts) / seconds:7.2f} MB/s"
          f" | {cpu:7.2f} s CPU {mb(texts) / cpu:7.2f} MB/s", flush=True)
    return mb(texts) / cpu


def sample_of(articles: list[str], sample_mb: float) -> list[str]:
    out: list[str] = []
    size = 0.0
    for text in articles:
        if size >= sample_mb:
            break
        out.append(text)
        size += len(text.encode("utf-8")) / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--sample-mb", type=float, default=4.0,
                        help="sample for jieba, pysbd and spaCy (they are slow)")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()

    articles = generate(int(args.size_mb * 1e6))
    sample = sample_of(articles, args.sample_mb)
    print(f"corpus: {len(articles):,} articles, {mb(articles):.1f} MB; "
          f"sample: {len(sample):,} articles, {mb(sample):.1f} MB", flush=True)

    seg_full = rate("corpus.segment (full corpus)", articles,
                    lambda ts: [segment(t) for t in ts])
    seg_sample = rate("corpus.segment (sample)", sample, lambda ts: [segment(t) for t in ts])
    sentences = [s.text for t in sample for s in segment(t)]
    tokenize_many(["预热"])  # load jieba's dictionary outside the timing
    rate("jieba tokenisation (sample sentences)", sentences, tokenize_many)

    import pysbd

    sbd = pysbd.Segmenter(language="zh", clean=False, char_span=False)
    pysbd_speed = rate("pysbd zh (sample)", sample, lambda ts: [sbd.segment(t) for t in ts])

    import spacy

    nlp = spacy.blank("zh")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**8
    spacy_speed = rate("spaCy blank zh + sentencizer (sample)", sample,
                       lambda ts: [list(d.sents) for d in nlp.pipe(ts, batch_size=64)])

    print(f"\nratios by CPU time, same sample, same run (load average {os.getloadavg()[0]:.1f}):")
    print(f"ratio corpus.segment / pysbd   : {seg_sample / pysbd_speed:8.1f}x")
    print(f"ratio corpus.segment / spaCy   : {seg_sample / spacy_speed:8.1f}x")
    print(f"segmentation target >= 20 MB/s : {'met' if seg_full >= 20 else 'MISSED'} "
          f"({seg_full:.1f} MB per CPU second, one process)")

    if args.skip_e2e:
        return
    with tempfile.TemporaryDirectory(prefix="bench-segment-") as tmp:
        src = Path(tmp) / "corpus.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for i, text in enumerate(articles):
                fh.write(json.dumps({"id": f"b{i}", "title": f"标题{i}", "text": text},
                                    ensure_ascii=False) + "\n")
        del articles, sample, sentences
        cmd = [sys.executable, "-m", "corpus.cli.main", "ingest", str(src),
               "--workspace", str(Path(tmp) / "ws")]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        tree_peak, one_peak = sample_tree_rss(proc)
        if proc.wait() != 0:
            raise SystemExit(f"ingest failed with exit code {proc.returncode}")
        seconds = time.perf_counter() - start
        size = src.stat().st_size / 1e6
        print(f"\n{'ingest + split (CLI, all cores)':<40} {size:6.1f} MB {seconds:7.2f} s wall "
              f"{size / seconds:7.2f} MB/s (load average {os.getloadavg()[0]:.1f})")
        print(f"peak RSS (sampled every 0.1 s): whole process tree {tree_peak / 1e6:.0f} MB, "
              f"largest single process {one_peak / 1e6:.0f} MB; target < 1500 MB for 1 GB")


def sample_tree_rss(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Peaks of the summed RSS of ``proc`` + descendants and of any one of them, polled.

    (``getrusage(RUSAGE_CHILDREN)`` would count the fork of this process, which holds
    the whole generated corpus, before the child's exec.)
    """
    import psutil

    peak = single = 0
    try:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            for p in [parent, *parent.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                single = max(single, rss)
            peak = max(peak, total)
            time.sleep(0.1)
    except psutil.NoSuchProcess:
        pass
    return peak, single


if __name__ == "__main__":
    main()
