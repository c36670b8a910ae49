"""Issue 11, the release side: read-only workspaces, file modes, forged version folders,
changed split ratios, broken and hand-made version folders."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from factories import annotation_rows_table, make_workspace, sentence_rows
from typer.testing import CliRunner

import corpus
from corpus.cli.main import app
from corpus.errors import CorpusError, IntegrityError, ReleaseError
from corpus.releases.build import release
from corpus.releases.manifest import read_manifest, sha256_file
from corpus.releases.model import SPLITS, data_file
from corpus.releases.reader import load, resolve, verify, versions
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_68e5fa63c6607158.txt"
CORPUS_BIN = Path(sys.executable).parent / "corpus"
IS_ROOT = os.geteuid() == 0
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output          # stdout and stderr, interleaved


def one_line_error(output: str) -> str:
    """The error line of a failed command; asserts there is exactly one and no traceback."""
    assert "Traceback" not in output and "unexpected" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error")]
    assert len(errors) == 1, output
    return errors[0]


def add_articles(ws: Workspace, first: int, n_articles: int) -> None:
    """Append new articles (3 sentences, 2 annotations each)."""
    sentences = pq.read_table(ws.sentences)
    new = [r for a in range(first, first + n_articles) for r in sentence_rows(f"new{a}", 3)]
    pq.write_table(pa.concat_tables([sentences, pa.Table.from_pylist(new,
                                                                    schema=sentences.schema)]),
                   ws.sentences)
    ann = pq.read_table(ws.annotations)
    more = annotation_rows_table(
        [{"sentence_id": r["sentence_id"], "annotator": who, "claim": "claim",
          "annotation_id": 20_000_000 + first * 10 + i * 2 + j}
         for i, r in enumerate(new) for j, who in enumerate(("p@x.org", "q@x.org"))])
    pq.write_table(pa.concat_tables([ann, more.cast(ann.schema)]), ws.annotations)


def two_versions(root: Path) -> Workspace:
    ws = make_workspace(root, n_sentences=240, sentences_per_article=4, seed=5)
    release(ws, "claims")
    add_articles(ws, 0, 30)
    release(ws, "claims", message="more")
    return ws


# ---------------------------------------------------------------- read-only workspace


def _chattr(flag: str, path: Path) -> bool:
    return subprocess.run(["chattr", "-R", flag, str(path)], capture_output=True,
                          check=False).returncode == 0


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[str]:
    """Make the tree at ``path`` really read-only; yields how ("chmod" or "chattr").

    As a normal user, taking away the write bits is enough. root ignores them, so
    as root the tree is made immutable (chattr +i: ext4 and CAP_LINUX_IMMUTABLE).
    """
    if not IS_ROOT:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p, m in modes.items():
            os.chmod(p, stat.S_IMODE(m) & ~0o222)
        try:
            yield "chmod"
        finally:
            for p, m in modes.items():
                os.chmod(p, stat.S_IMODE(m))
        return
    if shutil.which("chattr") is None or not _chattr("+i", path):
        _chattr("-i", path)
        pytest.skip("running as root without chattr +i (needs ext4 and CAP_LINUX_IMMUTABLE): "
                    "no way to make a folder read-only for root here")
    try:
        probe = path / ".probe"
        with pytest.raises(OSError):
            probe.write_bytes(b"x")
        yield "chattr"
    finally:
        _chattr("-i", path)


@pytest.fixture(scope="module")
def ro_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with articles, sentences, annotations and one release v0001."""
    root = tmp_path_factory.mktemp("ro") / "ws"
    report = corpus.ingest([SEED], workspace=root)
    assert report.total_articles == 1, report
    make_workspace(root, n_sentences=120, sentences_per_article=4, seed=9)
    release(Workspace.resolve(root), "claims")
    return root


WRITERS = {
    "ingest": ["ingest", str(SEED), "--no-split"],
    "split": ["split"],
    "release": ["release", "claims", "--min-annotations", "2"],
}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_writer_on_read_only_workspace_fails_with_one_line_naming_the_folder(
        ro_ws: Path, command: str) -> None:
    before = {p: p.stat().st_mtime_ns for p in ro_ws.rglob("*")}
    with read_only(ro_ws):
        code, output = invoke(*WRITERS[command], "-w", str(ro_ws))
    assert code != 0, output
    line = one_line_error(output.replace("\n ", " "))
    assert str(ro_ws) in line and "not writable" in line, output
    assert "fix:" in line and "writable" in line.split("fix:")[1], output
    assert {p: p.stat().st_mtime_ns for p in ro_ws.rglob("*")} == before


