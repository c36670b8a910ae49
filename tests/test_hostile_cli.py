"""Issue 11 (items 11, 15, 16, 17): the command line against careless and hostile use.

- Every numeric option of every command is checked before any work starts: a usage
  error (exit 2) naming the option; the library functions raise OptionError (a
  ConfigError and a ValueError) naming the parameter and the option.
- What the CLI prints is safe for a terminal: control characters (ESC, newlines, C1,
  bidi overrides) in file names are shown as escapes, plain unicode is kept, and
  third-party logging (jieba's cache traceback) stays quiet unless --debug.
- The exit codes are the README's: 0 ok, 1 some input failed, 2 bad usage or
  configuration, 3 server not running, 75 temporary, 130 interrupted.
- A Label Studio project name the server would reject (3-50 characters) is refused
  before any network or server work.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import corpus
from corpus.articles.ingestion import ingest
from corpus.cli.common import escape
from corpus.cli.main import app
from corpus.errors import ConfigError, OptionError
from corpus.sentences import split
from corpus.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_68e5fa63c6607158.txt"
runner = CliRunner()


def _invoke(argv: list[str], **kwargs: object) -> tuple[int, str]:
    res = runner.invoke(app, argv, **kwargs)  # type: ignore[arg-type]
    return res.exit_code, res.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unreachable_ls(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Label Studio nobody listens on: `up` does not start the embedded one."""
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)


@pytest.fixture()
def seeded(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ingest([SEED], ws)
    return ws


# --------------------------------------------------------------- item 11: numeric options

# (argv without the workspace, the option the error must name)
BAD_OPTIONS = [
    (["segment", str(SEED), "--max-len", "0"], "--max-len"),
    (["segment", str(SEED), "--max-len", "-5"], "--max-len"),
    (["ingest", str(SEED), "--max-len", "0"], "--max-len"),
    (["split", "--max-len", "0"], "--max-len"),
    (["split", "--workers", "0"], "--workers"),
    (["split", "--workers", "-3"], "--workers"),
    (["split", "--workers", "100000"], "--workers"),
    (["up", str(SEED), "--max-len", "0"], "--max-len"),
    (["push", "--project", "claims", "--limit", "-1"], "--limit"),
    (["push", "--project", "claims", "--batch-size", "0"], "--batch-size"),
    (["push", "--project", "claims", "--import-timeout", "0"], "--import-timeout"),
    (["push", "--project", "claims", "--import-timeout", "-1"], "--import-timeout"),
    (["push", "--project", "claims", "--import-timeout", "nan"], "--import-timeout"),
    (["push", "--project", "claims", "--import-timeout", "inf"], "--import-timeout"),
    (["pull", "--project", "claims", "--workers", "0"], "--workers"),
    (["release", "claims", "--min-annotations", "0"], "--min-annotations"),
    (["release", "claims", "--split", "inf/10/10"], "--split"),
    (["release", "claims", "--split", "80/x/10"], "--split"),
    (["diff", "claims", "v1", "v2", "--limit", "-1"], "--limit"),
    (["server", "start", "--port", "0"], "--port"),
    (["server", "start", "--port", "65536"], "--port"),
    (["server", "start", "--timeout", "0"], "--timeout"),
    (["server", "start", "--timeout", "nan"], "--timeout"),
]


@pytest.mark.parametrize(("argv", "option"), BAD_OPTIONS,
                         ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_OPTIONS])
