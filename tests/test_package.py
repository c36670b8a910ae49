"""The package: layout rules, lazy API, shipped resources, extras, one CLI error handler, and
the wheel installed without extras into a fresh virtualenv running the README's commands."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import types
import venv
from pathlib import Path

import pytest
import tomllib
from typer.testing import CliRunner

import corpus
from corpus.cli.main import app
from corpus.errors import ConfigError, ServerUnavailable

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_68e5fa63c6607158.txt"
runner = CliRunner()


def _all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(corpus.__path__, "corpus.")
                  if not m.name.endswith("__main__"))


# --------------------------------------------------------------------------- layout


def test_every_module_is_a_module_and_shares_no_name_with_an_exported_function() -> None:
    names = _all_modules()
    assert "corpus.text.segmenter" in names and "corpus.labelstudio.sync" in names
    for name in names:
        module = importlib.import_module(name)
        assert isinstance(module, types.ModuleType), name
        parent_name, _, leaf = name.rpartition(".")
        parent = importlib.import_module(parent_name)
        assert getattr(parent, leaf) is module, f"{parent_name}.{leaf} is not the module"
    top_level = {n.split(".")[1] for n in names}
    clash = top_level & set(corpus.__all__)
    assert not clash, f"modules named like public functions of corpus: {clash}"


def test_import_corpus_and_segment_load_nothing_heavy() -> None:
    code = ("import sys, corpus; s = corpus.segment('他说：“芯片不存在后门。”然后离开了。'); "
            "assert len(s) == 2, s; "
            "print(','.join(m for m in ('pyarrow', 'httpx', 'numpy', 'jieba', 'krippendorff') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.strip()
    assert out == "", f"`import corpus` + corpus.segment() imported: {out}"


def test_public_api_names_resolve_to_their_functions() -> None:
    from corpus.articles.ingestion import ingest
    from corpus.labelstudio.annotations import pull
    from corpus.labelstudio.tasks import push
    from corpus.releases.build import release
    from corpus.releases.reader import load
    from corpus.sentences import split
    from corpus.text.segmenter import segment

    assert (corpus.ingest, corpus.split, corpus.push, corpus.pull, corpus.release, corpus.load,
            corpus.segment) == (ingest, split, push, pull, release, load, segment)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = corpus.nope  # type: ignore[attr-defined]


def test_pyproject_lists_every_package() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "corpus").rglob("__init__.py")}
    assert on_disk | {"corpus.schema"} == listed


def test_stages_use_no_private_helper_of_another_stage() -> None:
    """``from corpus.X import _private`` only inside the package that defines it."""
    offenders = []
    for path in (REPO / "corpus").rglob("*.py"):
        pkg = ".".join(path.relative_to(REPO).parent.parts)
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) >= 4 and words[0] == "from" and words[2] == "import" \
                    and any(w.lstrip("(").startswith("_") for w in words[3:]) \
                    and words[1].startswith("corpus.") \
                    and not words[1].startswith(pkg + "."):
                offenders.append(f"{path.relative_to(REPO)}: {line.strip()}")
    assert not offenders, offenders


# --------------------------------------------------------------------------- resources


def test_shipped_resources_are_read_through_importlib_resources() -> None:
    from corpus.labelschema import load_schema
    from corpus.resources import GUIDELINES, SCHEMA_YAML, USERDICT, resource_path

    for name in (SCHEMA_YAML, GUIDELINES, USERDICT):
        path = resource_path(name)
        assert path.read_bytes() == (REPO / "schema" / name).read_bytes()
    assert load_schema().field("claim").values == ("claim", "no_claim", "unsure")


def test_a_missing_resource_is_an_error_naming_it() -> None:
    from corpus.resources import resource_path

    with pytest.raises(ConfigError, match=r"nothing\.yaml is missing from the package data"):
        resource_path("nothing.yaml")


def test_user_dictionary_is_in_effect_and_a_missing_one_is_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from corpus.text.tokenizer import tokenize

    tokens = tokenize("英伟达CEO黄仁勋表示，H20芯片不存在后门。")
    assert "英伟达" in tokens and "黄仁勋" in tokens
    missing = tmp_path / "nope.txt"
    monkeypatch.setenv("CORPUS_USERDICT", str(missing))
    with pytest.raises(ConfigError, match=f"jieba user dictionary {missing} not found"):
        tokenize("你好")


def test_own_schema_with_guidelines_next_to_it(tmp_path: Path) -> None:
    from corpus.labelschema import load_schema
    from corpus.labelstudio.render import guidelines_html, guidelines_path

    own = tmp_path / "mine.yaml"
    own.write_text((REPO / "schema" / "claims_stance.yaml").read_text("utf-8"), "utf-8")
    assert guidelines_path(load_schema(own)) == REPO / "schema" / "guidelines.md"
    (tmp_path / "guidelines.md").write_text("# 我们的指南\n", "utf-8")
    assert guidelines_html(guidelines_path(load_schema(own))) == "<h1>我们的指南</h1>"


# --------------------------------------------------------------------------- CLI


def test_schema_render_prints_to_stdout_and_leaves_the_tracked_file_alone(
        tmp_path: Path) -> None:
    tracked = REPO / "schema" / "label_config.xml"
    before = tracked.read_bytes()
    res = runner.invoke(app, ["schema", "render"])
    assert res.exit_code == 0, res.output
    assert "\n<View" in res.stdout and "stance__" not in res.stdout
    assert tracked.read_bytes() == before
    out = tmp_path / "x.xml"
    res = runner.invoke(app, ["schema", "render", "--targets", "英伟达", "-o", str(out)])
    assert res.exit_code == 0 and "stance__" in out.read_text("utf-8")


def test_unexpected_exception_is_one_line_and_debug_shows_the_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import corpus.cli.segment_cmd as segment_cmd

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(segment_cmd, "segment", boom)
    res = runner.invoke(app, ["segment", str(SEED)])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines == ["error: unexpected RuntimeError: disk on fire second line "
                     "(run with --debug for the traceback)"], res.output
    res = runner.invoke(app, ["--debug", "segment", str(SEED)])
    assert res.exit_code == 1 and "Traceback" in res.output and "disk on fire" in res.output


def test_transient_errors_say_run_again_and_exit_75(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    import corpus.cli.segment_cmd as segment_cmd

    def busy(*_a: object, **_k: object) -> None:
        raise ServerUnavailable("Label Studio at http://127.0.0.1:9 is busy", hint="wait")

    monkeypatch.setattr(segment_cmd, "segment", busy)
    res = runner.invoke(app, ["segment", str(SEED)])
    assert res.exit_code == 75
    assert res.output.strip() == ("error (temporary: run again): Label Studio at "
                                  "http://127.0.0.1:9 is busy (fix: wait)")


def test_root_flags_do_not_leak_into_the_environment(tmp_path: Path) -> None:
    before = dict(os.environ)
    res = runner.invoke(app, ["--debug", "--allow-insecure", "segment", str(SEED)])
    assert res.exit_code == 0, res.output
    assert dict(os.environ) == before


def test_next_steps_executable_is_runnable_from_a_new_shell(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from corpus.cli.up_cmd import _executable

    exe = Path(sys.executable).parent / "corpus"
    monkeypatch.setattr(sys, "argv", [str(exe)])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # a new shell: the venv is not activated
    printed = _executable()
    assert printed == str(exe)
    res = subprocess.run(f"{printed} --help", shell=True, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False)
    assert res.returncode == 0 and "Usage" in res.stdout


def test_stats_png_without_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from corpus.extras import MissingExtra, require

    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # import matplotlib... -> ImportError
    with pytest.raises(MissingExtra, match=r"pip install 'claim-corpus\[chart\]'"):
        require("matplotlib.figure")


# --------------------------------------------------------------------------- the wheel


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    assert res.returncode == 0, f"{' '.join(cmd)} -> {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


ANNOTATE = """
import sys, pyarrow as pa, pyarrow.parquet as pq
from datetime import datetime, timezone
from corpus.labelschema import annotation_arrow_schema, load_schema
s = load_schema()
ids = pq.read_table(sys.argv[1] + "/sentences.parquet", columns=["sentence_id", "kind"])
ids = [i for i, k in zip(ids["sentence_id"].to_pylist(), ids["kind"].to_pylist())
       if k == "sentence"][:12]
