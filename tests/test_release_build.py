"""Building versions: layout, splits, readers (datasets, pandas, DuckDB, Polars), integrity,
immutability under SIGKILL and concurrent releases."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import annotation_rows_table, make_workspace, sentence_rows

from corpus.errors import IntegrityError, NothingToRelease, ReleaseError, WorkspaceError
from corpus.releases.build import release
from corpus.releases.manifest import read_manifest
from corpus.releases.model import SPLITS, data_file
from corpus.releases.reader import diff, load, verify, versions
from corpus.releases.splits import article_position, parse_ratios
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
EXPECTED_FILES = {
    "README.md", "manifest.json", "manifest.sha256", "annotations.parquet", "docs/stats.png",
    "data/train-00000-of-00001.parquet", "data/validation-00000-of-00001.parquet",
    "data/test-00000-of-00001.parquet",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One release v0001 of a 600-sentence synthetic workspace (read-only for tests)."""
    root = tmp_path_factory.mktemp("ws")
    ws = make_workspace(root, n_sentences=600, sentences_per_article=6, seed=1)
    info = release(ws, "claims", message="first cut")
    return info.path


def files_of(version_dir: Path) -> set[str]:
    return {p.relative_to(version_dir).as_posix() for p in version_dir.rglob("*") if p.is_file()}


