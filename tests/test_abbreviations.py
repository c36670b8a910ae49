"""Abbreviations are data: shipped per language in schema/, extensible by the user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.cli.main import app
from corpus.errors import ConfigError
from corpus.resources import ABBREVIATIONS, resource_path
from corpus.text.segmenter import (
    ABBREVIATIONS_ENV,
    read_abbreviations,
    segment,
    use_abbreviations,
)

TEXT = "We met Supt. Brown at the station. He was late."


@pytest.fixture
def restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ABBREVIATIONS_ENV, raising=False)
    yield
    monkeypatch.delenv(ABBREVIATIONS_ENV, raising=False)
    use_abbreviations()


def _own(tmp_path: Path) -> Path:
    path = tmp_path / "mine.txt"
    path.write_text("# my newsroom's abbreviations\n[title]\nSupt.\n", encoding="utf-8")
    return path


def test_shipped_file_holds_the_rules_the_segmenter_uses() -> None:
    shipped = read_abbreviations(resource_path(ABBREVIATIONS[0]))
    assert {"dr", "e.g"} <= shipped["title"] and "inc" in shipped["other"]
    assert shipped["cased"] == {"No", "Nos"} and "p" in shipped["number"]
    assert [s.text for s in segment("Dr. Li came. He left.")] == ["Dr. Li came.", "He left."]


def test_own_file_extends_the_shipped_ones(tmp_path: Path, restored: None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert segment(TEXT)[0].text == "We met Supt."
    use_abbreviations(_own(tmp_path))
    assert [s.text for s in segment(TEXT)] == ["We met Supt. Brown at the station.",
                                              "He was late."]
    assert segment("Dr. Li came. He left.")[0].text == "Dr. Li came."
    use_abbreviations()
    monkeypatch.setenv(ABBREVIATIONS_ENV, str(_own(tmp_path)))  # the setting, for workers
    use_abbreviations()
    assert len(segment(TEXT)) == 2


@pytest.mark.parametrize(("body", "where"), [
    ("supt\n", ":1: 'supt' is not an abbreviation under a section"),
    ("[titles]\nsupt\n", ":1: unknown section [titles]"),
    ("[title]\nsu pt\n", ":2:"),
])
def test_a_bad_file_names_its_line(tmp_path: Path, body: str, where: str,
                                   restored: None) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        use_abbreviations(path)
    assert f"{path}{where}" in str(exc.value) and exc.value.hint
    assert segment(TEXT)[0].text == "We met Supt."  # nothing half-loaded


def test_cli_split_takes_abbreviations(tmp_path: Path, restored: None) -> None:
    src = tmp_path / "a.txt"
    src.write_text(TEXT + "\n", encoding="utf-8")
    ws = tmp_path / "ws"
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(src), "-w", str(ws), "--no-split"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["split", "-w", str(ws), "--abbreviations", str(_own(tmp_path))])
    assert res.exit_code == 0, res.output
    texts = pq.read_table(ws / "sentences.parquet")["text"].to_pylist()
    assert texts == ["We met Supt. Brown at the station.", "He was late."]
    res = runner.invoke(app, ["split", "-w", str(ws), "--abbreviations", str(tmp_path / "no")])
    assert res.exit_code != 0 and "no: cannot read the abbreviations" in res.output
