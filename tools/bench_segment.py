"""Benchmark: segmentation, tokenisation and ingest+split throughput on generated Chinese news.

The corpus (default 50 MB of UTF-8) is generated at run time from seeds/ by shuffling
paragraphs and varying numbers, so no two articles are duplicates. Nothing is committed.

Prints MB/s (MB = 10**6 bytes of UTF-8 input) for:
  * corpus.segment alone (one process),
  * rjieba and jieba tokenisation alone (one process, on a sample; same-run ratio),
  * where the time of ingest + split goes, stage by stage (one process, on the sample:
    decode, clean, ingest bookkeeping, articles Parquet, segment, sentence rows,
    tokenise, sentences Parquet),
  * `corpus ingest` + split end to end (the CLI in a child process; peak RSS of its
    whole process tree too), and the same pipeline with jieba as tokenizer (the path
    before rjieba; library calls in a child process, as the CLI makes them): same-run ratio,
and the same-run ratio against pysbd (lang "zh") and spaCy's sentencizer on a blank
"zh" pipeline, measured on the same sample.

Usage: .venv/bin/python tools/bench_segment.py [--size-mb 50] [--sample-mb 4]
       [--skip-e2e] [--skip-jieba-e2e] [--skip-peers]
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.articles.clean import clean_article  # noqa: E402
from corpus.text.normalize import normalize  # noqa: E402
from corpus.text.segmenter import segment  # noqa: E402
from corpus.text.tokenizer import tokenize_many  # noqa: E402

JIEBA_CHILD = """
import sys
from corpus.articles.ingestion import ingest
from corpus.sentences import split
ingest([sys.argv[1]], sys.argv[2])
split(sys.argv[2], tokenizer=sys.argv[3])
"""


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


BARE_SCAN = re.compile(r"[^。！？!?.\n]+[。！？!?.]*[”’」』）)]*")
"""The cheapest possible sentence scan (no rules): the machine-independent yardstick."""


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


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--sample-mb", type=float, default=4.0,
                        help="sample for jieba, pysbd, spaCy and the stage profile")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-jieba-e2e", action="store_true",
                        help="no end-to-end run with jieba (it takes ~7x longer)")
    parser.add_argument("--skip-peers", action="store_true", help="no pysbd / spaCy")
    parser.add_argument("--ray-mb", type=float, default=0.0,
                        help="also split this many MB on a local Ray with 1 and 2 workers "
                        "(speed-up; `ray` extra) and nothing else")
    args = parser.parse_args()
    if args.ray_mb:
        bench_ray(args.ray_mb)
        return

    articles = generate(int(args.size_mb * 1e6))
    sample = sample_of(articles, args.sample_mb)
    print(f"corpus: {len(articles):,} articles, {mb(articles):.1f} MB; "
          f"sample: {len(sample):,} articles, {mb(sample):.1f} MB ({load()})", flush=True)

    seg_full = rate("corpus.segment (full corpus)", articles,
                    lambda ts: [segment(t) for t in ts])
    seg_sample = rate("corpus.segment (sample)", sample, lambda ts: [segment(t) for t in ts])
    scan = rate("bare regex scan (sample)", sample, lambda ts: [BARE_SCAN.findall(t) for t in ts])
    print(f"ratio corpus.segment / bare regex scan (CPU, same sample, same run): "
          f"{seg_sample / scan:.3f} (the yardstick of issue 16: a new rule may cost <= 10%)")
    sentences = [s.text for t in sample for s in segment(t)]
    tokenize_many(["预热"])  # load the dictionaries outside the timing
    tokenize_many(["预热"], engine="jieba")
    rj_speed = rate("rjieba tokenisation (sample sentences)", sentences, tokenize_many)
    jb_speed = rate("jieba tokenisation (sample sentences)", sentences,
                    lambda ts: tokenize_many(ts, engine="jieba"))
    print(f"ratio rjieba / jieba (CPU, same sentences): {rj_speed / jb_speed:8.1f}x ({load()})")

    profile_stages(sample)

    if not args.skip_peers:
        import pysbd

        sbd = pysbd.Segmenter(language="zh", clean=False, char_span=False)
        pysbd_speed = rate("pysbd zh (sample)", sample, lambda ts: [sbd.segment(t) for t in ts])

        import spacy

        nlp = spacy.blank("zh")
        nlp.add_pipe("sentencizer")
        nlp.max_length = 10**8
        spacy_speed = rate("spaCy blank zh + sentencizer (sample)", sample,
                           lambda ts: [list(d.sents) for d in nlp.pipe(ts, batch_size=64)])

        print(f"\nratios by CPU time, same sample, same run ({load()}):")
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
        size = src.stat().st_size / 1e6
        cli = [sys.executable, "-m", "corpus.cli.main", "ingest", str(src),
               "--workspace", str(Path(tmp) / "ws")]
        fast = e2e("ingest + split (CLI, rjieba, all cores)", cli, size)
        if args.skip_jieba_e2e:
            print(f"pipeline target >= 2.8 MB/s     : {'met' if fast >= 2.8 else 'MISSED'}")
            return
        ref = [sys.executable, "-c", JIEBA_CHILD, str(src), str(Path(tmp) / "ws-jieba"),
               "jieba"]
        slow = e2e("ingest + split (library, jieba, all cores)", ref, size)
        print(f"ratio rjieba / jieba end to end (wall, same corpus, same run): "
              f"{fast / slow:.2f}x")
        print(f"pipeline target >= 2.8 MB/s     : {'met' if fast >= 2.8 else 'MISSED'}")


def bench_ray(size_mb: float) -> None:
    """`corpus split --engine ray` on a local Ray, 1 then 2 workers, and the local pool
    (1 and 2 processes) on the same workspace in the same run."""
    from corpus.articles.ingestion import ingest
    from corpus.engines.ray_engine import start_ray
    from corpus.sentences import split

    articles = generate(int(size_mb * 1e6))
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        src = Path(tmp) / "corpus.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for i, text in enumerate(articles):
                fh.write(json.dumps({"id": f"b{i}", "text": text}, ensure_ascii=False) + "\n")
        size = src.stat().st_size / 1e6
        ws = Path(tmp) / "ws"
        ingest([src], ws)
        start = time.perf_counter()
        start_ray(num_cpus=2)
        print(f"local Ray started in {time.perf_counter() - start:.1f} s ({load()})")
        split(ws, engine="ray", workers=1)  # warm: workers started, dictionary loaded
        figures: dict[str, float] = {}
        for label, kwargs in [("ray, 1 worker", {"engine": "ray", "workers": 1}),
                              ("ray, 2 workers", {"engine": "ray", "workers": 2}),
                              ("local, 1 process", {"workers": 1}),
                              ("local, 2 processes", {"workers": 2})]:
            start = time.perf_counter()
            split(ws, **kwargs)  # type: ignore[arg-type]
            seconds = time.perf_counter() - start
            figures[label] = seconds
            print(f"split {label:<22} {size:6.1f} MB {seconds:7.2f} s wall "
                  f"{size / seconds:7.2f} MB/s ({load()})", flush=True)
        print(f"speed-up ray 1 -> 2 workers  : "
              f"{figures['ray, 1 worker'] / figures['ray, 2 workers']:.2f}x")
        print(f"speed-up local 1 -> 2        : "
              f"{figures['local, 1 process'] / figures['local, 2 processes']:.2f}x")
        print(f"ray 2 workers / local 2 (wall): "
              f"{figures['local, 2 processes'] / figures['ray, 2 workers']:.2f}x")


def e2e(label: str, cmd: list[str], size: float) -> float:
    """Run ``cmd``; print its wall MB/s and peak RSS; return the MB/s."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=ROOT)
    tree_peak, one_peak = sample_tree_rss(proc)
    if proc.wait() != 0:
        raise SystemExit(f"{label} failed with exit code {proc.returncode}")
    seconds = time.perf_counter() - start
    print(f"\n{label:<40} {size:6.1f} MB {seconds:7.2f} s wall "
          f"{size / seconds:7.2f} MB/s ({load()})")
    print(f"peak RSS (sampled every 0.1 s): whole process tree {tree_peak / 1e6:.0f} MB, "
          f"largest single process {one_peak / 1e6:.0f} MB; target <= 1000 MB for 1 GB",
          flush=True)
    return size / seconds