def test_bad_numeric_option_is_a_usage_error_before_any_work(
        argv: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _unreachable_ls(monkeypatch)
    ws = tmp_path / "ws"
    code, output = _invoke([*argv, "-w", str(ws)] if argv[0] != "segment" else argv)
    assert code == 2, output
    assert option in output, output
    assert "Traceback" not in output and "ValueError" not in output, output
    assert not ws.exists(), "work started before the options were checked"


def test_segment_max_len_zero_was_a_value_error_traceback() -> None:
    code, output = _invoke(["segment", str(SEED), "--max-len", "0"])
    assert code == 2
    assert "unexpected" not in output and "ValueError" not in output
    assert "Invalid value for '--max-len'" in output, output


def test_ingest_max_len_zero_writes_nothing(tmp_path: Path) -> None:
    """It used to ingest the articles, then crash in split with no sentences table."""
    ws = tmp_path / "ws"
    code, output = _invoke(["ingest", str(SEED), "--max-len", "0", "-w", str(ws)])
    assert code == 2, output
    assert not (ws / "articles.parquet").exists()
    assert not (ws / "sentences.parquet").exists()


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_split_workers_zero_or_negative_is_refused(seeded: Path, workers: str) -> None:
    code, output = _invoke(["split", "--workers", workers, "-w", str(seeded)])
    assert code == 2, output
    assert "--workers" in output
    assert not (seeded / "sentences.parquet").exists()


@pytest.mark.parametrize("max_len", [0, -1, 2.5, True, "300"])
def test_library_segment_rejects_bad_max_len_with_option_error(max_len: object) -> None:
    with pytest.raises(OptionError, match=r"max_len must be a whole number of at least 1") as exc:
        corpus.segment("你好。", max_len=max_len)  # type: ignore[arg-type]
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, ValueError)
    assert exc.value.hint is not None and "--max-len" in exc.value.hint


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"max_len": 0}, "max_len"), ({"workers": 0}, "workers"), ({"workers": -3}, "workers"),
    ({"max_len": 1.5}, "max_len"),
])
def test_library_split_checks_arguments_before_any_work(
        seeded: Path, kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        split(seeded, **kwargs)  # type: ignore[arg-type]
    assert not (seeded / "sentences.parquet").exists()


def test_library_ingest_checks_batch_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        ingest([SEED], tmp_path / "ws", batch_size=0)
    assert not (tmp_path / "ws" / "articles.parquet").exists()


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"limit": -1}, "limit"), ({"batch_size": 0}, "batch_size"),
    ({"import_timeout": float("nan")}, "import_timeout"), ({"import_timeout": 0}, "import_timeout"),
])
def test_library_push_checks_arguments_before_any_network(
        seeded: Path, kwargs: dict[str, object], name: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)
    with pytest.raises(ConfigError, match=name):
        corpus.push(seeded, "claims", **kwargs)  # type: ignore[arg-type]


def test_library_pull_and_release_and_server_check_arguments(
        seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpus.labelstudio import server

    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)
    with pytest.raises(ConfigError, match="workers"):
        corpus.pull(seeded, "claims", workers=0)
    with pytest.raises(ConfigError, match="min_annotations"):
        corpus.release(seeded, "claims", min_annotations=0)
    ws = Workspace(seeded)
    with pytest.raises(ConfigError, match="port"):
        server.start(ws, port=70000)
    with pytest.raises(ConfigError, match="timeout"):
        server.start(ws, timeout=float("inf"))
    assert not (seeded / "labelstudio").exists()


# --------------------------------------------------------------- item 15: safe output

ESC_NAME = "esc\x1b[2J.txt"


