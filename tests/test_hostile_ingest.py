"""Issue 11, the input side of ingest and segment: hostile paths and rows never hang,
crash or vanish silently.

- a 10,000-deep nested JSON line is one named bad row (no RecursionError, the batch kept);
- a file name that is not UTF-8 is stored losslessly (escaped) with a warning;
- a FIFO (also named ``x.txt``), an unreadable file or folder, a symlink loop or a
  dangling link is a named one-line error; the exit code says something failed and
  every good file is ingested; nothing waits on a FIFO, and the ingest lock is released;
- JSONL metadata is normalised, coerced with a warning naming file:line, or the row is
  rejected (ids that cannot be used);
- a folder with no article files is an error with a hint, and no path to a table that
  was never written is printed.

Unreadable paths: ``chmod 000`` does not stop root. When the tests run as root, the
command runs in a subprocess under ``setpriv`` without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, so root obeys the permission bits like anyone else.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.articles.clean import clean_article
from corpus.articles.files import open_regular, path_of_source, source_name
from corpus.articles.ingestion import IngestReport, ingest
from corpus.cli.main import app
from corpus.errors import EXIT_FAILED, InputError

TIMEOUT = 120  # seconds; a bound for anything that could hang, never asserted as a duration
ROOT = Path(__file__).resolve().parents[1]
GOOD = "这是一篇好文章。它有两句话！"
OTHER = "另一篇文章的内容。也有两句话。"


def articles(ws: Path) -> list[dict[str, Any]]:
    return pq.read_table(ws / "articles.parquet").to_pylist()


def texts(ws: Path) -> set[str]:
    return {str(row["text"]) for row in articles(ws)}


def messages(report: IngestReport, severity: str = "error") -> list[str]:
    return [str(p) for p in report.problems if p.severity == severity]


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


# -- running something that must not hang, or as a user that permission bits stop ------


def _drop_dac() -> list[str]:
    """The command prefix under which chmod 000 stops reading (empty unless root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is missing: chmod 000 cannot make a path "
                    "unreadable for this test")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.fixture
def unreadable() -> Iterator[Callable[[Path], None]]:
    """chmod 000 a path (restored afterwards so tmp_path can be cleaned up)."""
    changed: list[Path] = []

    def make(path: Path) -> None:
        path.chmod(0)
        changed.append(path)

    yield make
    for path in changed:
        path.chmod(0o755)


