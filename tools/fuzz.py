"""Coverage-guided fuzzing (atheris) of the segmenter and the ingest cleaning path.

    .venv/bin/python tools/fuzz.py both                 # 1,000,000 inputs on each target
    .venv/bin/python tools/fuzz.py segmenter --runs 60000 --seed 1234
    .venv/bin/python tools/fuzz.py clean --reproduce fuzz-artifacts/crash-<sha1>

Targets: ``segmenter`` (``corpus.segment`` on arbitrary unicode with a random cap) and
``clean`` (bytes -> decode -> normalize -> clean_article -> segment, the ingest path).
Every input must pass without an unexpected exception and with the invariants:
offsets exact, sentences ordered and non-overlapping, nothing but whitespace lost,
no sentence over the cap, cleaned text free of control characters and surrogates.

Each target runs in its own process (atheris fuzzes once per process) seeded with
``seeds/`` and a few hand-written snippets. The tool prints, per target, the inputs run,
exec/s and the result; a failing input is saved under ``--out`` (libFuzzer's
``crash-<sha1>`` file) and the tool exits 1. tests/test_fuzz.py runs it with fewer inputs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_68e5fa63c6607158.txt"
SNIPPETS = [
    "他说：“芯片不存在后门。”然后离开了。",
    "《英伟达！》一书出版了。GDP是18.77万亿美元，1,299.00元，３．５%。",
    "Dr. Smith met U.S. officials at 10:30 p.m. on 2025.09.23. See https://e.com/a.b?x=1.",
    "1. 第一条\n2）第二条\n(3) 第三条\n短标题\n硬换行的句子没有\n结束标点。",
    "真的吗？？！！「引号里。还有」（括号。）【方括号！】……\n\n",
]
TARGETS = ("segmenter", "clean")
ALIASES = {"segment": "segmenter", "ingest": "clean"}

_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b\ufeff\ud800-\udfff]")
_WS = re.compile(r"\s+")


# -- the property checks (run inside the instrumented child) ---------------------------


def check_segments(text: str, max_len: int) -> None:
    from corpus.text.segmenter import segment, sentence_text

    sentences = segment(text, max_len=max_len)
    pos = 0
    kept = []
    for s in sentences:
        assert sentence_text(text[s.start:s.end]) == s.text, (s, text)
        assert "\n" not in s.text and "\t" not in s.text and "  " not in s.text, ("unfolded", s)
        assert s.start >= pos, ("overlap or disorder", s)
        assert s.text and s.text == s.text.strip(), ("unstripped or empty", s)
        assert len(s.text) <= max_len, ("over the cap", len(s.text), max_len)
        assert not text[pos:s.start].strip(), ("lost text", text[pos:s.start])
        kept.append(s.text)
        pos = s.end
    assert not text[pos:].strip(), ("lost tail", text[pos:])
    assert _WS.sub("", "".join(kept)) == _WS.sub("", text)


def check_clean(data: bytes) -> None:
    from corpus.articles.clean import clean_article
    from corpus.articles.decode import decode_bytes
    from corpus.errors import InputError
    from corpus.text.normalize import normalize

    try:
        text, _ = decode_bytes(data, "fuzz.txt")
    except InputError:
        return
    cleaned = clean_article(normalize(text))
    for part in (cleaned.text, cleaned.title or "", *cleaned.tags, *cleaned.references):
        assert not _BAD_CHARS.search(part), ("control or surrogate survived", part)
        part.encode("utf-8")  # strict: what Parquet and Label Studio will need
    check_segments(cleaned.text, 300)


def fuzz_segmenter(data: bytes) -> None:
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    max_len = fdp.ConsumeIntInRange(8, 400)
    check_segments(fdp.ConsumeUnicodeNoSurrogates(len(data)), max_len)


def fuzz_clean(data: bytes) -> None:
    check_clean(data)


# -- the child: one atheris run ------------------------------------------------------


def _child(target: str, libfuzzer_args: list[str]) -> None:
    import atheris

    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports():
        import corpus.articles.clean
        import corpus.articles.decode
        import corpus.text.normalize
        import corpus.text.segmenter  # noqa: F401
    fn = fuzz_segmenter if target == "segmenter" else fuzz_clean
    atheris.Setup([sys.argv[0], *libfuzzer_args], fn)
    atheris.Fuzz()


# -- the driver ----------------------------------------------------------------------


def write_seed_corpus(folder: Path) -> None:
    """The starting inputs: the seed article in 2,000-byte pieces and the snippets (UTF-8, GBK)."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = SEED.read_bytes()
    for i in range(0, len(seed), 2000):
        (folder / f"seed{i}").write_bytes(seed[i:i + 2000])
    for i, snippet in enumerate(SNIPPETS):
        (folder / f"snippet{i}").write_bytes(snippet.encode("utf-8"))
        (folder / f"snippet{i}.gbk").write_bytes(snippet.encode("gb18030"))


