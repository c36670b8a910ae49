"""Install Label Studio into its own virtual environment, and the environment it runs with.

Label Studio runs from its own venv (``~/.cache/claim-corpus/ls-<version>``,
``$CORPUS_LS_VENV`` to choose another) so that its pins never constrain ours.
An empty, fully migrated database is built once per Label Studio version and
copied into each new workspace, so a first start takes seconds, not a minute.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from corpus.errors import LabelStudioError
from corpus.storage.atomic import atomic_path

LS_VERSION = "1.23.2"
"""The Label Studio release the embedded server runs (pinned)."""

ENV_LS_VENV = "CORPUS_LS_VENV"

Progress = Callable[[str], None]

# Plain (unprefixed) names that Label Studio's get_env() also reads: drop them from
# the child's environment so a stray USERNAME/PASSWORD/PORT of the caller never leaks in.
_LS_PLAIN_ENV = (
    "USERNAME", "PASSWORD", "USER_TOKEN", "HOST", "PORT", "DATABASE_NAME", "DJANGO_DB",
    "DEBUG", "LOG_LEVEL", "BASE_DATA_DIR", "SECRET_KEY", "SENTRY_DSN", "FRONTEND_SENTRY_DSN",
    "DISABLE_SIGNUP_WITHOUT_LINK", "COLLECT_ANALYTICS", "LATEST_VERSION_CHECK",
    "ENABLE_LEGACY_API_TOKEN", "ALLOWED_HOSTS", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME",
    "DJANGO_SETTINGS_MODULE",
)



def default_venv_dir() -> Path:
    """``$CORPUS_LS_VENV`` or ``~/.cache/claim-corpus/ls-<version>``."""
    env = os.environ.get(ENV_LS_VENV)
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "claim-corpus" / f"ls-{LS_VERSION}"


def venv_python(venv_dir: Path) -> Path:
    """The Python interpreter of a virtual environment."""
    return venv_dir / "bin" / "python"


def is_installed(venv_dir: Path) -> bool:
    if not venv_python(venv_dir).exists():
        return False
    return any(venv_dir.glob(f"lib/python*/site-packages/label_studio-{LS_VERSION}.dist-info"))


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def ensure_installed(venv_dir: Path | None = None, progress: Progress | None = None) -> Path:
    """Install Label Studio into its own venv if missing; return the venv folder.

    The install goes into a temporary sibling folder that is renamed into place
    only when pip succeeded, so an interrupted install is simply redone. The
    server is later run as ``<venv>/bin/python -m label_studio.server`` which,
    unlike the console script's shebang, survives the rename.
    """
    venv = (venv_dir or default_venv_dir()).expanduser().absolute()
    if is_installed(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(venv.parent / f".{venv.name}.lock"):
        if is_installed(venv):
            return venv
        tmp = venv.parent / f".tmp-{venv.name}"
        shutil.rmtree(tmp, ignore_errors=True)
        say = progress or (lambda _line: None)
        say(f"creating a virtual environment for Label Studio {LS_VERSION} in {venv}")
        base_python = getattr(sys, "_base_executable", None) or sys.executable
        _run_streaming([base_python, "-m", "venv", str(tmp)], say)
        _run_streaming(
            [str(venv_python(tmp)), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", f"label-studio=={LS_VERSION}"],
            say,
        )
        if not is_installed(tmp):
            raise LabelStudioError(
                f"pip finished but label-studio {LS_VERSION} is not in {tmp}",
                hint="check the pip output above, then run again",
            )
        if venv.exists():
            shutil.rmtree(venv)
        tmp.replace(venv)
        say(f"installed Label Studio {LS_VERSION}")
        return venv


def _run_streaming(cmd: list[str], say: Progress) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH",
                                                            "PYTHONHOME")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, stdin=subprocess.DEVNULL)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line:
            say(line)
            tail = [*tail[-9:], line]
    if proc.wait() != 0:
        last = tail[-1] if tail else "no output"
        raise LabelStudioError(
            f"installing Label Studio failed ({Path(cmd[0]).name} exited {proc.returncode}): "
            f"{last}",
            hint="check network access to PyPI, or set CORPUS_LS_VENV to a venv that has "
            f"label-studio=={LS_VERSION}",
        )


def ls_env(data_dir: Path) -> dict[str, str]:
    """The environment Label Studio runs with: ours minus anything Label Studio would read,
    plus a local, quiet, single-lead configuration with its data in ``data_dir``."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("LABEL_STUDIO_", "HEARTEX_")) and k not in _LS_PLAIN_ENV
    }
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "DJANGO_DB": "sqlite",
        "LABEL_STUDIO_DEBUG": "false",
        # Since 1.17 new organisations get legacy tokens disabled unless this is set.
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        # Local, single-lead server: nobody signs up without an invite link; no phoning home.
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
        "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_SENTRY_DSN": "",
        "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def migrated_template(venv: Path, say: Progress) -> Path | None:
    """An empty, fully migrated Label Studio sqlite database, built once per LS version.

    Migrating a fresh database takes about a minute; copying this template into a
    new workspace makes its first start take seconds. It holds no users, tokens or
    secret key (SECRET_KEY lives in the data dir's .env, generated per workspace).
    Returns None (the server then migrates itself) if it cannot be built.
    """
    template = venv.parent / f"ls-{LS_VERSION}-migrated.sqlite3"
    if template.exists():
        return template
    try:
        with file_lock(venv.parent / f".{template.name}.lock"):
            if template.exists():
                return template
            with tempfile.TemporaryDirectory(prefix=".tmp-ls-template-",
                                             dir=venv.parent) as tmp:
                data = Path(tmp) / "data"
                say("preparing the Label Studio database (first time only, about a minute)")
                proc = subprocess.run(
                    [str(venv_python(venv)), "-m", "label_studio.server", "init", "-q",
                     "--data-dir", str(data)],
                    env=ls_env(data), cwd=tmp, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900,
                    check=False,
                )
                db = data / "label_studio.sqlite3"
                if proc.returncode != 0 or not db.exists():
                    return None
                with atomic_path(template, mode=0o600) as out:  # as before: owner only
                    shutil.copyfile(db, out)
    except (OSError, subprocess.SubprocessError):
        return None
    return template