def test_library_writers_raise_corpus_errors_on_read_only_workspace(ro_ws: Path) -> None:
    with read_only(ro_ws):
        for call in (lambda: corpus.ingest([SEED], workspace=ro_ws),
                     lambda: corpus.split(workspace=ro_ws),
                     lambda: release(ro_ws, "claims", min_annotations=2)):
            with pytest.raises(CorpusError, match="not writable") as exc:
                call()
            assert exc.value.hint and "writable" in exc.value.hint


def test_immutable_table_is_named(tmp_path: Path) -> None:
    """Only the table is immutable (chattr +i), its folder is writable."""
    if not IS_ROOT or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr: for a normal user a read-only file in a writable "
                    "folder can still be replaced, so this case does not arise")
    root = tmp_path / "ws"
    corpus.ingest([SEED], workspace=root)
    table = Workspace.resolve(root).articles
    before = table.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text("另一篇文章。\n\n这是第二段的一句话，内容不同。\n", encoding="utf-8")
    with read_only(table):
        code, output = invoke("ingest", str(other), "--no-split", "-w", str(root))
    assert code != 0
    line = one_line_error(output.replace("\n ", " "))
    assert str(table) in line and "not writable" in line, output
    assert table.read_bytes() == before
    assert not list(root.glob(".tmp-*"))


def test_release_into_read_only_release_folder_names_it(tmp_path: Path) -> None:
    """The workspace is writable, only releases/claims is not (say, an immutable archive)."""
    ws = make_workspace(tmp_path / "ws", n_sentences=60, seed=4)
    release(ws, "claims")
    folder = ws.releases_dir / "claims"
    with read_only(folder):
        code, output = invoke("release", "claims", "--min-annotations", "2", "-w", str(ws.root))
    assert code != 0
    line = one_line_error(output.replace("\n ", " "))
    assert str(folder) in line and "not writable" in line, output
    assert versions(folder) == ["v0001"]