_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_STATS = re.compile(r"^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED).*?exec/s: (\d+)", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


def run_target(target: str, *, runs: int, seed: int | None, max_len: int, out: Path,
               corpus_dir: Path, timeout_s: int) -> dict[str, Any]:
    """Fuzz one target in a child process; return its summary (and libFuzzer's log)."""
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(Path(__file__).resolve()), "--child", target,
            f"-runs={runs}", f"-max_len={max_len}", f"-timeout={timeout_s}",
            f"-artifact_prefix={out}/", "-print_final_stats=1"]
    if seed is not None:
        args.append(f"-seed={seed}")
    args.append(str(corpus_dir))
    log = out / f"{target}.log"
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as fh:  # libFuzzer's own progress, readable while it runs
        proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=fh, check=False)
    wall = time.monotonic() - started
    err = log.read_text(encoding="utf-8", errors="replace")
    done = _DONE.search(err)
    stats = _STATS.findall(err)
    artifact = _ARTIFACT.search(err)
    inputs = int(done.group(1)) if done else (int(stats[-1][0]) if stats else 0)
    return {
        "target": target,
        "ok": proc.returncode == 0 and done is not None,
        "returncode": proc.returncode,
        "inputs": inputs,
        "seconds": wall,
        "exec_per_s": inputs / wall if wall > 0 else 0.0,
        "artifact": artifact.group(1) if artifact else None,
        "stderr": err,
    }


def reproduce(target: str, path: Path) -> int:
    """Run the property check of ``target`` on one saved input; 0 if it passes."""
    sys.path.insert(0, str(ROOT))
    data = path.read_bytes()
    try:
        if target == "segmenter":
            import atheris

            fdp = atheris.FuzzedDataProvider(data)
            max_len = fdp.ConsumeIntInRange(8, 400)
            text = fdp.ConsumeUnicodeNoSurrogates(len(data))
            print(f"max_len={max_len} text={text!r}")
            check_segments(text, max_len)
        else:
            print(f"bytes={data!r}")
            check_clean(data)
    except Exception as exc:  # the finding itself, printed for the bug report
        print(f"FAILED: {type(exc).__name__}: {exc!r}"[:4000])
        return 1
    print("passes")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=[*TARGETS, "both", *ALIASES])
    parser.add_argument("--runs", type=int, default=1_000_000,
                        help="inputs per target (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=None, help="libFuzzer's random seed")
    parser.add_argument("--max-len", type=int, default=4096, help="largest input in bytes")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--out", type=Path, default=Path("fuzz-artifacts"),
                        help="folder for failing inputs (default ./fuzz-artifacts)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="starting inputs (default: generated from seeds/)")
    parser.add_argument("--reproduce", type=Path, default=None, metavar="FILE",
                        help="run the check on one saved input instead of fuzzing")
    opts = parser.parse_args(argv)
    if opts.runs < 1 or opts.max_len < 1 or opts.timeout < 1:
        parser.error("--runs, --max-len and --timeout must be at least 1")
    target = ALIASES.get(opts.target, opts.target)
    if opts.reproduce is not None:
        if target == "both":
            parser.error("--reproduce needs one target: segmenter or clean")
        return reproduce(target, opts.reproduce)
    targets = TARGETS if target == "both" else (target,)
    failed = False
    with tempfile.TemporaryDirectory(prefix="fuzz-corpus-") as tmp:
        corpus_dir = opts.corpus
        if corpus_dir is None:
            corpus_dir = Path(tmp)
            write_seed_corpus(corpus_dir)
        for name in targets:
            print(f"{name}: fuzzing {opts.runs:,} inputs (progress in {opts.out}/{name}.log) ...",
                  flush=True)
            res = run_target(name, runs=opts.runs, seed=opts.seed, max_len=opts.max_len,
                             out=opts.out.resolve(), corpus_dir=corpus_dir,
                             timeout_s=opts.timeout)
            line = (f"{name}: {res['inputs']:,} inputs in {res['seconds']:.0f} s, "
                    f"{res['exec_per_s']:,.0f} exec/s: ")
            if res["ok"]:
                print(line + "ok, no failure", flush=True)
                continue
            failed = True
            print(line + f"FAILED (exit {res['returncode']})", flush=True)
            tail = res["stderr"][-4000:]
            print(tail, file=sys.stderr)
            if res["artifact"]:
                print(f"{name}: failing input saved to {res['artifact']}; reproduce with: "
                      f"{sys.executable} {__file__} {name} --reproduce {res['artifact']}",
                      flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