def profile_stages(sample: list[str]) -> None:
    """CPU seconds of each stage of ingest + split on ``sample``, one process, in the order
    the pipeline runs them (the same functions the pipeline calls)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus.duplicates import Clusters, cluster_file
    from corpus.engines import sentences_from_articles
    from corpus.storage.tables import ARTICLE_SCHEMA, SENTENCE_SCHEMA, text_sha256
    from corpus.text.normalize import detect_lang

    lines = [json.dumps({"id": f"p{i}", "title": f"标题{i}", "text": t},
                        ensure_ascii=False).encode() for i, t in enumerate(sample)]
    size = sum(len(b) for b in lines) / 1e6
    stages: list[tuple[str, float]] = []

    def timed(name: str, fn: Callable[[], object]) -> object:
        start = time.process_time()
        out = fn()
        stages.append((name, time.process_time() - start))
        return out

    rows = timed("decode (UTF-8 + JSON)", lambda: [json.loads(b.decode()) for b in lines])
    assert isinstance(rows, list)
    cleaned = timed("clean (normalize + clean_article)",
                    lambda: [clean_article(normalize(r["text"]), detect_title=False,
                                           title=r["title"]) for r in rows])
    assert isinstance(cleaned, list)
    texts = [c.text for c in cleaned]
    meta = timed("ingest bookkeeping (hashes, language)",
                 lambda: [(text_sha256(t), hashlib.sha256(b).hexdigest(), detect_lang(t))
                          for t, b in zip(texts, lines, strict=True)])
    assert isinstance(meta, list)
    now = datetime.now(timezone.utc)
    table_rows = [{"article_id": f"p{i}", "source": "bench", "title": c.title,
                   "published_at": c.published_at, "tags": c.tags,
                   "references": c.references, "lang": m[2], "text": c.text,
                   "text_sha256": m[0], "raw_sha256": m[1], "encoding": "utf-8",
                   "ingested_at": now} for i, (c, m) in enumerate(zip(cleaned, meta,
                                                                    strict=True))]
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        def write_articles() -> None:
            with pq.ParquetWriter(Path(tmp) / "a.parquet", ARTICLE_SCHEMA,
                                  compression="zstd") as w:
                for i in range(0, len(table_rows), 256):
                    w.write_table(pa.Table.from_pylist(table_rows[i:i + 256],
                                                       schema=ARTICLE_SCHEMA))
        timed("articles -> Parquet", write_articles)
        articles = timed("Parquet -> article batches", lambda: pq.read_table(
            Path(tmp) / "a.parquet", columns=["article_id", "text", "lang"]))
        assert isinstance(articles, pa.Table)
        seg = timed("segment", lambda: [segment(t) for t in texts])
        assert isinstance(seg, list)
        sents = [s.text for ss in seg for s in ss]
        timed("tokenise (rjieba)", lambda: tokenize_many(sents))
        start = time.process_time()
        out = sentences_from_articles(articles)
        whole = time.process_time() - start
        done = dict(stages)
        stages.append(("sentence rows (ids, Arrow arrays)",
                       max(0.0, whole - done["segment"] - done["tokenise (rjieba)"])))
        raw = Path(tmp) / "raw.parquet"
        timed("sentences -> raw Parquet", lambda: pq.write_table(
            pa.Table.from_batches([out], schema=SENTENCE_SCHEMA), raw, compression="none"))
        found = timed("cluster repeats (out of core)", lambda: cluster_file(raw))
        assert isinstance(found, Clusters)

        def write_sentences() -> None:
            table = pq.read_table(raw)
            pq.write_table(table.append_column("cluster_id", found.ids()),
                           Path(tmp) / "s.parquet", compression="zstd")
        timed("+ cluster_id -> sentences.parquet", write_sentences)
    total = sum(t for _, t in stages)
    print(f"\nwhere the time goes: ingest + split of the sample ({size:.1f} MB as JSONL), "
          f"one process, CPU seconds ({load()}):")
    for name, seconds in stages:
        print(f"  {name:<40} {seconds:6.2f} s {100 * seconds / total:5.1f}%")
    print(f"  {'total':<40} {total:6.2f} s = {size / total:.2f} MB per CPU second", flush=True)


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