now = datetime(2025, 1, 1, tzinfo=timezone.utc)
rows = []
for n, sid in enumerate(ids):
    for a, who in enumerate(("a@x.org", "b@x.org")):
        row = {f.name: ([] if f.kind in ("multi", "stance", "spans") else None) for f in s.fields}
        row.update(sentence_id=sid, annotation_id=2 * n + a + 1, ls_task_id=n + 1,
                   ls_project_id=1, annotator=who, created_at=now, updated_at=now,
                   lead_time=3.0, was_cancelled=False, ground_truth=False, schema_version=1,
                   claim="claim" if (n + a) % 3 else "no_claim")
        rows.append(row)
pq.write_table(pa.Table.from_pylist(rows, schema=annotation_arrow_schema(s)),
               sys.argv[1] + "/annotations.parquet")
"""


@pytest.mark.slow
@pytest.mark.wheel
def test_wheel_installed_without_extras_runs_the_readme_commands(tmp_path: Path) -> None:
    """Build the wheel, install it (no extras) into a fresh venv, run from outside the
    checkout: ingest with the user dictionary, split, segment, schema show/render,
    release (no matplotlib: no chart), stats, verify, load."""
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
         tmp_path, env)
    wheels = list(dist.glob("claim_corpus-*.whl"))
    assert len(wheels) == 1, wheels
    import zipfile

    names = zipfile.ZipFile(wheels[0]).namelist()
    for shipped in ("corpus/schema/claims_stance.yaml", "corpus/schema/guidelines.md",
                    "corpus/schema/jieba_userdict.txt", "corpus/py.typed"):
        assert shipped in names, f"{shipped} not in the wheel"
    assert not [n for n in names if n.startswith("tests/")]

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = str(env_dir / "bin" / "python")
    _run([py, "-m", "pip", "install", "--disable-pip-version-check", str(wheels[0])],
         tmp_path, env, timeout=1500)
    cli = str(env_dir / "bin" / "corpus")
    work = tmp_path / "elsewhere"
    (work / "articles").mkdir(parents=True)
    (work / "articles" / SEED.name).write_bytes(SEED.read_bytes())
    env = {**env, "HOME": str(tmp_path), "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin"}
    env.pop("CORPUS_SCHEMA", None)
    env.pop("CORPUS_USERDICT", None)

    _run([cli, "ingest", "articles", "-w", "ws"], work, env)
    tokens = _run([py, "-c", "import pyarrow.parquet as pq; t = pq.read_table('ws/sentences"
                   ".parquet'); print(sorted({w for ts in t['tokens'].to_pylist() for w in ts}))"],
                  work, env)
    assert "'英伟达'" in tokens and "'黄仁勋'" in tokens
    seg = _run([cli, "segment", f"articles/{SEED.name}"], work, env)
    assert seg.count('"kind"') > 10
    assert "claim" in _run([cli, "schema", "show"], work, env)
    assert "\n<View" in _run([cli, "schema", "render", "--targets", "英伟达"], work, env)
    mpl = subprocess.run([py, "-c", "import matplotlib"], capture_output=True, check=False)
    assert mpl.returncode != 0, "matplotlib must not be a runtime dependency"

    _run([py, "-c", ANNOTATE, "ws"], work, env)
    released = _run([cli, "release", "claims", "-w", "ws"], work, env)
    assert "released claims v0001" in released
    vdir = work / "ws" / "releases" / "claims" / "v0001"
    assert not (vdir / "docs" / "stats.png").exists()
    assert "stats.png" not in (vdir / "README.md").read_text("utf-8")
    assert "Krippendorff" in _run([cli, "stats", "claims", "-w", "ws"], work, env)
    res = subprocess.run([cli, "stats", "claims", "-w", "ws", "--png", "x.png"], cwd=work,
                         env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "pip install 'claim-corpus[chart]'" in res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    _run([cli, "verify", "claims", "-w", "ws"], work, env)
    n = _run([py, "-c", "import corpus; print(corpus.load('ws/releases/claims', split='all')"
              ".num_rows)"], work, env)
    assert int(n.strip().splitlines()[-1]) == 12
