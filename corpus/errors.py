"""One error root for the whole library.

Every error carries a one-line ``message`` that names the file/row/URL at fault
and a ``hint`` that names the fix. ``transient`` errors may succeed on retry
(network faults, 5xx); terminal ones will not until the user acts.
"""

from __future__ import annotations


class CorpusError(Exception):
    """Root of every error the library raises on purpose."""

    transient: bool = False
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class TransientError(CorpusError):
    """A fault that may go away if the operation is retried."""

    transient = True


class InputError(CorpusError):
    """Bad input data: an unreadable file, a malformed row."""

    exit_code = 2


class ConfigError(CorpusError):
    """Bad configuration: options, environment, schema files."""

    exit_code = 2


class SchemaError(ConfigError):
    """The label schema YAML or a pulled result does not fit the schema."""


class WorkspaceError(CorpusError):
    """The workspace is missing, locked, or in an unexpected state."""


class LabelStudioError(CorpusError):
    """Label Studio refused or failed a request."""


class ServerUnavailable(LabelStudioError, TransientError):
    """Label Studio could not be reached or answered 5xx/timeouts."""


class AuthError(LabelStudioError):
    """Label Studio rejected the API token."""


class ReleaseError(CorpusError):
    """A release could not be built or read."""


class NothingToRelease(ReleaseError):
    """The release would be identical to the latest version."""


class IntegrityError(ReleaseError):
    """A released file is missing or its sha256 does not match the manifest."""
