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
    import ray  # the `ray` extra is part of `dev`: missing is a failure, not a skip

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


# ---------------------------------------------------------------- ingest on Ray

_ARTICLE_KEYS = ("article_id", "source", "title", "published_at", "tags", "references",
                 "lang", "text", "text_sha256", "raw_sha256", "encoding")


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two JSONL files and a Parquet file of document records, with what goes wrong in
    real collections: a text repeated across files, an id reused for another text, a
    malformed line, a record without a body, a line over the size limit."""
    root = tmp_path_factory.mktemp("collection") / "docs"
    write_jsonl(root / "a.jsonl", [
        {"id": "d1", "title": "一", "text": seed_variant(1), "tags": ["芯片"]},
        {"id": "d2", "text": seed_variant(2), "url": "https://example.com/2"},
        {"id": "d3", "text": seed_variant(3), "published_at": "2025-08-08"}])
    with (root / "a.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"id": "broken", "text": "没有结束\n')            # malformed JSON
    write_jsonl(root / "b.jsonl", [
        {"id": "copy-of-d2", "text": seed_variant(2)},           # same text as a.jsonl:2
        {"id": "d1", "text": "另一篇文章，用了同一个编号。"},        # id used by another text
        {"id": "nobody", "title": "只有标题"},                      # no text or html
        {"id": "huge", "text": "很长。" * 200_000}])              # 1.2 MB > the 1 MB limit
    pq.write_table(pa.table({
        "id": ["p1", "p2", "p3"],
        "title": ["P1", None, "P3"],
        "text": [seed_variant(11), seed_variant(3), "English text. It has two sentences."],
        "tags": [["a", "b"], None, []]}), root / "c.parquet")
    (root / "notes.txt").write_text("not a document collection file", encoding="utf-8")
    return root


def _articles(table: pa.Table) -> list[dict[str, object]]:
    return table.select(list(_ARTICLE_KEYS)).to_pylist()  # type: ignore[no-any-return]


def test_ray_ingest_equals_the_local_ingest(ray_local: object, collection: Path,
                                            tmp_path: Path) -> None:
    from corpus.engines.ray_engine import ingest_documents

    files = [collection / "a.jsonl", collection / "b.jsonl", collection / "c.parquet"]
    local_ws, ray_ws = Workspace(tmp_path / "local"), Workspace(tmp_path / "ray")
    local = ingest(files, local_ws, max_article_mb=1)
    on_ray = ingest_documents([str(collection)], ray_ws, max_bytes=1_000_000, workers=2)
    assert _articles(pq.read_table(ray_ws.articles)) == _articles(
        pq.read_table(local_ws.articles))
    assert on_ray.added == local.added == ["d1", "d2", "d3", "p1", "p3"]
    assert on_ray.duplicates == local.duplicates  # b.jsonl:1 and c.parquet:2
    assert [d for d, _ in on_ray.duplicates] == [f"{collection}/b.jsonl:1",
                                                 f"{collection}/c.parquet:2"]
    assert sorted(p.message for p in on_ray.errors) == sorted(p.message for p in local.errors)
    assert len(on_ray.errors) == 4 and on_ray.files == 3  # notes.txt is not read
    # the next run is deduplicated against the workspace, across the cluster
    again = ingest_documents([str(collection)], ray_ws, max_bytes=1_000_000)
    assert again.added == [] and len(again.duplicates) == 7
    assert again.total_articles == 5 == pq.read_metadata(ray_ws.articles).num_rows
    # and the split of what Ray ingested is the local split, row for row
    split(local_ws, workers=1)
    split(ray_ws, engine="ray", workers=2)
    assert _rows(ray_ws.sentences) == _rows(local_ws.sentences)


def test_ray_ingest_writes_articles_and_sentences_folders(ray_local: object,
                                                          collection: Path,
                                                          tmp_path: Path) -> None:
    from corpus.engines.ray_engine import ingest_documents

    local_ws = Workspace(tmp_path / "local")
    ingest([collection / "a.jsonl", collection / "b.jsonl", collection / "c.parquet"],
           local_ws, max_article_mb=1)
    split(local_ws, workers=1)
    out = tmp_path / "out"
    report = ingest_documents([collection.as_uri()], output=out.as_uri(),
                              max_bytes=1_000_000)
    assert report.added == ["d1", "d2", "d3", "p1", "p3"]
    key = lambda r: (r["article_id"], r.get("start", 0))  # noqa: E731
    assert sorted(_articles(pq.read_table(out / "articles")), key=key) == sorted(
        _articles(pq.read_table(local_ws.articles)), key=key)
    # the workers' folder holds the engine's rows: no cluster_id (split adds it over a table)
    assert sorted(pq.read_table(out / "sentences").to_pylist(), key=key) == sorted(
        ({k: v for k, v in r.items() if k != "cluster_id"} for r in _rows(local_ws.sentences)),
        key=key)


def test_cli_ingest_engine_ray(ray_local: object, collection: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = CliRunner().invoke(app, ["ingest", str(collection), "--engine", "ray",
                                      "--max-article-mb", "1", "--workspace", str(ws)])
    assert result.exit_code == 1, result.output          # the bad records are errors
    assert "malformed JSON" in result.output and "b.jsonl:1 is the same article" in \
        result.output.replace("\n", "")
    assert pq.read_metadata(ws / "articles.parquet").num_rows == 5
    assert pq.read_metadata(ws / "sentences.parquet").num_rows > 100
    wrong = CliRunner().invoke(app, ["ingest", str(collection), "--output", str(tmp_path)])
    assert wrong.exit_code != 0 and "--engine ray" in wrong.output


def test_row_groups_are_cut_into_balanced_consecutive_pieces() -> None:
    from corpus.engines.row_groups import _balanced

    assert _balanced([10] * 8, 4) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert _balanced([10, 10], 5) == [[0], [1]]                  # never more than groups
    assert _balanced([100, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4]]
    assert _balanced([5], 3) == [[0]]
    cut = _balanced(list(range(1, 40)), 7)
    assert [i for run in cut for i in run] == list(range(39)) and len(cut) == 7


def test_one_file_is_read_on_the_workers_a_piece_of_row_groups_each(
        ray_local: object, articles_ws: Workspace, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace's single articles.parquet is read by several read tasks (no barrier
    before the split), in order: the rows equal the local pool's."""
    from corpus.engines.row_groups import RowGroups

    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True)
    table = pq.read_table(articles_ws.articles)
    pq.write_table(table, ws.articles, row_group_size=4)      # 11 row groups
    source = RowGroups.of_file(str(ws.articles), 4)
    assert source is not None and len(source.pieces) == 4
    assert [g for p in source.pieces for g in p] == list(range(11))
    assert sum(source.rows) == table.num_rows
    assert RowGroups.of_file(str(tmp_path), 4) is None          # a folder: read_parquet's
    monkeypatch.chdir(ws.root)
    relative = RowGroups.of_file("articles.parquet", 4)          # the workers' cwd differs
    assert relative is not None and relative.uri == str(ws.articles.resolve())
    split(ws, workers=2, max_article_mb=0.5)
    local = _rows(ws.sentences)
    monkeypatch.setattr("corpus.sentences.RAY_BLOCK_CHARS", 40_000)
    split(ws, engine="ray", workers=2, max_article_mb=0.5)
    assert _rows(ws.sentences) == local
