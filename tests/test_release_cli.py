"""CliRunner tests of `corpus release`, `versions`, `diff`, `verify`, `stats`."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from factories import make_workspace
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.releases.model import data_file

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.fixture(scope="module")
def ws_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "ws"
    make_workspace(root, n_sentences=200, sentences_per_article=5, seed=11)
    code, output = invoke("release", "claims", "-w", str(root), "--split", "70/15/15",
                          "-m", "first")
    assert code == 0, output
    assert "released claims v0001: 200 sentences" in output
    return root


def test_release_refuses_identical(ws_root: Path) -> None:
    code, output = invoke("release", "claims", "-w", str(ws_root), "--split", "70/15/15")
    assert code == 1
    assert "would be identical to v0001" in output and "fix:" in output


def test_release_second_version_and_versions_and_diff(ws_root: Path) -> None:
    code, output = invoke("release", "claims", "-w", str(ws_root), "--min-annotations", "3",
                          "--split", "70/15/15", "-m", "three or more")
    assert code == 0, output
    assert "v0002" in output
    code, output = invoke("versions", "claims", "-w", str(ws_root))
    assert code == 0, output
    assert "v0001" in output and "v0002" in output and "three" in output
    code, output = invoke("diff", "claims", "v1", "v2", "-w", str(ws_root), "--limit", "3")
    assert code == 0, output
    assert "v0001 -> v0002:" in output and "removed" in output


def test_bad_split_option(ws_root: Path) -> None:
    code, output = invoke("release", "other", "-w", str(ws_root), "--split", "80-20")
    assert code == 2 and "80/10/10" in output  # bad usage


def test_verify_ok_and_tampered(ws_root: Path) -> None:
    code, output = invoke("verify", "claims", "-w", str(ws_root))
    assert code == 0, output
    assert output.count("ok ") == 2
    victim = ws_root / "releases" / "claims" / "v0001" / data_file("test")
    original = victim.read_bytes()
    victim.chmod(0o644)                         # released files are read-only (0444)
    try:
        victim.write_bytes(original[:-10] + b"0123456789")
        code, output = invoke("verify", "claims", "v1", "-w", str(ws_root))
        assert code == 1
        assert f"{victim} was modified" in output.replace("\n", "")
        code, output = invoke("verify", "claims", "v2", "-w", str(ws_root))
        assert code == 0, output
    finally:
        victim.write_bytes(original)


def test_stats_prints_tables_and_writes_png_only_when_asked(ws_root: Path,
                                                            tmp_path: Path) -> None:
    before = sorted(p.name for p in (ws_root / "releases" / "claims").iterdir())
    code, output = invoke("stats", "claims", "v1", "-w", str(ws_root))
    assert code == 0, output
    assert "label distribution" in output and "Krippendorff" in output and "claim" in output
    assert "v0001/docs/stats.png" in output.replace("\n", "")  # the version's own chart
    assert sorted(p.name for p in (ws_root / "releases" / "claims").iterdir()) == before
    target = tmp_path / "chart.png"
    code, output = invoke("stats", "claims", "-w", str(ws_root), "--png", str(target))
    assert code == 0, output
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_unknown_version_and_release(ws_root: Path) -> None:
    code, output = invoke("stats", "claims", "v9", "-w", str(ws_root))
    assert code == 1 and "available: v0001, v0002" in output
    code, output = invoke("versions", "nope", "-w", str(ws_root))
    assert code == 1 and "no released versions" in output


def test_release_without_annotations(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    make_workspace(root, n_sentences=10)
    (root / "annotations.parquet").unlink()
    code, output = invoke("release", "claims", "-w", str(root))
    assert code == 1 and "annotations.parquet does not exist" in output
    assert "corpus pull" in output
    assert pq.read_schema(root / "sentences.parquet").names[0] == "sentence_id"


def test_diff_shows_text_and_old_to_new_labels(tmp_path: Path) -> None:
    """A relabelled sentence is listed with its text and `claim: old -> new`; the library
    gives the same as data (old and new label per changed field)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from corpus.releases.reader import diff, load

    root = tmp_path / "ws"
    make_workspace(root, n_sentences=30, sentences_per_article=5, seed=3)
    assert invoke("release", "d", "-w", str(root), "--split", "1/0/0")[0] == 0
    v1 = load(root / "releases" / "d", 1, "train")
    row = next(r for r in v1.to_pylist() if r["claim"] is not None)
    new = "unsure" if row["claim"] != "unsure" else "claim"
    path = root / "annotations.parquet"
    ann = pq.read_table(path)
    mine = pc.equal(ann["sentence_id"], row["sentence_id"])
    claim = pc.if_else(mine, pa.scalar(new, ann["claim"].type), ann["claim"])
    pq.write_table(ann.set_column(ann.column_names.index("claim"), "claim", claim), path)
    assert invoke("release", "d", "-w", str(root), "--split", "1/0/0")[0] == 0

    d = diff(root / "releases" / "d", 1, 2)
    assert d.relabelled == [row["sentence_id"]]
    assert d.changes[row["sentence_id"]]["claim"] == (row["claim"], new)
    assert d.texts[row["sentence_id"]] == row["text"]
    code, output = invoke("diff", "d", "v1", "v2", "-w", str(root))
    assert code == 0, output
    flat = " ".join(output.split())
    assert f"claim: {row['claim']} -> {new}" in flat
    assert " ".join(row["text"].split())[:8] in flat  # (a narrow terminal wraps it)
