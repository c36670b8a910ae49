"""Split: the sentence table, its invariants, stability, parallel == serial; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.sentences import split
from corpus.storage.tables import SENTENCE_SCHEMA, sentence_id_for
from corpus.text.segmenter import sentence_text

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_68e5fa63c6607158.txt"


@pytest.fixture()
def seeded(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ingest([SEED], ws)
    return ws


def test_sentence_table_columns_and_offsets(seeded: Path) -> None:
    report = split(seeded)
    table = pq.read_table(seeded / "sentences.parquet")
    assert table.schema.remove_metadata() == SENTENCE_SCHEMA.remove_metadata()
    article = pq.read_table(seeded / "articles.parquet").to_pylist()[0]
    rows = table.to_pylist()
    assert report.sentences + report.headings == len(rows) > 40
    for row in rows:
        raw = article["text"][row["start"]:row["end"]]
        assert sentence_text(raw) == row["text"]
        assert row["article_id"] == article["article_id"]
        assert row["sentence_id"] == sentence_id_for(row["article_id"], row["start"], row["end"],
                                                     raw)
        assert row["tokens"] and "".join(row["tokens"]) == "".join(row["text"].split())
        assert row["lang"] == "zh"
    headings = [r["text"] for r in rows if r["kind"] == "heading"]
    assert "拒绝与英伟达合作" in headings
    assert "为什么说特朗普败光了美唯一优势" in headings
    first = rows[0]
    assert first["text"] == ("黄仁勋这两天又火了,前阵子为了能继续在我国市场做生意,老黄费了九牛二虎之力"
                             "游说美国政府,还搞出了专供我国的“阉割版”H20芯片。")
    assert (first["para_idx"], first["sent_idx"], first["start"]) == (0, 0, 0)
    assert "英伟达" in rows[2]["tokens"] or any("英伟达" in r["tokens"] for r in rows[:5])
    assert any("黄仁勋" in r["tokens"] for r in rows[:3])
    assert any("H20" in r["tokens"] for r in rows[:3])


def test_split_is_deterministic_and_ids_are_stable(seeded: Path) -> None:
    split(seeded)
    first = pq.read_table(seeded / "sentences.parquet")
    split(seeded)
    assert pq.read_table(seeded / "sentences.parquet").equals(first)


def test_parallel_split_equals_serial(tmp_path: Path) -> None:
    src = tmp_path / "many.jsonl"
    base = SEED.read_text(encoding="utf-8")
    src.write_text("\n".join(json.dumps({"id": f"x{i}", "text": f"第{i}篇。{base}"},
                                        ensure_ascii=False) for i in range(6)), encoding="utf-8")
    ws = tmp_path / "ws"
    ingest([src], ws)
    split(ws, workers=1)
    serial = pq.read_table(ws / "sentences.parquet")
    split(ws, workers=2)
    assert pq.read_table(ws / "sentences.parquet").equals(serial)


def test_length_cap_applies(tmp_path: Path) -> None:
    f = tmp_path / "long.txt"
    f.write_text("标题\n\n" + "很长的一句话，" * 200 + "结束。", encoding="utf-8")
    ingest([f], tmp_path / "ws")
    split(tmp_path / "ws", max_len=50)
    lengths = pq.read_table(tmp_path / "ws" / "sentences.parquet").column("text").to_pylist()
    assert max(len(t) for t in lengths) <= 50


def test_cli_ingest_and_split(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(SEED), "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "split: 1 articles ->" in result.output
    assert (tmp_path / "ws" / "sentences.parquet").exists()
    again = runner.invoke(app, ["ingest", str(SEED), "--workspace", str(tmp_path / "ws")])
    assert again.exit_code == 0
    assert "is the same article as" in again.output


def test_cli_ingest_exit_code_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "好的文章。"}\n{oops\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(bad), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert f"{bad}:2: malformed JSON at column 2" in result.output
    assert pq.read_table(tmp_path / "ws" / "articles.parquet").num_rows == 1


def test_cli_split_without_articles_names_the_fix(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["split", "-w", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'empty' / 'articles.parquet'} does not exist" in result.output
    assert "fix: run `corpus ingest PATH` first" in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line, naming the fix


def test_cli_segment_stdin_jsonl() -> None:
    result = CliRunner().invoke(app, ["segment", "-"], input="第一句。第二句！\n\n标题\n".encode())
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"text": "第一句。", "start": 0, "end": 4, "kind": "sentence", "para_idx": 0, "sent_idx": 0},
        {"text": "第二句！", "start": 4, "end": 8, "kind": "sentence", "para_idx": 0, "sent_idx": 1},
        {"text": "标题", "start": 10, "end": 12, "kind": "heading", "para_idx": 1, "sent_idx": 0},
    ]