def test_readers_work_on_read_only_workspace(ro_ws: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = ro_ws / "releases" / "claims"
    monkeypatch.chdir(tmp_path)
    with read_only(ro_ws):
        code, output = invoke("verify", "claims", "-w", str(ro_ws))
        assert code == 0 and "ok " in output, output
        code, output = invoke("versions", "claims", "-w", str(ro_ws))
        assert code == 0 and "v0001" in output, output
        code, output = invoke("stats", "claims", "-w", str(ro_ws))
        assert code == 0 and "label distribution" in output, output
        result = runner.invoke(app, ["stats", "claims", "-w", str(ro_ws), "--png", "-"])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes[:4] == b"\x89PNG"          # the chart, on stdout
        assert "label distribution" in result.stderr           # the tables, on stderr
        assert load(folder, split="all").num_rows == 120
        assert corpus.load(folder, version="v1", split="test").num_rows >= 0
        assert verify(folder) == ["v0001"]
    assert list(tmp_path.iterdir()) == []            # no file named '-' (or '-.png')
    assert not list(ro_ws.rglob(".tmp-*"))


def test_stats_png_into_read_only_folder_names_the_file(ro_ws: Path) -> None:
    target = ro_ws / "releases" / "claims" / "v0001" / "docs" / "mine.png"
    with read_only(ro_ws):
        code, output = invoke("stats", "claims", "-w", str(ro_ws), "--png", str(target))
    assert code != 0
    line = one_line_error(output.replace("\n ", " "))
    assert str(target) in line, output
    assert not target.exists()


# root: a private mount namespace; anyone else: also a user namespace (where enabled)
UNSHARE = ["unshare", "-m"] if IS_ROOT else ["unshare", "-r", "-m"]


def _can_mount_read_only(tmp: Path) -> bool:
    src = tmp / "probe"
    src.mkdir()
    probe = subprocess.run(
        [*UNSHARE, "sh", "-c",
         f"mount --bind {src} {src} && mount -o remount,bind,ro {src} && "
         f"! touch {src}/x 2>/dev/null"], capture_output=True, check=False)
    return probe.returncode == 0


def test_real_read_only_mount(ro_ws: Path, tmp_path: Path) -> None:
    """A read-only bind mount (EROFS), in a private mount namespace: writers fail in one
    line, readers work."""
    if shutil.which("unshare") is None or not _can_mount_read_only(tmp_path):
        pytest.skip("cannot create a read-only mount here (needs `unshare -m` with mount "
                    "privileges: root, or user namespaces); the read-only folder tests "
                    "(chmod, or chattr +i as root) cover the rest")
    script = tmp_path / "run.sh"
    py = sys.executable
    script.write_text(f"""
set -u
W={ro_ws}
mount --bind "$W" "$W" && mount -o remount,bind,ro "$W" || exit 99
C={CORPUS_BIN}
for cmd in "ingest {SEED} --no-split" "split" "release claims --min-annotations 2"; do
  $C $cmd -w "$W" > "{tmp_path}/out.txt" 2>&1; echo "writer $? $(tr '\\n' ' ' < {tmp_path}/out.txt)"
done
$C verify claims -w "$W" >/dev/null 2>&1; echo "reader verify $?"
$C versions claims -w "$W" >/dev/null 2>&1; echo "reader versions $?"
$C stats claims -w "$W" --png - > "{tmp_path}/chart.png" 2>/dev/null; echo "reader stats $?"
{py} -c "import corpus; print('reader load', corpus.load('$W/releases/claims').num_rows)"
""", encoding="utf-8")
    proc = subprocess.run([*UNSHARE, "bash", str(script)], capture_output=True,
                          text=True, timeout=300, check=False, cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    writers = [x for x in lines if x.startswith("writer ")]
    assert len(writers) == 3, proc.stdout
    for w in writers:
        _, code, text = w.split(" ", 2)
        text = text.strip()
        assert code != "0" and text.startswith("error: ") and str(ro_ws) in text, w
        assert "not writable" in text and "Traceback" not in text, w
    assert "reader verify 0" in lines and "reader versions 0" in lines, proc.stdout
    assert "reader stats 0" in lines, proc.stdout
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    assert any(x.startswith("reader load ") and int(x.split()[-1]) > 0 for x in lines)


def test_read_only_commands_take_no_lock(ro_ws: Path) -> None:
    """verify/versions/stats/load never create or open a lock file."""
    locks_before = sorted(p.name for p in ro_ws.glob(".*.lock"))
    for args in (["verify", "claims"], ["versions", "claims"], ["stats", "claims"]):
        code, output = invoke(*args, "-w", str(ro_ws))
        assert code == 0, output
    load(ro_ws / "releases" / "claims")
    assert sorted(p.name for p in ro_ws.glob(".*.lock")) == locks_before


# ---------------------------------------------------------------- file modes


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_tables_and_releases_respect_the_umask(tmp_path: Path, mask: int) -> None:
    with umask(mask):
        root = tmp_path / "ws"
        corpus.ingest([SEED], workspace=root)
        corpus.split(workspace=root)
        ws = Workspace.resolve(root)
        for table in (ws.articles, ws.sentences):
            assert mode(table) == 0o666 & ~mask, (table, oct(mode(table)))
        make_workspace(root, n_sentences=80, seed=3)
        info = release(ws, "claims")
    for folder in (ws.releases_dir, ws.releases_dir / "claims", info.path, info.path / "data"):
        assert mode(folder) == 0o777 & ~mask, (folder, oct(mode(folder)))
    files = [p for p in info.path.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for f in files:                                  # released files: read-only to everyone
        assert mode(f) == 0o444 & ~mask, (f, oct(mode(f)))


def test_atomic_writes_respect_umask_and_explicit_modes(tmp_path: Path) -> None:
    from corpus.storage import atomic

    with umask(0o002):
        atomic.write_table(tmp_path / "t.parquet", pa.table({"a": [1]}))
        atomic.write_text(tmp_path / "t.txt", "x")
        atomic.write_json(tmp_path / "secret.json", {"k": 1}, mode=0o600)
    assert mode(tmp_path / "t.parquet") == 0o664
    assert mode(tmp_path / "t.txt") == 0o664
    assert mode(tmp_path / "secret.json") == 0o600


def test_read_only_release_files_do_not_break_rerelease_or_cleanup(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=60, seed=6)
    v1 = release(ws, "claims")
    leftover = ws.releases_dir / "claims" / ".tmp-crashed"
    shutil.copytree(v1.path, leftover)              # a crashed build with read-only files
    add_articles(ws, 0, 5)
    v2 = release(ws, "claims")
    assert v2.version == "v0002" and not leftover.exists()
    assert verify(ws.releases_dir / "claims") == ["v0001", "v0002"]
    shutil.rmtree(ws.releases_dir / "claims")       # a user can still delete a release


def _nobody() -> tuple[int, int] | None:
    import pwd

    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


def test_another_user_can_load_and_verify_a_release() -> None:
    ids = _nobody()
    if not IS_ROOT or ids is None or shutil.which("setpriv") is None:
        pytest.skip("switching to another user needs root, a 'nobody' account and setpriv; "
                    "the mode bits are checked by test_tables_and_releases_respect_the_umask")
    base = Path(tempfile.mkdtemp(prefix="corpus-other-user-"))
    try:
        os.chmod(base, 0o755)                       # mkdtemp is 0700: let others in
        with umask(0o022):
            ws = make_workspace(base / "ws", n_sentences=80, seed=8)
            release(ws, "claims")
        folder = ws.releases_dir / "claims"
        uid, gid = ids
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(base)}
        as_nobody = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        code = (f"import corpus; print(corpus.load({str(folder)!r}, split='all').num_rows); "
                f"from corpus.releases.reader import verify; print(verify({str(folder)!r}))")
        proc = subprocess.run([*as_nobody, sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=120, env=env, check=False, cwd=base)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[0] == "80" and "v0001" in proc.stdout
        proc = subprocess.run([*as_nobody, str(CORPUS_BIN), "verify", str(folder)],
                              capture_output=True, text=True, timeout=120, env=env,
                              check=False, cwd=base)
        assert proc.returncode == 0 and "ok " in proc.stdout, proc.stdout + proc.stderr
        # and nobody cannot change a released file
        victim = folder / "v0001" / data_file("train")
        proc = subprocess.run([*as_nobody, sys.executable, "-c",
                               f"open({str(victim)!r}, 'ab').write(b'x')"],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
        assert proc.returncode != 0 and "Permission" in proc.stderr
    finally:
        shutil.rmtree(base)


# ---------------------------------------------------------------- forged version folders


def test_verify_catches_a_version_replaced_by_a_copy_of_another(tmp_path: Path) -> None:
    ws = two_versions(tmp_path / "ws")
    folder = ws.releases_dir / "claims"
    assert verify(folder) == ["v0001", "v0002"]
    shutil.rmtree(folder / "v0001")
    subprocess.run(["cp", "-a", str(folder / "v0002"), str(folder / "v0001")], check=True)
    manifest = folder / "v0001" / "manifest.json"
    for args in ((folder,), (folder, "v1")):
        with pytest.raises(IntegrityError) as exc:
            verify(*args)
        assert str(manifest) in exc.value.message and "v0002" in exc.value.message
    code, output = invoke("verify", "claims", "-w", str(ws.root))
    assert code != 0
    line = one_line_error(output.replace("\n ", " "))
    assert str(manifest) in line and "v0002" in line and "fix:" in line


def test_verify_catches_a_forged_parent_version(tmp_path: Path) -> None:
    """v0001 replaced by a complete, self-consistent v0001 of other data: v0002's link to its
    parent (the parent manifest's sha256) no longer matches."""
    ws = two_versions(tmp_path / "ws")
    folder = ws.releases_dir / "claims"
    other = make_workspace(tmp_path / "other", n_sentences=50, seed=77)
    forged = release(other, "claims").path
    verify(forged)
    shutil.rmtree(folder / "v0001")
    shutil.copytree(forged, folder / "v0001")
    assert verify(folder, "v1") == ["v0001"]        # on its own it is a fine version
    for version in ("v2", None):
        with pytest.raises(IntegrityError, match="parent") as exc:
            verify(folder, version)
        assert str(folder / "v0001" / "manifest.json") in exc.value.message
    code, output = invoke("verify", "claims", "-w", str(ws.root))
    assert code != 0 and "parent" in one_line_error(output.replace("\n ", " "))


def test_verify_names_a_missing_parent(tmp_path: Path) -> None:
    ws = two_versions(tmp_path / "ws")
    folder = ws.releases_dir / "claims"
    shutil.rmtree(folder / "v0001")
    with pytest.raises(IntegrityError, match=r"parent v0001") as exc:
        verify(folder, "v2")
    assert str(folder / "v0001") in exc.value.message


def test_older_manifest_without_parent_hash_still_verifies(tmp_path: Path) -> None:
    """Manifests written before the parent link existed stay readable and verifiable."""
    ws = two_versions(tmp_path / "ws")
    v2 = ws.releases_dir / "claims" / "v0002"
    path = v2 / "manifest.json"
    doc = json.loads(path.read_text("utf-8"))
    assert doc["parent_manifest_sha256"] == sha256_file(v2.parent / "v0001" / "manifest.json")
    del doc["parent_manifest_sha256"]
    doc["format"] = 1
    body = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    os.chmod(path, 0o644)
    path.write_bytes(body)
    sidecar = v2 / "manifest.sha256"
    os.chmod(sidecar, 0o644)
    import hashlib

    sidecar.write_text(f"{hashlib.sha256(body).hexdigest()}  manifest.json\n"
                       f"{sha256_file(v2 / 'README.md')}  README.md\n", encoding="utf-8")
    assert verify(v2.parent) == ["v0001", "v0002"]
    # the folder-name check still applies to old manifests
    shutil.rmtree(v2.parent / "v0001")
    shutil.copytree(v2, v2.parent / "v0001")
    with pytest.raises(IntegrityError, match="v0002"):
        verify(v2.parent, "v1")


# ---------------------------------------------------------------- split ratios


def _splits(folder: Path, version: str) -> dict[str, str]:
    table = load(folder, version=version, split="all").select(["sentence_id", "split"])
    return dict(zip(table["sentence_id"].to_pylist(), table["split"].to_pylist(), strict=True))


def test_changed_split_ratios_are_refused_naming_the_option(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=300, sentences_per_article=3, seed=13)
    folder = ws.releases_dir / "claims"
    release(ws, "claims", split_ratios="80/10/10")
    before = _splits(folder, "v1")
    add_articles(ws, 0, 20)
    with pytest.raises(ReleaseError, match="--resplit") as exc:
        release(ws, "claims", split_ratios="50/25/25")
    assert "v0001" in exc.value.message and "80/10/10" in (exc.value.hint or "")
    assert versions(folder) == ["v0001"]
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    code, output = invoke("release", "claims", "--split", "50/25/25", "-w", str(ws.root))
    assert code != 0
    line = one_line_error(output.replace("\n ", " "))
    assert "--resplit" in line and "sentences" in line
    # the same ratios written differently are the same ratios: nothing moves
    info = release(ws, "claims", split_ratios="8/1/1")
    after = _splits(folder, info.version)
    assert all(after[sid] == split for sid, split in before.items())
    # forcing it moves sentences and says so in the manifest
    add_articles(ws, 100, 5)
    code, output = invoke("release", "claims", "--split", "50/25/25", "--resplit",
                          "-w", str(ws.root))
    assert code == 0, output
    moved = _splits(folder, "v3")
    assert any(moved[sid] != split for sid, split in before.items())
    params = read_manifest(folder / "v0003")["params"]
    assert params["resplit"] is True and params["split_ratios"] == [0.5, 0.25, 0.25]


# ---------------------------------------------------------------- broken version folders


def test_versions_lists_the_others_and_flags_a_folder_without_manifest(tmp_path: Path) -> None:
    ws = two_versions(tmp_path / "ws")
    folder = ws.releases_dir / "claims"
    broken = folder / "v0001"
    os.chmod(broken, 0o755)
    (broken / "manifest.json").unlink()
    code, output = invoke("versions", "claims", "-w", str(ws.root))
    assert code != 0
    assert "v0002" in output and "more" in output, output       # the good one is listed
    line = one_line_error(output.replace("\n ", " "))
    assert str(broken) in line, output
    assert versions(folder) == ["v0002"]
    assert resolve(folder) == folder / "v0002"
    with pytest.raises(ReleaseError, match="manifest") as exc:   # the folder itself, named
        load(broken)
    assert str(broken) in exc.value.message


def test_hand_made_folder_is_not_latest(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=60, seed=21)
    folder = ws.releases_dir / "claims"
    release(ws, "claims")
    fake = folder / "v9999"
    (fake / "data").mkdir(parents=True)
    (fake / "manifest.json").write_text('{"files": {}, "version": "v9999"}')
    assert versions(folder) == ["v0001"]
    assert resolve(folder) == folder / "v0001"
    assert load(folder).num_rows == load(folder, version="v1").num_rows
    with pytest.raises(ReleaseError, match="v9999"):
        load(folder, version="v9999")
    code, output = invoke("stats", "claims", "-w", str(ws.root))
    assert code == 0 and "v0001" in output, output
    add_articles(ws, 0, 3)
    info = release(ws, "claims")
    assert (info.version, info.parent) == ("v0002", "v0001")
    with pytest.raises(IntegrityError, match="v9999"):
        verify(folder)
    code, output = invoke("versions", "claims", "-w", str(ws.root))
    assert code != 0 and "v0002" in output
    assert str(fake) in one_line_error(output.replace("\n ", " "))


def test_junk_folder_in_the_next_version_slot_is_named(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", n_sentences=60, seed=22)
    folder = ws.releases_dir / "claims"
    release(ws, "claims")
    (folder / "v0002").mkdir()
    add_articles(ws, 0, 3)
    with pytest.raises(ReleaseError) as exc:
        release(ws, "claims")
    assert str(folder / "v0002") in exc.value.message
    assert "not a complete" in exc.value.message and exc.value.hint
    assert versions(folder) == ["v0001"]
    assert all(s in SPLITS for s in _splits(folder, "v1").values())
