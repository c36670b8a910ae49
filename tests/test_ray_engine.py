"""`corpus split --engine ray`: a real local Ray cluster runs the same pure function as
the local process pool, and the sentence rows (ids, offsets, text, tokens, language) are
the local path's, row for row."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from robust_helpers import seed_variant, write_jsonl
from typer.testing import CliRunner

from corpus.articles.ingestion import ingest
from corpus.cli.main import app
from corpus.engines import ARTICLE_COLUMNS, SplitBatch, sentences_from_articles
from corpus.extras import MissingExtra
from corpus.sentences import split
from corpus.workspace import Workspace


@pytest.fixture(scope="module")
def ray_local() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    from corpus.engines.ray_engine import start_ray

    start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def articles_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("ray")
    rows = [{"id": f"a{i}", "title": f"标题{i}", "text": seed_variant(i)} for i in range(40)]
    rows.append({"id": "mixed", "text": "英伟达发布新芯片。NVIDIA released a new chip today. "
                 "The H20 is for China.\n\n黄仁勋说：2025-08-08发布。"})
    rows.append({"id": "big", "text": "很长的文章。" * 40_000})  # 720 kB: over a 0.5 MB limit
    ws = Workspace(root / "ws")
    report = ingest([write_jsonl(root / "in.jsonl", rows)], ws)
    assert not report.failed and report.total_articles == 42
    return ws


def _rows(path: Path) -> list[dict[str, object]]:
    return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]


def test_ray_split_rows_equal_the_local_pool(ray_local: object, articles_ws: Workspace,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("corpus.sentences.RAY_BLOCK_CHARS", 40_000)  # ~9 blocks, in order
    local_report = split(articles_ws, workers=2, max_article_mb=0.5)
    local = _rows(articles_ws.sentences)
    ray_report = split(articles_ws, engine="ray", workers=2, max_article_mb=0.5)
    on_ray = _rows(articles_ws.sentences)
    assert len(local) > 1000
    assert on_ray == local  # ids, offsets, text, kind, tokens, lang; same order
    assert {r["article_id"] for r in local} == {f"a{i}" for i in range(40)} | {"mixed"}
    assert [aid for aid, _ in ray_report.skipped] == ["big"] == [
        aid for aid, _ in local_report.skipped]
    assert (ray_report.sentences, ray_report.headings, ray_report.characters) == (
        local_report.sentences, local_report.headings, local_report.characters)
    mixed = [r for r in on_ray if r["article_id"] == "mixed"]
    assert {r["lang"] for r in mixed} == {"zh", "en"}
    assert "2025-08-08" in mixed[-1]["tokens"]  # type: ignore[operator]


def test_ray_writes_a_parquet_folder_from_a_uri(ray_local: object, articles_ws: Workspace,
                                                tmp_path: Path) -> None:
    from corpus.engines.ray_engine import split_to_folder

    split(articles_ws, workers=1)
    out = tmp_path / "sentences-out"
    split_to_folder(articles_ws.articles.resolve().as_uri(), out.as_uri())
    folder = pq.read_table(out)
    written = folder.to_pylist()
    local = _rows(articles_ws.sentences)
    key = lambda r: (r["article_id"], r["start"])  # noqa: E731
    # the folder holds the engine's rows; clusters need the whole table, as split adds them
    assert sorted(written, key=key) == sorted(
        ({k: v for k, v in r.items() if k != "cluster_id"} for r in local), key=key)
    from corpus.duplicates import cluster_ids

    order = pc.sort_indices(folder, sort_keys=[("article_id", "ascending"),
                                               ("start", "ascending")])
    folder = folder.take(order)
    ids, _ = cluster_ids(folder)
    assert dict(zip(folder["sentence_id"].to_pylist(), ids.to_pylist(), strict=True)) == {
        r["sentence_id"]: r["cluster_id"] for r in local}


def test_cli_split_engine_ray(ray_local: object, articles_ws: Workspace) -> None:
    split(articles_ws, workers=1)
    local = _rows(articles_ws.sentences)
    result = CliRunner().invoke(app, ["split", "--workspace", str(articles_ws.root),
                                      "--engine", "ray", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "42 articles" in result.output
    assert _rows(articles_ws.sentences) == local
    bad = CliRunner().invoke(app, ["split", "--workspace", str(articles_ws.root),
                                   "--engine", "spark"])
    assert bad.exit_code != 0 and "spark" in bad.output


def test_the_pure_function_is_what_the_pool_runs(articles_ws: Workspace) -> None:
    split(articles_ws, workers=2)
    table = pq.read_table(articles_ws.articles, columns=ARTICLE_COLUMNS).slice(0, 5)
    fn = SplitBatch.from_options()
    shipped = pickle.loads(pickle.dumps(fn))
    assert shipped == fn and shipped.userdict and shipped.tokenizer == "rjieba"
    out = shipped(table)
    assert isinstance(out, pa.RecordBatch)
    assert out.equals(sentences_from_articles(table))
    assert out.equals(sentences_from_articles(table.to_batches()[0]))
    again = list(fn.map_batches(iter(table.to_batches(max_chunksize=2))))
    assert pa.Table.from_batches(again).equals(pa.Table.from_batches([out]))
    assert out.num_rows == sum(1 for r in _rows(articles_ws.sentences)
                               if r["article_id"] in set(table.column("article_id").to_pylist()))


def test_without_ray_the_error_names_the_extra(articles_ws: Workspace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # fault injection: ray not installed
    with pytest.raises(MissingExtra, match="ray") as err:
        split(articles_ws, engine="ray")
    assert err.value.hint == "pip install 'claim-corpus[ray]'"