def run_corpus(*args: str, as_user: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m corpus ARGS`` in a subprocess, bounded by TIMEOUT (a hang fails)."""
    prefix = _drop_dac() if as_user else []
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    try:
        return subprocess.run([*prefix, sys.executable, "-m", "corpus", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`corpus {' '.join(args)}` still running after {TIMEOUT} s: it hangs")


def _assert_unreadable_here(path: Path) -> None:
    """The check itself: under the same prefix, `cat` cannot read ``path``."""
    res = subprocess.run([*_drop_dac(), "cat", str(path)], capture_output=True,
                         timeout=TIMEOUT, check=False)
    if res.returncode == 0:
        pytest.skip("this environment reads chmod 000 files even without DAC capabilities")


def _unblock_fifo(fifo: Path) -> None:
    """Open the FIFO for writing and close it: a reader stuck in open() gets EOF."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: nobody is reading, nothing to unblock
            raise
        return
    os.close(fd)


def ingest_bounded(paths: list[Path], ws: Path, fifos: list[Path]) -> IngestReport:
    """``ingest`` in a thread; if it is still running after TIMEOUT the FIFOs are
    unblocked (so the suite goes on) and the test fails."""
    result: list[IngestReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(ingest(paths, ws))
        except BaseException as exc:  # re-raised in the test thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    if thread.is_alive():
        for fifo in fifos:
            _unblock_fifo(fifo)
        thread.join(TIMEOUT)
        pytest.fail(f"ingest was still waiting on a FIFO after {TIMEOUT} s")
    if errors:
        raise errors[0]
    return result[0]


# -- item 2: deep JSON nesting ----------------------------------------------------------


def test_deeply_nested_json_line_is_one_bad_row_and_the_batch_is_kept(tmp_path: Path) -> None:
    src = tmp_path / "deep.jsonl"
    src.write_text(
        json.dumps({"id": "g1", "text": GOOD}, ensure_ascii=False) + "\n"
        + "[" * 10_000 + "]" * 10_000 + "\n"
        + '{"id": "x", "text": "嵌套。", "extra": ' + "[" * 10_000 + "]" * 10_000 + "}\n"
        + json.dumps({"id": "g2", "text": OTHER}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("第三篇文章在这里。内容不同。", encoding="utf-8")
    report = ingest([src, good], tmp_path / "ws")
    hint = "(flatten that line: an article row is one JSON object of strings)"
    assert messages(report) == [
        f"{src}:2: JSON nested too deeply to read; row not ingested {hint}",
        f"{src}:3: JSON nested too deeply to read; row not ingested {hint}",
    ]
    assert sorted(report.added) == sorted(["g1", "g2", articles(tmp_path / "ws")[2]["article_id"]])
    assert texts(tmp_path / "ws") == {GOOD, OTHER, "第三篇文章在这里。内容不同。"}

    res = cli("ingest", str(src), "-w", str(tmp_path / "ws2"), "--no-split")
    assert res.exit_code == EXIT_FAILED, res.output
    assert f"error: {src}:2: JSON nested too deeply" in res.output
    assert "RecursionError" not in res.output
    assert {r["article_id"] for r in articles(tmp_path / "ws2")} == {"g1", "g2"}


# -- item 3: file names that are not UTF-8 -----------------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_non_utf8_file_name_is_stored_escaped_and_losslessly(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    bad = Path(os.fsdecode(os.fsencode(src) + b"/bad\xff\xfe.txt"))
    try:
        bad.write_text("名字不是UTF-8的文章。第二句。", encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses file names that are not UTF-8")
    slash = src / "back\\slash.txt"
    slash.write_text("名字里有反斜杠的文章。第二句。", encoding="utf-8")
    rows = Path(os.fsdecode(os.fsencode(src) + b"/rows\xe9.jsonl"))
    rows.write_text(json.dumps({"id": "r1", "text": OTHER}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    (src / "good.txt").write_text(GOOD, encoding="utf-8")
    ws = tmp_path / "ws"
    report = ingest([src], ws)
    assert not report.failed, report.problems
    by_text = {str(r["text"]): str(r["source"]) for r in articles(ws)}
    assert len(by_text) == 4
    assert by_text[GOOD] == str(src / "good.txt")
    assert by_text["名字不是UTF-8的文章。第二句。"] == f"{src}/bad\\xff\\xfe.txt"
    assert by_text["名字里有反斜杠的文章。第二句。"] == f"{src}/back\\\\slash.txt"
    assert by_text[OTHER] == f"{src}/rows\\xe9.jsonl:1"
    # lossless: the stored name leads back to the very file
    assert path_of_source(by_text["名字不是UTF-8的文章。第二句。"]) == bad
    assert path_of_source(by_text["名字里有反斜杠的文章。第二句。"]) == slash
    assert os.fsencode(path_of_source(f"{src}/bad\\xff\\xfe.txt")).endswith(b"bad\xff\xfe.txt")
    assert messages(report, "warning") == [
        f"{src}/bad\\xff\\xfe.txt: the file name is not UTF-8; stored in source with each such "
        "byte as \\xNN (and each backslash doubled) (rename the file to UTF-8 to keep the "
        "name readable)",
        f"{src}/rows\\xe9.jsonl: the file name is not UTF-8; stored in source with each such "
        "byte as \\xNN (and each backslash doubled) (rename the file to UTF-8 to keep the "
        "name readable)",
    ]
    res = cli("ingest", str(src), "-w", str(tmp_path / "ws2"), "--no-split")
    assert res.exit_code == 0, res.output
    assert "bad\\xff\\xfe.txt: the file name is not UTF-8" in res.output
    assert len(articles(tmp_path / "ws2")) == 4


def test_source_name_round_trips_every_byte() -> None:
    for raw in (b"plain.txt", b"a\\b.txt", b"\\xff.txt", b"a\xff\\xfe\xc3.txt", b"\xe4\xb8\xad.txt",
                bytes(range(1, 256)).replace(b"/", b"")):
        path = Path(os.fsdecode(raw))
        name = source_name(path)
        name.encode("utf-8")  # always valid UTF-8 (Parquet strings must be)
        assert os.fsencode(path_of_source(name)) == raw
    assert source_name(Path("中文/名字.txt")) == "中文/名字.txt"  # UTF-8 names stay as they are


# -- items 7 and 8: FIFOs, unreadable folders, symlink loops ------------------------------


def test_fifo_on_the_command_line_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    report = ingest_bounded([fifo, good], tmp_path / "ws", [fifo])
    assert messages(report) == [
        f"{fifo}: is a FIFO (named pipe), not a regular file; not read "
        "(pass regular article files; copy the data into a file first)"]
    assert texts(tmp_path / "ws") == {GOOD}
    # the ingest lock was released: the next run works
    again = ingest_bounded([good], tmp_path / "ws", [fifo])
    assert again.duplicates and not again.failed

    res = run_corpus("ingest", str(fifo), str(good), "-w", str(tmp_path / "ws2"), "--no-split")
    assert res.returncode == EXIT_FAILED, res.stderr
    assert f"error: {fifo}: is a FIFO (named pipe), not a regular file" in res.stderr
    assert texts(tmp_path / "ws2") == {GOOD}


def test_segment_refuses_a_fifo_and_a_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    res = run_corpus("segment", str(fifo))
    assert res.returncode != 0
    assert f"{fifo}: is a FIFO (named pipe), not a regular file" in res.stderr
    assert res.stdout == ""
    folder = cli("segment", str(tmp_path))
    assert folder.exit_code != 0
    assert f"{tmp_path}: is a folder, not a file" in folder.output
    with pytest.raises(InputError, match="is a FIFO"):
        open_regular(fifo)


def test_fifo_symlink_loops_and_dangling_links_in_a_folder_are_reported(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text(GOOD, encoding="utf-8")
    (src / "sub" / "b.md").write_text(OTHER, encoding="utf-8")
    os.mkfifo(src / "f.txt")
    (src / "sub" / "up").symlink_to("..")  # leads back to in/: a loop
    (src / "self.txt").symlink_to("self.txt")  # ELOOP
    (src / "gone.txt").symlink_to("nowhere.txt")  # dangling
    os.mkfifo(src / "pipe-not-an-article")  # no article suffix: left alone, like notes.pdf
    (src / "notes.pdf").write_bytes(b"%PDF")
    report = ingest_bounded([src], tmp_path / "ws", [src / "f.txt"])
    assert messages(report) == [
        f"{src / 'f.txt'}: is a FIFO (named pipe), not a regular file; not read "
        "(pass regular article files; copy the data into a file first)",
        f"{src / 'gone.txt'}: dangling symbolic link (its target does not exist) "
        "(point the link at a real file or folder, or remove it)",
        f"{src / 'self.txt'}: symbolic link loop; not read "
        "(point the link at a real file or folder, or remove it)",
        f"{src / 'sub' / 'up'}: symbolic link loop (it leads back to a folder it is in); "
        "not followed (remove the link or point it elsewhere)",
    ]
    assert report.files == 2
    assert texts(tmp_path / "ws") == {GOOD, OTHER}

    res = cli("ingest", str(src), "-w", str(tmp_path / "ws2"), "--no-split")
    assert res.exit_code == EXIT_FAILED, res.output
    for path in (src / "f.txt", src / "gone.txt", src / "self.txt", src / "sub" / "up"):
        assert sum(line.startswith(f"error: {path}: ") for line in res.output.splitlines()) == 1, (
            path, res.output)
    assert texts(tmp_path / "ws2") == {GOOD, OTHER}


def test_symlinked_files_and_folders_are_followed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text(GOOD, encoding="utf-8")
    src = tmp_path / "in"
    src.mkdir()
    (src / "linked").symlink_to(data)
    (src / "b.txt").symlink_to(tmp_path / "other.txt")
    (tmp_path / "other.txt").write_text(OTHER, encoding="utf-8")
    report = ingest([src], tmp_path / "ws")
    assert not report.problems
    assert texts(tmp_path / "ws") == {GOOD, OTHER}


def test_unreadable_subfolder_is_reported_and_the_rest_ingested(
        tmp_path: Path, unreadable: Callable[[Path], None]) -> None:
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    (src / "a.txt").write_text(GOOD, encoding="utf-8")
    (src / "locked" / "b.txt").write_text(OTHER, encoding="utf-8")
    unreadable(src / "locked")
    _assert_unreadable_here(src / "locked" / "b.txt")
    ws = tmp_path / "ws"
    res = run_corpus("ingest", str(src), "-w", str(ws), "--no-split", as_user=True)
    assert res.returncode == EXIT_FAILED, res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {src / 'locked'}: cannot read folder (Permission denied); its "
                      "files were not ingested (check its permissions, or leave it out)"]
    assert texts(ws) == {GOOD}


# -- item 9: one unreadable file on the command line -------------------------------------


def test_one_unreadable_file_is_reported_and_the_others_ingested(
        tmp_path: Path, unreadable: Callable[[Path], None]) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text(OTHER, encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    unreadable(locked)
    _assert_unreadable_here(locked)
    ws = tmp_path / "ws"
    res = run_corpus("ingest", str(locked), str(good), "-w", str(ws), "--no-split",
                     as_user=True)
    assert res.returncode == EXIT_FAILED, res.stderr
    assert "Usage:" not in res.stderr and "not readable" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {locked}: cannot read (Permission denied) "
                      "(check its permissions)"]
    assert texts(ws) == {GOOD}
    # the library says the same, in process, when permission bits stop this user
    if os.geteuid() != 0:
        report = ingest([locked, good], tmp_path / "ws-lib")
        assert messages(report) == [f"{locked}: cannot read (Permission denied) "
                                    "(check its permissions)"]
        assert texts(tmp_path / "ws-lib") == {GOOD}


# -- item 17 (part): a folder with no articles -------------------------------------------


def test_empty_folder_says_nothing_was_found_and_how_to_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    only_other = tmp_path / "pdfs"
    only_other.mkdir()
    (only_other / "a.pdf").write_bytes(b"%PDF")
    (only_other / ".hidden.txt").write_text(GOOD, encoding="utf-8")
    report = ingest([empty, only_other], tmp_path / "ws")
    found = "(looked for .htm .html .jsonl .markdown .md .ndjson .txt .xhtml; hidden files " \
            "are skipped) (pass the folder that holds the articles, or give them one of " \
            "these suffixes)"
    assert messages(report) == [
        f"{empty}: no article files found in this folder {found}",
        f"{only_other}: no article files found in this folder {found}",
    ]
    assert report.failed and not (tmp_path / "ws" / "articles.parquet").exists()

    res = cli("ingest", str(empty), "-w", str(tmp_path / "ws2"))
    assert res.exit_code == EXIT_FAILED, res.output
    assert f"error: {empty}: no article files found in this folder" in res.output
    assert "articles.parquet" not in res.output  # no path to a table that does not exist
    assert "no articles table written: nothing was ingested" in res.output
    assert "split:" not in res.output

    # an empty folder next to a good file: the file is ingested, the folder is named
    good = tmp_path / "good.txt"
    good.write_text(GOOD, encoding="utf-8")
    mixed = cli("ingest", str(empty), str(good), "-w", str(tmp_path / "ws3"), "--no-split")
    assert mixed.exit_code == EXIT_FAILED, mixed.output
    assert f"articles -> {tmp_path / 'ws3' / 'articles.parquet'}" in mixed.output
    assert texts(tmp_path / "ws3") == {GOOD}


# -- item 14: JSONL metadata -------------------------------------------------------------


def _ingest_rows(tmp_path: Path, rows: list[dict[str, Any]]) -> tuple[Path, IngestReport]:
    src = tmp_path / "rows.jsonl"
    # ensure_ascii: lone surrogates become JSON escapes, as a careless exporter writes them
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return src, ingest([src], tmp_path / "ws")


@pytest.mark.parametrize(("given", "stored"), [
    ("2025-09-23", "2025-09-23"),
    ("2025-09-23T08:30:00+08:00", "2025-09-23T08:30:00+08:00"),
    ("2025-09-23T08:30:00Z", "2025-09-23T08:30:00Z"),
    (" 2025-09-23 ", "2025-09-23"),
    ("2025-09-23 08:30", "2025-09-23T08:30:00"),
    ("20250923", "2025-09-23"),
    ("2025/9/3", "2025-09-03"),
    ("2025.09.23", "2025-09-23"),
    ("2025年9月23日", "2025-09-23"),
    ("2025年9月23日 10:30", "2025-09-23T10:30"),
    ("2025", "2025"),
    ("2025-09", "2025-09"),
])
def test_published_at_with_one_meaning_is_iso_8601(tmp_path: Path, given: str,
                                                   stored: str) -> None:
    _, report = _ingest_rows(tmp_path, [{"id": "n", "text": GOOD, "published_at": given}])
    assert not report.problems
    assert articles(tmp_path / "ws")[0]["published_at"] == stored


@pytest.mark.parametrize(("given", "why"), [
    ("not a date", 'published_at "not a date" is not a date'),
    ("2025-13-45", 'published_at "2025-13-45" is not a date'),
    ("2025-09-23T25:00", 'published_at "2025-09-23T25:00" is not a date'),
    (12345, "published_at 12345 is a number, not a date (seconds, milliseconds or a year?)"),
    (1.5e9, "published_at 1500000000.0 is a number, not a date (seconds, milliseconds or a "
            "year?)"),
    (True, "published_at true is a boolean, not a date"),
    ({"y": 2025}, 'published_at {"y": 2025} is an object, not a date'),
])
def test_published_at_that_is_not_a_date_is_dropped_with_a_warning(
        tmp_path: Path, given: Any, why: str) -> None:
    src, report = _ingest_rows(tmp_path, [{"id": "n", "text": GOOD, "published_at": given}])
    assert messages(report, "warning") == [
        f"{src}:1: {why}; dropped (write dates as ISO 8601, e.g. 2025-09-23 or "
        "2025-09-23T08:30:00+08:00)"]
    assert not report.failed
    [row] = articles(tmp_path / "ws")
    assert row["published_at"] is None and row["article_id"] == "n"


def test_tags_title_and_url_garbage_is_coerced_or_dropped_with_warnings(tmp_path: Path) -> None:
    src, report = _ingest_rows(tmp_path, [
        {"id": "t1", "text": GOOD, "tags": [None, 1, {"a": 1}, "芯片", True, 2.5, ["x"], " "],
         "title": {"a": 1}},
        {"id": "t2", "text": OTHER, "tags": 5, "title": 2024, "url": ["https://e.com/"]},
        {"id": "t3", "text": "第三篇。内容。", "tags": "甲，乙, 丙", "title": "两行\n标题",
         "url": "https://e.com/\ud800x"},
    ])
    hint = '(write tags as a list of strings, e.g. ["芯片", "美国"])'
    assert messages(report, "warning") == [
        f'{src}:1: title {{"a": 1}} is an object, not a string; dropped '
        "(write the title as a string)",
        f"{src}:1: tags: 1 number(s) stored as text (1) {hint}",
        f'{src}:1: tags: 5 value(s) that are not strings dropped (null, {{"a": 1}}, true, 2.5, '
        f'["x"]) {hint}',
        f"{src}:2: title 2024 is a number; stored as the text '2024' "
        "(write the title as a string)",
        f"{src}:2: tags 5 is an integer, not a list; dropped {hint}",
        f'{src}:2: url ["https://e.com/"] is a list, not a string; dropped (source is {src}:2) '
        "(write the url as one string, e.g. https://example.com/news/1)",
    ]
    assert not report.failed
    rows = {r["article_id"]: r for r in articles(tmp_path / "ws")}
    assert rows["t1"]["tags"] == ["1", "芯片"] and rows["t1"]["title"] is None
    assert rows["t2"]["tags"] == [] and rows["t2"]["title"] == "2024"
    assert rows["t2"]["source"] == f"{src}:2"
    assert rows["t3"]["tags"] == ["甲", "乙", "丙"] and rows["t3"]["title"] == "两行 标题"
    assert rows["t3"]["source"] == "https://e.com/x"  # lone surrogate removed like in text
    for row in rows.values():  # nothing stored as a Python repr
        for value in [row["title"], row["source"], *row["tags"]]:
            assert value is None or not str(value).startswith(("{", "[", "None", "True"))


@pytest.mark.parametrize(("given", "why"), [
    ({"a": 1}, 'id {"a": 1} is an object, not a string'),
    ([1], "id [1] is a list, not a string"),
    (1.5, "id 1.5 is a number, not a string"),
    (True, "id true is a boolean, not a string"),
    ("a/b", 'id "a/b" looks like a path (a slash, or only dots)'),
    ("../../etc", 'id "../../etc" looks like a path (a slash, or only dots)'),
    ("..", 'id ".." looks like a path (a slash, or only dots)'),
    ("a\\b", 'id "a\\\\b" looks like a path (a slash, or only dots)'),
    ("x\ny", 'id "x\\ny" contains a line break'),
    ("x\u2028y", 'id "x\\u2028y" contains a line break'),
    ("x\x1b[2Jy", 'id "x\\u001b[2Jy" contains the control character U+001B'),
    ("x\u202ey", 'id "x\\u202ey" contains the control character U+202E'),
    ("x" * 201, "id is 201 characters long (at most 200)"),
])
def test_unusable_ids_reject_that_row_by_name(tmp_path: Path, given: Any, why: str) -> None:
    src, report = _ingest_rows(tmp_path, [
        {"id": "ok", "text": GOOD},
        {"id": given, "text": OTHER},
    ])
    assert messages(report) == [
        f"{src}:2: {why}; row not ingested "
        "(give the row a short string id without slashes or line breaks, or leave id out)"]
    assert [r["article_id"] for r in articles(tmp_path / "ws")] == ["ok"]


def test_ids_with_one_meaning_are_normalised(tmp_path: Path) -> None:
    _, report = _ingest_rows(tmp_path, [
        {"id": 42, "text": GOOD},
        {"id": "  n-1  ", "text": OTHER},
        {"id": "", "text": "第三篇。内容。"},
        {"id": "cafe\u0301", "text": "第四篇。内容。"},
        {"id": "a..b", "text": "第五篇。内容。"},
    ])
    assert not report.problems
    ids = [r["article_id"] for r in articles(tmp_path / "ws")]
    assert ids[:2] == ["42", "n-1"]
    assert ids[2].startswith("a") and len(ids[2]) == 17  # no id: the content hash
    assert ids[3:] == ["caf\u00e9", "a..b"]  # NFC


def test_metadata_garbage_through_the_cli(tmp_path: Path) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text(json.dumps({"id": "a/b", "text": GOOD}) + "\n"
                   + json.dumps({"id": "ok", "text": OTHER, "published_at": 12345}) + "\n",
                   encoding="utf-8")
    res = cli("ingest", str(src), "-w", str(tmp_path / "ws"), "--no-split")
    assert res.exit_code == EXIT_FAILED, res.output
    assert f'error: {src}:1: id "a/b" looks like a path' in res.output
    assert f"warning: {src}:2: published_at 12345 is a number, not a date" in res.output
    [row] = articles(tmp_path / "ws")
    assert row["article_id"] == "ok" and row["published_at"] is None


def test_body_date_lines_that_are_not_dates_are_not_stored() -> None:
    bad = clean_article("标题\n\n更新时间: 2025-13-45\n正文。")
    assert bad.published_at is None and bad.text == "正文。"
    good = clean_article("标题\n\n更新时间: 2025-9-3 9:05\n正文。")
    assert good.published_at == "2025-09-03T09:05"


def test_many_links_to_one_folder_walk_it_once(tmp_path: Path) -> None:
    # 12 levels, each with two links to the next: 4,096 paths, one set of files
    levels = [tmp_path / f"l{i}" for i in range(13)]
    for level in levels:
        level.mkdir()
    for i, level in enumerate(levels[:-1]):
        (level / "a").symlink_to(levels[i + 1])
        (level / "b").symlink_to(levels[i + 1])
    (levels[-1] / "x.txt").write_text(GOOD, encoding="utf-8")
    report = ingest([levels[0]], tmp_path / "ws")
    assert not report.problems and report.files == 1
    assert texts(tmp_path / "ws") == {GOOD}
