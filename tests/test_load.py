"""corpus.load: versions, splits, errors naming what is available, ignored leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import make_workspace

from corpus.errors import ReleaseError
from corpus.releases.build import release
from corpus.releases.manifest import read_manifest
from corpus.releases.reader import load, resolve, versions


@pytest.fixture(scope="module")
def rel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = make_workspace(tmp_path_factory.mktemp("load") / "ws", n_sentences=150, seed=21)
    release(ws, "claims")
    release(ws, "claims", min_annotations=3)
    (ws.releases_dir / "claims" / ".tmp-crashed").mkdir()     # leftover of a killed build
    return ws.releases_dir / "claims"


def test_versions_ignore_tmp_leftovers(rel: Path) -> None:
    assert versions(rel) == ["v0001", "v0002"]
    assert versions(rel / "v0001") == ["v0001"]
    assert versions(rel.parent / "missing") == []


@pytest.mark.parametrize("spec", ["latest", "v2", "v0002", 2, "2"])
def test_version_specs(rel: Path, spec: str | int) -> None:
    assert resolve(rel, spec) == rel / "v0002"


def test_load_splits_and_all(rel: Path) -> None:
    m = read_manifest(rel / "v0001")
    for split in ("train", "validation", "test"):
        table = load(rel, version="v1", split=split)
        assert table.num_rows == m["rows"][split]
        assert set(table["split"].to_pylist()) <= {split}
    assert load(rel, version=1, split="all").num_rows == m["rows"]["total"]
    assert load(rel / "v0001", split="all").num_rows == m["rows"]["total"]
    assert load(rel).num_rows == read_manifest(rel / "v0002")["rows"]["train"]


def test_public_api_entry_point(rel: Path) -> None:
    import corpus

    assert corpus.load(rel, version="v1", split="all").num_rows == \
        read_manifest(rel / "v0001")["rows"]["total"]
    assert callable(corpus.release)


def test_errors_name_what_is_available(rel: Path) -> None:
    with pytest.raises(ReleaseError, match=r"v0007 is not in .*available: v0001, v0002"):
        load(rel, version="v7")
    with pytest.raises(ReleaseError, match=r"split 'dev' .*available: train, validation, test, all"):
        load(rel, split="dev")
    with pytest.raises(ReleaseError, match="is not a version"):
        load(rel, version="newest")
    with pytest.raises(ReleaseError, match="is version v0001, not v2"):
        load(rel / "v0001", version="v2")
    with pytest.raises(ReleaseError, match="is not a release folder"):
        load(rel / "nowhere")
    empty = rel.parent / "empty"
    empty.mkdir()
    with pytest.raises(ReleaseError, match="has no released versions"):
        load(empty)
