"""Errors a connector raises: they name the source and the setting to check, never a secret."""


class SourceError(RuntimeError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class SourceAuthError(SourceError):
    """The API refused the credentials."""


class SourceNotConfigured(SourceError):
    """A setting the source needs is missing."""


class SourceLimitReached(SourceError):
    """The API's quota is spent. Pages read before it are good: an incremental pull keeps them,
    and the next run resumes from the records they reached."""
