"""Finding and opening article files without ever blocking or crashing on what is there.

- ``find_articles`` walks a path given by the user and yields the article files to read
  and an ``InputError`` for everything it had to leave out: a folder it cannot list, a
  symbolic link loop or dangling link, a FIFO, socket or device, a folder with no article
  files at all. Nothing is skipped silently (except hidden names and files whose suffix is
  not an article format, as documented).
- ``open_regular`` opens a file for reading only if it is a regular file: a FIFO named
  ``x.txt`` is refused up front (``stat``) and, should it be swapped in between, by a
  non-blocking open plus ``fstat``, so a read never waits for a writer.
- ``source_name`` turns a path into the text stored in ``articles.source`` and printed in
  messages. On POSIX a file name is bytes and need not be UTF-8; Parquet strings must be.
  Such a name is stored losslessly: every byte that is not UTF-8 becomes ``\\xNN`` and
  every backslash is doubled (in every name, so the escape is never ambiguous);
  ``path_of_source`` reverses it.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from corpus.errors import InputError

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
#: Parquet document collections: read when named (a file given, or a folder on the Ray
#: engine), never picked up by a folder walk (a workspace's own tables are Parquet too).
PARQUET_SUFFIXES = {".parquet"}
_SUFFIX_LIST = " ".join(sorted(SUFFIXES))
_POSIX = os.name != "nt"


class PathInputError(InputError):
    """An ``InputError`` about one path (``path``); ``message`` names it as ``source_name``."""

    def __init__(self, path: Path, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


def source_name(path: Path | str) -> str:
    """The path as valid UTF-8 text, losslessly (see the module docstring)."""
    text = os.fspath(path)
    if not _POSIX:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\\" not in text and not _has_surrogates(text):
        return text
    raw = os.fsencode(text)
    out: list[str] = []
    for ch in raw.decode("utf-8", "surrogateescape"):
        if ch == "\\":
            out.append("\\\\")
        elif "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch)
    return "".join(out)


_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def path_of_source(name: str) -> Path:
    """The path ``source_name`` was made from (POSIX)."""
    if not _POSIX or "\\" not in name:
        return Path(name)
    parts: list[bytes] = []
    pos = 0
    for match in _ESCAPE.finditer(name):
        parts.append(name[pos:match.start()].encode("utf-8"))
        code = match.group(1)
        parts.append(b"\\" if code == "\\" else bytes([int(code[1:], 16)]))
        pos = match.end()
    parts.append(name[pos:].encode("utf-8"))
    return Path(os.fsdecode(b"".join(parts)))


def is_not_utf8(path: Path | str) -> bool:
    """True when the file name has bytes that are not UTF-8 (stored escaped)."""
    return _POSIX and _has_surrogates(os.fspath(path))


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _error(path: Path, what: str, hint: str) -> PathInputError:
    return PathInputError(path, f"{source_name(path)}: {what}", hint=hint)


def _not_regular(path: Path, mode: int) -> PathInputError:
    return _error(path, f"is {_kind(mode)}, not a regular file; not read",
                  "pass regular article files; copy the data into a file first")


def _stat_error(path: Path, exc: OSError) -> PathInputError:
    if exc.errno == errno.ELOOP:
        return _error(path, "symbolic link loop; not read",
                      "point the link at a real file or folder, or remove it")
    if isinstance(exc, FileNotFoundError):
        if path.is_symlink():
            return _error(path, "dangling symbolic link (its target does not exist)",
                          "point the link at a real file or folder, or remove it")
        return _error(path, "no such file or folder", "check the path")
    return _error(path, f"cannot access ({exc.strerror})", "check its permissions")


def _gone(path: Path) -> PathInputError:
    return _error(path, "file disappeared before it could be read",
                  "check what removed it and run again")


def find_articles(path: Path) -> Iterator[Path | PathInputError]:
    """Article files under ``path`` (a file as given, a folder recursively, sorted).

    Yields an ``InputError`` for each thing that cannot be read: errors first, then the
    files. Symbolic links are followed (a link back into a folder being walked is a loop);
    a folder reached twice through links is walked once.
    """
    try:
        st = path.stat()
    except OSError as exc:
        yield _stat_error(path, exc)
        return
    if stat.S_ISREG(st.st_mode):
        yield path
        return
    if not stat.S_ISDIR(st.st_mode):
        yield _not_regular(path, st.st_mode)
        return
    files: list[Path] = []
    problems = 0
    # explicit stack: (folder, identities of the folders on the way down to it)
    stack: list[tuple[Path, frozenset[tuple[int, int]]]] = [
        (path, frozenset({(st.st_dev, st.st_ino)}))]
    walked = {(st.st_dev, st.st_ino)}
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems += 1
            yield _error(folder, f"cannot read folder ({exc.strerror}); its files were not "
                         "ingested", "check its permissions, or leave it out")
            continue
        subfolders: list[tuple[Path, frozenset[tuple[int, int]]]] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store, editor backups)
            child = Path(entry.path)
            try:
                cst = child.stat()
            except OSError as exc:
                problems += 1
                yield _stat_error(child, exc)
                continue
            if stat.S_ISDIR(cst.st_mode):
                key = (cst.st_dev, cst.st_ino)
                if key in ancestors:
                    problems += 1
                    yield _error(child, "symbolic link loop (it leads back to a folder it is "
                                 "in); not followed", "remove the link or point it elsewhere")
                    continue
                if key not in walked:  # a second link to a walked folder: same files
                    walked.add(key)
                    subfolders.append((child, ancestors | {key}))
            elif child.suffix.lower() not in SUFFIXES:
                continue  # not an article format: other files in a folder are left alone
            elif stat.S_ISREG(cst.st_mode):
                files.append(child)
            else:
                problems += 1
                yield _not_regular(child, cst.st_mode)
        stack.extend(reversed(subfolders))
    if not files and not problems:
        yield _error(path, f"no article files found in this folder (looked for {_SUFFIX_LIST}; "
                     "hidden files are skipped)",
                     "pass the folder that holds the articles, or give them one of these "
                     "suffixes")
    yield from sorted(files)


def open_regular(path: Path, *, listed: bool = True) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file; never blocks.

    Raises ``InputError`` naming the file for anything else (FIFO, device, folder, a file
    that vanished or cannot be read). ``listed``: the path came from a folder walk, so a
    missing file vanished meanwhile (else it is simply not there).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise (_stat_error(path, FileNotFoundError()) if path.is_symlink() or not listed
               else _gone(path)) from None
    except OSError as exc:
        raise _stat_error(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise _error(path, "is a folder, not a file", "pass a file")
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _gone(path) from None
    except OSError as exc:
        raise _error(path, f"cannot read ({exc.strerror})", "check its permissions") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped for a FIFO/device after the stat above
            raise _not_regular(path, mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, *, listed: bool = True) -> bytes:
    """All bytes of a regular file (``open_regular``'s rules); ``InputError`` otherwise."""
    with open_regular(path, listed=listed) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise _error(path, f"cannot read ({exc.strerror})",
                         "check the file and its storage") from None