def test_layout_and_manifest(built: Path) -> None:
    assert built.name == "v0001"
    assert files_of(built) == EXPECTED_FILES
    m = read_manifest(built)
    assert m["version"] == "v0001" and m["parent"] is None and m["message"] == "first cut"
    assert set(m["files"]) == EXPECTED_FILES - {"README.md", "manifest.json", "manifest.sha256"}
    assert m["rows"]["total"] == sum(m["rows"][s] for s in SPLITS) == 600
    assert all(m["rows"][s] > 0 for s in SPLITS)
    assert m["schema"]["name"] == "claims_stance" and len(m["schema"]["sha256"]) == 64
    assert m["agreement"]["krippendorff_alpha"]["claim"]["alpha"] is not None
    assert "Nvidia" in m["agreement"]["krippendorff_alpha"]["stance"]["per_target"]
    assert "quote" in m["agreement"]["krippendorff_alpha"]["claim_type"]["per_label"]
    assert m["agreement"]["pairwise"]["pairs"][0]["cohen_kappa"] is not None
    assert sum(m["labels"]["claim"]["all"].values()) == 600
    assert m["annotations"]["schema_versions"] == {"2": m["annotations"]["rows"]}
    card = (built / "README.md").read_text(encoding="utf-8")
    sidecar = (built / "manifest.sha256").read_text().split()
    assert f"manifest sha256 {sidecar[0]}" in card
    for needle in ("configs:", "dataset_info:", "num_examples", "read_parquet", "load_dataset",
                   "duckdb", "polars", "Krippendorff", "docs/stats.png", m["schema"]["sha256"],
                   "Citation", "`claim_votes`", "`agreement`", "`split`"):
        assert needle in card, needle
    assert (built / "docs/stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_release_column_is_described(built: Path) -> None:
    card = (built / "README.md").read_text(encoding="utf-8")
    body = card.split("## Columns", 1)[1].split("##", 1)[0]
    for name in pq.read_schema(built / data_file("train")).names:
        line = next(ln for ln in body.splitlines() if ln.startswith(f"| `{name}` |"))
        assert line.rstrip(" |").split("|")[-1].strip(), name


def test_splits_follow_article_hash(built: Path) -> None:
    table = load(built, split="all")
    rows = table.select(["article_id", "split"]).to_pylist()
    by_article: dict[str, set[str]] = {}
    for r in rows:
        by_article.setdefault(r["article_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_article.values())
    for article, (split,) in by_article.items():
        pos = article_position(article)
        assert split == ("train" if pos < 0.8 else "validation" if pos < 0.9 else "test")
    for s in SPLITS:
        assert set(load(built, split=s)["split"].to_pylist()) == {s}


def test_parse_ratios() -> None:
    assert parse_ratios("80/10/10") == pytest.approx((0.8, 0.1, 0.1))
    assert parse_ratios((7, 2, 1)) == pytest.approx((0.7, 0.2, 0.1))
    with pytest.raises(ReleaseError, match="80/10/10"):
        parse_ratios("80/20")


def _add_articles(ws: Workspace, first: int, n_articles: int, relabel: set[str] | None = None
                  ) -> None:
    """Append new articles (sentences + 2 annotations each); optionally flip some labels."""
    sentences = pq.read_table(ws.sentences)
    new = [r for a in range(first, first + n_articles) for r in sentence_rows(f"new{a}", 3)]
    merged = pa.concat_tables([sentences, pa.Table.from_pylist(new, schema=sentences.schema)])
    pq.write_table(merged, ws.sentences)
    ann = pq.read_table(ws.annotations)
    if relabel:
        ann = ann.to_pylist()
        for row in ann:
            if row["sentence_id"] in relabel:
                row["claim"] = "unsure"
        ann = pa.Table.from_pylist(ann, schema=pq.read_schema(ws.annotations))
    more = annotation_rows_table(
        [{"sentence_id": r["sentence_id"], "annotator": who, "claim": "claim",
          "annotation_id": 10_000_000 + i * 2 + j}
         for i, r in enumerate(new) for j, who in enumerate(("p@x.org", "q@x.org"))])
    pq.write_table(pa.concat_tables([ann, more.cast(ann.schema)]), ws.annotations)


def test_splits_stable_and_diff_across_versions(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=240, sentences_per_article=4, seed=2)
    v1 = release(ws, "claims")
    before = {r["sentence_id"]: r["split"]
              for r in load(v1.path, split="all").select(["sentence_id", "split"]).to_pylist()}
    relabel = {"s5", "s6"}
    _add_articles(ws, 0, 40, relabel)
    v2 = release(ws, "claims", message="more articles")
    assert (v2.version, v2.parent) == ("v0002", "v0001")
    after = {r["sentence_id"]: r["split"]
             for r in load(ws.releases_dir / "claims", split="all")
             .select(["sentence_id", "split"]).to_pylist()}
    assert len(after) == len(before) + 120
    assert all(after[sid] == split for sid, split in before.items())
    d = diff(ws.releases_dir / "claims", "v1", "v2")
    assert len(d.added) == 120 and d.removed == []
    assert set(d.relabelled) <= relabel      # only the flipped sentences can change
    changed = [sid for sid in relabel if "claim" in d.changed_fields.get(sid, [])]
    assert changed, d.changed_fields
    assert versions(ws.releases_dir / "claims") == ["v0001", "v0002"]
    assert verify(ws.releases_dir / "claims") == ["v0001", "v0002"]


def test_identical_release_is_refused(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=60, seed=3)
    release(ws, "claims")
    with pytest.raises(NothingToRelease, match="identical to v0001"):
        release(ws, "claims")
    assert versions(ws.releases_dir / "claims") == ["v0001"]
    assert not [p for p in (ws.releases_dir / "claims").iterdir() if p.name.startswith(".tmp-")]
    # a changed parameter is a change of content
    assert release(ws, "claims", min_annotations=3).version == "v0002"


def test_bad_name_and_missing_inputs(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path / "empty").ensure()
    with pytest.raises(ReleaseError, match="plain folder name"):
        release(ws, "../x")
    with pytest.raises(WorkspaceError, match=r"sentences\.parquet does not exist"):
        release(ws, "claims")


# ---------------------------------------------------------------- readers and round trips


def _hf(version_dir: Path, cache: Path, config: str = "default") -> dict[str, object]:
    code = textwrap.dedent(f"""
        import json, sys
        import datasets
        from datasets import Features
        import pyarrow.parquet as pq
        ds = datasets.load_dataset({str(version_dir)!r}, {config!r}, cache_dir={str(cache)!r})
        out = {{"splits": {{k: v.num_rows for k, v in ds.items()}}}}
        first = next(iter(ds.values()))
        path = {str(version_dir / data_file("train"))!r} if {config!r} == "default" else \
            {str(version_dir / "annotations.parquet")!r}
        expected = Features.from_arrow_schema(pq.read_schema(path))
        out["features_match"] = first.features == expected
        out["features"] = str(first.features)
        out["row"] = {{k: str(v) for k, v in first[0].items()}}
        print(json.dumps(out))
    """)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "HF_HOME": str(cache / "home")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Ignoring part of dataset_info" not in res.stderr, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_hf_datasets_loads_version_offline(built: Path, tmp_path: Path) -> None:
    out = _hf(built, tmp_path / "cache")
    m = read_manifest(built)
    assert out["splits"] == {s: m["rows"][s] for s in SPLITS}
    assert out["features_match"], out["features"]
    row = out["row"]
    assert isinstance(row, dict) and row["claim"] in ("claim", "no_claim", "unsure", "None")
    ann = _hf(built, tmp_path / "cache2", "annotations")
    assert ann["splits"] == {"train": m["annotations"]["rows"]}
    assert ann["features_match"], ann["features"]
    assert files_of(built) == EXPECTED_FILES          # loading wrote nothing into the version


def test_pandas_duckdb_polars_read_data(built: Path) -> None:
    import duckdb
    import pandas as pd
    import polars as pl

    total = read_manifest(built)["rows"]["total"]
    arrow = load(built, split="all")
    df = pd.read_parquet(built / "data")
    assert len(df) == total and list(df.columns) == arrow.column_names
    assert isinstance(df["claim_votes"].iloc[0], dict)
    pl_df = pl.read_parquet(str(built / "data" / "*.parquet"))
    assert pl_df.height == total and pl_df.columns == arrow.column_names
    assert pl_df.schema["tokens"] == pl.List(pl.String)
    glob = str(built / "data" / "*.parquet")
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{glob}'").fetchall() == [(total,)]
    by_split = dict(con.execute(f"SELECT split, count(*) FROM '{glob}' GROUP BY split")
                    .fetchall())
    assert by_split == {s: read_manifest(built)["rows"][s] for s in SPLITS}
    # every column type round-trips through the readers
    from_duck = con.sql(f"SELECT * FROM '{glob}'").to_arrow_table()
    assert from_duck.num_rows == total and from_duck.column_names == arrow.column_names
    assert from_duck.schema.field("claim_votes").type == arrow.schema.field("claim_votes").type
    assert pl_df.schema["n_annotators"] == pl.Int32 and pl_df.schema["para_idx"] == pl.Int32
    assert pl_df.schema["claim_votes"] == pl.Struct(
        {"claim": pl.Int32, "no_claim": pl.Int32, "unsure": pl.Int32})
    assert pl_df.schema["stance"] == pl.List(pl.Struct({"target": pl.String, "label": pl.String}))
    assert str(df["para_idx"].dtype) == "int32" and str(df["n_annotators"].dtype) == "int32"
    first = arrow.slice(0, 1).to_pylist()[0]
    row = df.set_index("sentence_id").loc[first["sentence_id"]]
    assert row["claim_votes"] == first["claim_votes"] and row["text"] == first["text"]
    assert list(row["tokens"]) == first["tokens"]


def test_release_columns_and_types(built: Path) -> None:
    schema = pq.read_schema(built / data_file("train"))
    expected = {
        "sentence_id": pa.string(), "para_idx": pa.int32(), "tokens": pa.list_(pa.string()),
        "claim": pa.string(), "claim_type": pa.list_(pa.string()), "n_annotators": pa.int32(),
        "agreement": pa.string(), "split": pa.string(),
        "claim_votes": pa.struct([("claim", pa.int32()), ("no_claim", pa.int32()),
                                  ("unsure", pa.int32())]),
        "stance": pa.list_(pa.struct([("target", pa.string()), ("label", pa.string())])),
        "claim_span": pa.list_(pa.struct([("start", pa.int32()), ("end", pa.int32()),
                                          ("label", pa.string()), ("text", pa.string())])),
    }
    for name, typ in expected.items():
        assert schema.field(name).type.equals(typ, check_metadata=False) or \
            str(schema.field(name).type).replace("element", "item") == str(typ), name
    m = read_manifest(built)
    assert [c["name"] for c in m["columns"]] == schema.names


# ---------------------------------------------------------------- integrity


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    for p in dst.rglob("*"):                # released files are read-only: let tests tamper
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst


def test_verify_detects_tampered_missing_and_edited(built: Path, tmp_path: Path) -> None:
    assert verify(built) == ["v0001"]
    v = _copy(built, tmp_path / "rel" / "v0001")
    path = v / data_file("train")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as exc:
        verify(v.parent, "v1")
    assert exc.value.message.startswith(f"{path} was modified: sha256 ")
    path.unlink()
    with pytest.raises(IntegrityError) as exc:
        verify(v.parent)
    assert exc.value.message == f"{path} is missing (listed in manifest.json)"

    v2 = _copy(built, tmp_path / "rel2" / "v0001")
    m = json.loads((v2 / "manifest.json").read_text())
    m["rows"]["train"] += 1
    (v2 / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IntegrityError, match=r"manifest\.json was edited after release"):
        verify(v2)

    v3 = _copy(built, tmp_path / "rel3" / "v0001")
    (v3 / "data" / "extra.parquet").write_bytes(b"x")
    with pytest.raises(IntegrityError, match=r"extra\.parquet is not part of the release"):
        verify(v3)


# ---------------------------------------------------------------- crash safety


RELEASE_SCRIPT = "from corpus.releases.build import release; import sys; " \
                 "print(release(sys.argv[1], 'claims').version)"


def _spawn(ws: Path, slow: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CORPUS_TEST_SLOW_RELEASE": slow}
    return subprocess.Popen([sys.executable, "-c", RELEASE_SCRIPT, str(ws)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_mid_release_leaves_no_partial_version(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=120, seed=4)
    rel = ws.releases_dir / "claims"
    rng = random.Random(5)
    killed_mid_build = 0
    for _ in range(5):
        proc = _spawn(ws.root, "0.5")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:             # wait until the build has begun
            if rel.is_dir() and any(p.name.startswith(".tmp-") for p in rel.iterdir()):
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_mid_build += proc.returncode == -signal.SIGKILL and not versions(rel)
        # whatever exists is a complete, verifiable version: never a partial one
        for v in versions(rel):
            verify(rel, v)
    assert killed_mid_build >= 3
    if versions(rel):
        with pytest.raises(NothingToRelease):
            release(ws, "claims")
    else:
        assert release(ws, "claims").version == "v0001"
    assert not [p for p in rel.iterdir() if p.name.startswith(".tmp-")]
    assert verify(rel) == ["v0001"]


@pytest.mark.slow
def test_concurrent_releases_give_one_version_and_a_clear_refusal(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=120, seed=6)
    procs = [_spawn(ws.root, "0.3") for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    outs = [r[0].strip() for r in results]
    errs = [r[1] for r in results]
    assert sorted(codes) == [0, 1], errs
    winner = codes.index(0)
    assert outs[winner] == "v0001"
    assert "another `release-claims` is running" in errs[1 - winner]
    assert versions(ws.releases_dir / "claims") == ["v0001"]
    verify(ws.releases_dir / "claims")


def test_annotations_file_holds_exactly_the_released_sentences(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=90, seed=8, shuffle=True)
    v1 = release(ws, "claims", annotator_names=True)   # nothing renamed: the file as is
    assert (v1.path / "annotations.parquet").read_bytes() == ws.annotations.read_bytes()
    v2 = release(ws, "claims", min_annotations=3)
    ann = pq.read_table(v2.path / "annotations.parquet")
    released = set(load(v2.path, split="all")["sentence_id"].to_pylist())
    assert set(ann["sentence_id"].to_pylist()) == released
    all_rows = pq.read_table(ws.annotations)
    assert ann.num_rows == sum(1 for s in all_rows["sentence_id"].to_pylist() if s in released)
    assert ann.schema.equals(all_rows.schema, check_metadata=False)
    assert read_manifest(v2.path)["annotations"]["rows"] == ann.num_rows


def test_hf_datasets_with_empty_splits(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=40, sentences_per_article=20, seed=9)
    info = release(ws, "tiny", split_ratios=(1, 0, 0))
    assert info.rows == {"train": 40, "validation": 0, "test": 0, "total": 40}
    assert pq.read_table(info.path / data_file("test")).num_rows == 0
    out = _hf(info.path, tmp_path / "cache")
    assert out["splits"] == {"train": 40}
    assert out["features_match"], out["features"]


def test_release_of_sparse_annotations(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path / "ws").ensure()
    pq.write_table(pa.Table.from_pylist(sentence_rows("art1", 4)), ws.sentences)
    rows = [{"sentence_id": f"art1-{i}", "annotator": "solo@x.org", "claim": "no_claim"}
            for i in range(4)]
    pq.write_table(annotation_rows_table(rows), ws.annotations)
    info = release(ws, "sparse")
    m = read_manifest(info.path)
    assert m["rows"]["total"] == 4
    assert m["agreement"]["krippendorff_alpha"]["claim"]["alpha"] is None   # one coder
    assert m["agreement"]["pairwise"]["pairs"] == []
    assert load(info.path, split="all")["agreement"].to_pylist() == ["unanimous"] * 4
    assert verify(info.path) == ["v0001"]


# --------------------------------------------------------------------------- projects


def _two_projects(root: Path) -> Workspace:
    """A workspace whose annotations come from two pushed projects (ids 1 and 2)."""
    from factories import make_workspace

    from corpus.storage.atomic import write_json, write_table

    ws = make_workspace(root, n_sentences=200, seed=3)
    table = pq.read_table(ws.annotations)
    ids = pa.array([1 if i % 2 else 2 for i in range(table.num_rows)], pa.int64())
    table = table.set_column(table.schema.get_field_index("ls_project_id"), "ls_project_id",
                             ids)
    write_table(ws.annotations, table)
    for pid, title, targets in ((1, "news-a", ["央行"]), (2, "news-b", ["关税", "新能源"])):
        (ws.sync_dir / title).mkdir(parents=True)
        write_json(ws.sync_dir / title / "project.json",
                   {"project": title, "project_id": pid, "targets": targets})
    return ws


def test_release_keeps_projects_apart(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corpus.cli.main import app

    ws = _two_projects(tmp_path)
    table = pq.read_table(ws.annotations)
    with pytest.raises(ReleaseError, match="never merges projects silently") as exc:
        release(ws, "mixed")
    assert "news-a" in exc.value.message and "news-b" in exc.value.message
    assert not (ws.releases_dir / "mixed" / "v0001").exists()

    a = release(ws, "news-a")                     # the project of that name only
    assert [p["title"] for p in a.projects] == ["news-a"]
    released = pq.read_table(a.path / "annotations.parquet")
    assert set(released["ls_project_id"].to_pylist()) == {1}
    of_a = {r["annotation_id"] for r in table.to_pylist() if r["ls_project_id"] == 1}
    assert released.num_rows > 0.9 * len(of_a)
    assert set(released["annotation_id"].to_pylist()) <= of_a
    manifest = read_manifest(a.path)
    assert manifest["labelstudio_projects"] == [1]
    assert manifest["projects"] == [{"title": "news-a", "id": 1, "targets": ["央行"]}]
    card_text = (a.path / "README.md").read_text(encoding="utf-8")
    assert "| news-a | 1 | 央行 |" in card_text

    both = release(ws, "combined", projects=["news-a", "news-b"])   # on purpose
    assert read_manifest(both.path)["labelstudio_projects"] == [1, 2]
    # the next version keeps its parent's projects without being told again
    from corpus.storage.atomic import write_table

    write_table(ws.annotations, table.slice(0, table.num_rows - 40))
    again = release(ws, "combined")
    assert read_manifest(again.path)["labelstudio_projects"] == [1, 2]
    card_text = (both.path / "README.md").read_text(encoding="utf-8")
    assert "| news-b | 2 | 关税, 新能源 |" in card_text

    with pytest.raises(ReleaseError, match="no project 'nope'"):
        release(ws, "x", projects=["nope"])
    res = CliRunner().invoke(app, ["release", "b-only", "--project", "news-b",
                                   "-w", str(ws.root)])
    assert res.exit_code == 0 and "Label Studio project: news-b" in res.output, res.output
    res = CliRunner().invoke(app, ["release", "mixed", "-w", str(ws.root)])
    assert res.exit_code == 1 and "--project" in res.output, res.output


def test_annotators_are_pseudonymous_and_stable_across_versions(tmp_path: Path) -> None:
    from factories import make_workspace

    from corpus.releases.pseudonyms import pseudonyms_path
    from corpus.storage.atomic import write_table

    ws = make_workspace(tmp_path, n_sentences=120, seed=5)
    emails = sorted(set(pq.read_table(ws.annotations)["annotator"].to_pylist()))
    v1 = release(ws, "pseudo")
    released = pq.read_table(v1.path / "annotations.parquet")["annotator"].to_pylist()
    assert not set(released) & set(emails)
    assert all(a.startswith("annotator-") for a in released)
    mapping = json.loads(pseudonyms_path(ws).read_text(encoding="utf-8"))["annotators"]
    assert sorted(mapping) == emails and (pseudonyms_path(ws).stat().st_mode & 0o777) == 0o600
    manifest_text = (v1.path / "manifest.json").read_text(encoding="utf-8")
    card_text = (v1.path / "README.md").read_text(encoding="utf-8")
    for email in emails:
        assert email not in manifest_text and email not in card_text
    assert "stable pseudonyms" in card_text

    # a new annotator in the next version gets a new pseudonym; the others keep theirs
    table = pq.read_table(ws.annotations)
    extra = table.slice(0, 5)
    extra = extra.set_column(extra.schema.get_field_index("annotator"), "annotator",
                             pa.array(["aaa-new@x.org"] * 5))
    extra = extra.set_column(extra.schema.get_field_index("annotation_id"), "annotation_id",
                             pa.array(range(10**6, 10**6 + 5), pa.int64()))
    write_table(ws.annotations, pa.concat_tables([table, extra]))
    v2 = release(ws, "pseudo", min_annotations=1)
    after = json.loads(pseudonyms_path(ws).read_text(encoding="utf-8"))["annotators"]
    assert {k: after[k] for k in mapping} == mapping
    assert after["aaa-new@x.org"] == f"annotator-{len(mapping) + 1:03d}"
    rows = pq.read_table(v2.path / "annotations.parquet").to_pylist()
    by_id = {r["annotation_id"]: r["annotator"] for r in rows}
    old = pq.read_table(v1.path / "annotations.parquet").to_pylist()
    assert all(by_id[r["annotation_id"]] == r["annotator"] for r in old)
    # another release name shares the mapping; --annotator-names opts in to real names
    named = release(ws, "named", annotator_names=True)
    assert set(pq.read_table(named.path / "annotations.parquet")["annotator"].to_pylist()) \
        <= {*emails, "aaa-new@x.org"}
    assert read_manifest(named.path)["params"]["annotator_names"] is True


def test_license_is_kept_per_release_name_and_the_card_can_be_cited(tmp_path: Path) -> None:
    import yaml
    from factories import make_workspace

    from corpus.storage.atomic import write_table

    ws = make_workspace(tmp_path, n_sentences=120, seed=6)
    bare = release(ws, "nolicence")
    assert any("no licence" in w for w in bare.warnings)
    card_text = (bare.path / "README.md").read_text(encoding="utf-8")
    assert "Licence: unspecified" in card_text
    assert yaml.safe_load(card_text.split("---")[1])["license"] == "unknown"
    with pytest.raises(ReleaseError, match="not an SPDX licence id"):
        release(ws, "bad", license="CC BY 4.0; rm -rf")

    v1 = release(ws, "cited", license="CC-BY-4.0")
    assert v1.license == "CC-BY-4.0" and not any("licence" in w for w in v1.warnings)
    card_text = (v1.path / "README.md").read_text(encoding="utf-8")
    assert yaml.safe_load(card_text.split("---")[1])["license"] == "cc-by-4.0"
    assert "Licence: CC-BY-4.0" in card_text
    assert "@misc{cited_v0001," in card_text and v1.manifest_sha256 in card_text
    bibtex = card_text.split("```bibtex", 1)[1].split("```", 1)[0]
    assert bibtex.count("{") == bibtex.count("}") and bibtex.strip().endswith("}")
    assert bibtex.index("note") < bibtex.rindex("}")
    # the next version keeps the licence without being told again
    table = pq.read_table(ws.annotations)
    write_table(ws.annotations, table.slice(0, table.num_rows - 30))
    v2 = release(ws, "cited")
    assert read_manifest(v2.path)["license"] == "CC-BY-4.0" and v2.license == "CC-BY-4.0"
    verify(v2.path.parent)


def test_chart_has_a_stance_panel_and_integer_count_axes(built: Path) -> None:
    """The chart draws each stance field as stacked bars (a bar per target, a segment per
    label, heights the manifest's counts) and puts only whole numbers on count axes."""
    import matplotlib  # noqa: F401  (the `chart` extra is part of `dev`: missing fails)

    from corpus.releases.chart import draw

    manifest = read_manifest(built)
    fig = draw({**manifest, "rows": manifest["rows"]})
    by_title = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    stance = [f for f in manifest["schema"]["fields"] if f["kind"] == "stance"]
    assert stance
    for f in stance:
        ax = by_title[f"{f['name']} (stance)"]
        counts = manifest["labels"][f["name"]]["all"]
        drawn = sum(p.get_width() for p in ax.patches)
        assert counts and drawn == sum(counts.values())
        assert {t.get_text() for t in ax.get_legend().get_texts()} <= {
            k.rpartition("=")[2] for k in counts}
        targets = {k.rpartition("=")[0] for k in counts}
        assert {t.get_text() for t in ax.get_yticklabels()} == targets
    for title, ax in by_title.items():
        if "alpha" in title:
            continue
        ticks = ax.get_xticks()
        assert len(ticks) and all(float(t).is_integer() for t in ticks), (title, ticks)


def test_labels_resting_on_one_vote_are_counted_and_the_card_warns(built: Path) -> None:
    """Recounted from the released rows: a single-choice label whose votes sum to 1, or a
    stance target with one vote, on a sentence that two or more annotators took."""
    manifest = read_manifest(built)
    rows = pa.concat_tables([pq.read_table(built / data_file(s)) for s in SPLITS]).to_pylist()
    expect: dict[str, int] = {}
    for f in manifest["schema"]["fields"]:
        col = f"{f['name']}_votes"
        if f["kind"] == "single":
            expect[f["name"]] = sum(
                1 for r in rows if r["n_annotators"] >= 2 and r["agreement"] != "adjudicated"
                and sum((r[col] or {}).values()) == 1)
        elif f["kind"] == "stance":
            expect[f["name"]] = sum(
                1 for r in rows if r["n_annotators"] >= 2 and r["agreement"] != "adjudicated"
                for t in r[col] or [] if sum(v for k, v in t.items() if k != "target") == 1)
    assert manifest["single_vote_labels"] == expect
    assert any(expect.values())  # the synthetic votes include lone ones
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "rest on a single vote" in card
    for name, n in expect.items():
        if n:
            assert f"{n} `{name}` label" in card


def test_label_counts_tell_a_tie_from_no_answer(built: Path) -> None:
    """A null single-choice label is a `(tie)` when annotators answered and `(no answer)`
    when nobody did, recounted from the released rows; the card explains both."""
    manifest = read_manifest(built)
    rows = pa.concat_tables([pq.read_table(built / data_file(s)) for s in SPLITS]).to_pylist()
    for f in manifest["schema"]["fields"]:
        if f["kind"] != "single":
            continue
        col = f["name"]
        nulls = [r for r in rows if r[col] is None]
        ties = sum(1 for r in nulls if sum((r[f"{col}_votes"] or {}).values()) > 0)
        dist = manifest["labels"][col]["all"]
        assert dist.get("(tie)", 0) == ties, col
        assert dist.get("(no answer)", 0) == len(nulls) - ties, col
        assert "(none)" not in dist
    assert any(manifest["labels"][f["name"]]["all"].get("(no answer)")
               for f in manifest["schema"]["fields"] if f["kind"] == "single")
    assert "`(no answer)` (nobody answered" in (built / "README.md").read_text(encoding="utf-8")


def test_stance_voted_equals_a_lookup_by_row_and_target() -> None:
    """Which stance labels had votes: the row-by-row fast path and the lookup of rows a
    decision rewrote agree with a plain (row, target) lookup."""
    import random

    import pyarrow as pa

    from corpus.releases.build import _stance_voted

    rnd = random.Random(5)
    targets = ["A", "B", "C", "D"]
    for trial in range(50):
        labels: list[list[dict[str, object]] | None] = []
        votes: list[list[dict[str, object]] | None] = []
        for _ in range(rnd.randint(0, 12)):
            if rnd.random() < 0.1:
                labels.append(None)
                votes.append(None)
                continue
            asked = rnd.sample(targets, rnd.randint(0, 4))
            votes.append([{"target": t, "favor": rnd.randint(0, 2), "against": 0}
                          for t in asked])
            if rnd.random() < 0.3:                  # a decision rewrote this row's labels
                asked = rnd.sample(targets, rnd.randint(0, 4))
            labels.append([{"target": t, "label": None} for t in asked])
        column = pa.array(labels, pa.list_(pa.struct([("target", pa.string()),
                                                      ("label", pa.string())])))
        vote_col = pa.array(votes, pa.list_(pa.struct([("target", pa.string()),
                                                       ("favor", pa.int32()),
                                                       ("against", pa.int32())])))
        had = {(i, v["target"]) for i, row in enumerate(votes) for v in row or []
               if int(v["favor"]) + int(v["against"]) > 0}  # type: ignore[call-overload]
        expected = [(i, e["target"]) in had for i, row in enumerate(labels) for e in row or []]
        assert _stance_voted(column, vote_col).to_pylist() == expected, trial
