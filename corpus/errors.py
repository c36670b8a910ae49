"""One error root for the whole library.

Every error carries a one-line ``message`` that names the file/row/URL at fault
and a ``hint`` that names the fix. ``transient`` errors may succeed on retry
(network faults, 5xx, a busy server); terminal ones will not until the user acts.

Exit codes of the CLI (``exit_code``): 1 an input or operation failed
(everything good was kept), 2 bad usage or configuration, 3 ``server status``
when the server is not running, 75 a temporary failure: run the command again
(``EX_TEMPFAIL`` of sysexits.h), 130 interrupted (Ctrl-C).

:func:`check_int` and :func:`check_seconds` validate numeric arguments of the library
functions before any work starts (an :class:`OptionError`, also a ``ValueError``).
"""

from __future__ import annotations

import math

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_TEMPORARY = 75
EXIT_INTERRUPTED = 130


class CorpusError(Exception):
    """Root of every error the library raises on purpose."""

    transient: bool = False
    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class TransientError(CorpusError):
    """A fault that may go away if the operation is retried: ``temporary: run again``."""

    transient = True
    exit_code = EXIT_TEMPORARY


class InputError(CorpusError):
    """Bad input data: an unreadable file, a malformed row ("some input failed": exit 1)."""

    exit_code = EXIT_FAILED


class ConfigError(CorpusError):
    """Bad configuration: options, environment, schema files."""

    exit_code = EXIT_USAGE


class OptionError(ConfigError, ValueError):
    """A numeric argument out of range (``max_len=0``, ``workers=-3``): exit 2.

    Also a ``ValueError``, so code that caught the segmenter's ``ValueError`` still does.
    """


def _option_hint(name: str, option: str | None, rule: str) -> str:
    flag = option or "--" + name.replace("_", "-")
    return f"pass {name} {rule} (the command-line option {flag})"


def check_int(name: str, value: object, *, minimum: int, maximum: int | None = None,
              option: str | None = None) -> int:
    """``value`` if it is an int (not a bool) in ``[minimum, maximum]``, else OptionError.

    ``name`` is the parameter (``max_len``), ``option`` its command-line flag
    (default ``--max-len``); both appear in the message so either kind of user finds it.
    """
    rule = (f"between {minimum} and {maximum}" if maximum is not None
            else f"of at least {minimum}")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
            maximum is not None and value > maximum):
        raise OptionError(f"{name} must be a whole number {rule}, got {value!r}",
                          hint=_option_hint(name, option, rule))
    return value


def check_seconds(name: str, value: object, *, option: str | None = None) -> float:
    """``value`` as float if it is a finite number of seconds > 0, else OptionError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise OptionError(f"{name} must be a finite number of seconds above 0, got {value!r}",
                          hint=_option_hint(name, option, "above 0, e.g. 600"))
    return float(value)


class SchemaError(ConfigError):
    """The label schema YAML or a pulled result does not fit the schema."""


class WorkspaceError(CorpusError):
    """The workspace is missing, locked, or in an unexpected state."""


class LabelStudioError(CorpusError):
    """Label Studio refused or failed a request; ``status`` is its HTTP status, if it answered."""

    def __init__(self, message: str, *, hint: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ServerUnavailable(LabelStudioError, TransientError):
    """Label Studio could not be reached or answered 5xx/timeouts."""


class AuthError(LabelStudioError):
    """Label Studio rejected the API token."""


class ReleaseError(CorpusError):
    """A release could not be built or read."""


class ReleaseOptionError(OptionError, ReleaseError):
    """A release option that cannot be used (``--split inf/10/10``): bad usage, exit 2."""


class NothingToRelease(ReleaseError):
    """The release would be identical to the latest version."""


class IntegrityError(ReleaseError):
    """A released file is missing or its sha256 does not match the manifest."""
