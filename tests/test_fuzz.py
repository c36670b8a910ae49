"""Coverage-guided fuzzing with atheris: 100,000 inputs between the segmenter and ingest.

The fuzz targets (tools/fuzz.py) assert the offset and cleaning invariants themselves;
atheris exits non-zero and prints the crashing input if any input breaks them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_68e5fa63c6607158.txt"
SNIPPETS = [
    "他说：“芯片不存在后门。”然后离开了。",
    "《英伟达！》一书出版了。GDP是18.77万亿美元，1,299.00元，３．５%。",
    "Dr. Smith met U.S. officials at 10:30 p.m. on 2025.09.23. See https://e.com/a.b?x=1.",
    "1. 第一条\n2）第二条\n(3) 第三条\n短标题\n硬换行的句子没有\n结束标点。",
    "真的吗？？！！「引号里。还有」（括号。）【方括号！】……\n\n",
]


@pytest.mark.parametrize(("target", "runs"), [("segment", 60_000), ("ingest", 40_000)])
def test_atheris_fuzz(target: str, runs: int, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = SEED.read_bytes()
    for i in range(0, len(seed), 2000):
        (corpus / f"seed{i}").write_bytes(seed[i:i + 2000])
    for i, snippet in enumerate(SNIPPETS):
        (corpus / f"snippet{i}").write_bytes(snippet.encode("utf-8"))
        (corpus / f"snippet{i}.gbk").write_bytes(snippet.encode("gb18030"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fuzz.py"), target, f"-runs={runs}",
         "-max_len=4096", "-timeout=10", "-seed=1234", str(corpus)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"Done {runs} runs" in result.stderr
