"""Coverage-guided fuzzing with atheris: 100,000 inputs between the segmenter and ingest.

tools/fuzz.py holds the property checks (offsets exact, nothing but whitespace lost, no
sentence over the cap, no control character or surrogate after cleaning) and the seed
inputs; this runs it with fewer inputs than its default 1,000,000 (see README). A
failure makes it exit 1, print the failing input's file and how to reproduce it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("target", "runs"), [("segmenter", 60_000), ("clean", 40_000)])
def test_atheris_fuzz(target: str, runs: int, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "fuzz.py"), target, "--runs", str(runs),
         "--seed", "1234", "--out", str(tmp_path / "artifacts")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert f"{target}: {runs:,} inputs in " in result.stdout
    assert "exec/s: ok, no failure" in result.stdout
    assert not list((tmp_path / "artifacts").glob("crash-*"))


def test_reproduce_runs_the_checks_on_one_saved_input(tmp_path: Path) -> None:
    """`--reproduce FILE` (what a failure report tells you to run) checks just that input."""
    saved = tmp_path / "input"
    saved.write_bytes(b"\x00\x01plain text.")
    ok = subprocess.run([sys.executable, str(ROOT / "tools" / "fuzz.py"), "clean",
                         "--reproduce", str(saved)], capture_output=True, text=True,
                        timeout=120, check=False)
    assert ok.returncode == 0 and "passes" in ok.stdout, ok.stdout + ok.stderr
