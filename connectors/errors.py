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
    """A setting the source needs is missing, or is unsafe to use (plain http:// off loopback)."""


class SourceRetryableError(SourceError):
    """The API failed in a way a later attempt may not (a failed or timed-out Salesforce Bulk
    job, the connection lost): nothing was landed, and the step may simply run again."""


class SourceLimitReached(SourceError):
    """The API's quota is spent. Pages read before it are good when `resumable`: an incremental
    pull keeps them, and the next run resumes from the records they reached. Pages that are not
    in cursor order (a Salesforce Bulk job's) are not: the pull keeps nothing."""

    def __init__(self, source: str, message: str, status: int | None = None,
                 headers: Mapping[str, str] | None = None, resumable: bool = True) -> None:
        super().__init__(source, message, status, headers)
        self.resumable = resumable