def test_escape_shows_control_characters_and_keeps_unicode() -> None:
    assert escape("esc\x1b[2J.txt") == "esc\\x1b[2J.txt"
    assert escape("[bold]x[/]") == "\\[bold]x\\[/]"  # rich markup escaped too
    assert escape("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert escape("csi\x9b2J del\x7f") == "csi\\x9b2J del\\x7f"
    assert escape("bidi\u202egnp.exe \u2066x\u2069 ls\u2028") == (
        "bidi\\u202egnp.exe \\u2066x\\u2069 ls\\u2028")
    assert escape("bad\udcff\udcfe.txt") == "bad\\xff\\xfe.txt"  # surrogate-escaped bytes
    plain = "新闻 عربى 👨‍👩‍👧‍👦 Zalgo Z̴̡a é.txt"
    assert escape(plain) == plain


def test_error_with_escape_sequence_in_file_name_is_escaped() -> None:
    code, output = _invoke(["segment", f"/nonexistent/{ESC_NAME}"])
    assert code == 1, output
    assert "\x1b" not in output
    assert "esc\\x1b[2J.txt" in output
    assert len(output.strip().splitlines()) == 1, output


def test_newline_in_file_name_keeps_the_error_on_one_line() -> None:
    code, output = _invoke(["segment", "/nonexistent/two\nlines.txt"])
    assert code == 1
    assert len(output.strip().splitlines()) == 1, output
    assert "two\\nlines.txt" in output


def test_non_utf8_bytes_in_a_file_name_are_shown_as_byte_escapes() -> None:
    name = os.fsdecode(b"/nonexistent/bad\xff\xfe.txt")  # what argv gives Python
    code, output = _invoke(["segment", name])
    assert code == 1
    assert "/nonexistent/bad\\xff\\xfe.txt: no such file or folder" in output, output


def test_plain_unicode_file_names_are_printed_as_they_are() -> None:
    code, output = _invoke(["segment", "/nonexistent/新闻 报道.txt"])
    assert code == 1
    assert "/nonexistent/新闻 报道.txt" in output


def test_ingest_warnings_and_duplicates_escape_file_names(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / ESC_NAME).write_bytes(b"")                                  # an error
    (src / "a\x1b]0;owned\x07.txt").write_bytes(SEED.read_bytes())     # kept ...
    (src / "dup\x1b[31m.txt").write_bytes(SEED.read_bytes())           # ... its duplicate
    code, output = _invoke(["ingest", str(src), "--no-split", "-w", str(tmp_path / "ws")])
    assert code == 1, output
    assert "\x1b" not in output and "\x07" not in output, output
    assert "esc\\x1b[2J.txt" in output
    duplicate = next(ln for ln in output.splitlines() if ln.startswith("duplicate:"))
    assert "dup\\x1b[31m.txt is the same article" in duplicate, output


def test_usage_errors_escape_what_the_user_typed() -> None:
    code, output = _invoke(["\x1b[2Jnosuchcommand"])
    assert code == 2
    assert "\x1b" not in output and "\\x1b[2Jnosuchcommand" in output, output


def _run_cli(args: list[str], env: dict[str, str], stdin: bytes | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpus.cli.main", *args], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          input=None if stdin is None else stdin.decode(), check=False)


def test_unwritable_jieba_cache_is_a_non_event_for_split(seeded: Path,
                                                            tmp_path: Path) -> None:
    """jieba's cache in $TMPDIR cannot be replaced (here: a folder is in its place, as a
    file of another user would be): split never notices, since it tokenises with rjieba
    and never loads jieba."""
    tmp = tmp_path / "tmp"
    (tmp / "jieba.cache").mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("CORPUS_USERDICT", None)
    proc = _run_cli(["split", "--workers", "1", "-w", str(seeded)], env)
    both = proc.stdout + proc.stderr
    assert proc.returncode == 0, both[-3000:]
    assert "Traceback" not in both and "Dump cache file failed" not in both, both[-3000:]
    assert "Building prefix dict" not in both
    assert (seeded / "sentences.parquet").exists()
    # split tokenises with rjieba: jieba (and its cache) is not loaded at all, even with
    # --debug, which would show what jieba logs
    debug = _run_cli(["--debug", "split", "--workers", "1", "-w", str(seeded)], env)
    assert debug.returncode == 0
    assert "Dump cache file failed" not in debug.stderr and "prefix dict" not in debug.stderr
    assert not any((tmp / "jieba.cache").iterdir())


# --------------------------------------------------------------- item 16: exit codes


def test_input_errors_exit_1_not_2(tmp_path: Path) -> None:
    code, output = _invoke(["segment", str(tmp_path / "nosuch.txt")])
    assert code == 1 and "nosuch.txt: no such file or folder" in output, output
    code, output = _invoke(["segment", str(tmp_path)])
    assert code == 1 and "is a folder, not a file" in output, output
    code, output = _invoke(["segment", "-"], input=b"")
    assert code == 1 and "<stdin>: file is empty" in output, output


def test_exit_0_ok() -> None:
    code, output = _invoke(["segment", "-"], input="他说：“芯片不存在后门。”然后离开了。")
    assert code == 0
    assert json.loads(output.splitlines()[0])["text"] == "他说：“芯片不存在后门。”"


def test_exit_1_some_input_failed_and_the_good_is_kept(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    code, output = _invoke(["ingest", str(tmp_path / "empty.txt"), str(SEED), "--no-split",
                            "-w", str(tmp_path / "ws")])
    assert code == 1, output
    assert "empty.txt: file is empty" in output
    assert (tmp_path / "ws" / "articles.parquet").exists()


def test_exit_2_bad_usage_and_bad_configuration(tmp_path: Path) -> None:
    code, output = _invoke(["segment", "--no-such-option"])
    assert code == 2 and "No such option" in output
    bad = tmp_path / "schema.yaml"
    bad.write_text("fields: [\n", encoding="utf-8")
    code, output = _invoke(["schema", "show", "--schema", str(bad)])
    assert code == 2 and "schema.yaml" in output and "Traceback" not in output, output


def test_exit_3_server_status_not_running(tmp_path: Path) -> None:
    code, output = _invoke(["server", "status", "-w", str(tmp_path / "ws")])
    assert code == 3 and "not running" in output


def test_exit_75_label_studio_unreachable(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)
    code, output = _invoke(["pull", "--project", "claims", "-w", str(seeded)])
    assert code == 75, output
    assert "temporary: run again" in output


class _InterruptedStdin(io.RawIOBase):
    """Fault injection: reading stdin is interrupted by Ctrl-C."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: object) -> int:
        raise KeyboardInterrupt


def test_exit_130_interrupted() -> None:
    import click.testing

    res = click.testing.CliRunner().invoke(
        typer.main.get_command(app), ["segment", "-"],
        input=io.BufferedReader(_InterruptedStdin()))
    assert res.exit_code == 130, res.output
    assert "interrupted" in res.output and "Traceback" not in res.output


def test_readme_documents_every_exit_code() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    line = next(ln for ln in readme.split("\n\n") if "Exit codes:" in ln)
    for text in ("0 ok", "1 some input or operation failed", "2 bad usage or configuration",
                 "3 `server status`", "75 a temporary", "130 interrupted"):
        assert text in " ".join(line.split()), line


# --------------------------------------------------------------- item 17: project names


@pytest.mark.parametrize("name", ["ab", "x", " ab ", "a" * 51])
@pytest.mark.parametrize("command", ["push", "pull", "up"])
def test_project_name_label_studio_rejects_is_refused_up_front(
        command: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _unreachable_ls(monkeypatch)
    ws = tmp_path / "ws"
    argv = [command, "--project", name, "-w", str(ws)]
    if command == "up":
        argv.insert(1, str(SEED))
    code, output = _invoke(argv)
    assert code == 2, output
    assert "--project" in output and "3 to 50 characters" in output, output
    assert not ws.exists(), "work started before the project name was checked"


@pytest.mark.parametrize("name", ["ab", "a" * 51, "bad/name", "\x1b[2J"])
def test_library_refuses_bad_project_names_before_any_network(
        seeded: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x" * 40)
    for fn in (corpus.push, corpus.pull):
        with pytest.raises(ConfigError, match="3 to 50 characters") as exc:
            fn(seeded, name)
        assert not exc.value.transient


@pytest.mark.parametrize("name", ["abc", "claims", "新闻立场", "a" * 50, "claims v2.1-test_x"])
def test_project_names_label_studio_accepts_pass(name: str) -> None:
    from corpus.labelstudio.sync import check_project_name

    assert check_project_name(name) == name


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`corpus segment FILE | head -1`: the reader leaving early is no error to report."""
    text = tmp_path / "long.txt"
    text.write_text("这是一句话。" * 200_000, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "corpus.cli.main", "segment", str(text)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()                                   # what `head -1` does
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert json.loads(first)["text"] == "这是一句话。"
    assert err == "" and code == 141, (code, err)          # 128 + SIGPIPE, as a shell reports
