"""Errors a connector raises: they name the source and the setting to check, never a secret."""


class SourceError(RuntimeError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class SourceAuthError(SourceError):
    """The API refused the credentials."""


class SourceNotConfigured(SourceError):
    """A setting the source needs is missing."""
