"""Errors a connector raises: they name the source and the setting to check, never a secret."""

from collections.abc import Mapping


class SourceError(RuntimeError):
    def __init__(self, source: str, message: str, status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status  # the HTTP status that caused it, if any
        self.headers = dict(headers or {})


class SourceAuthError(SourceError):
    """The API refused the credentials."""


class SourceNotConfigured(SourceError):
    """A setting the source needs is missing."""


class SourceLimitReached(SourceError):
    """The API's quota is spent. Pages read before it are good: an incremental pull keeps them,
    and the next run resumes from the records they reached."""
