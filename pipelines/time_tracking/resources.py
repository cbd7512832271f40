"""Dagster resources for the time trackers: configuration in, a connector out."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from connectors.clockify import ClockifyConnector
from connectors.clockify.client import PAGE_SIZE
from connectors.toggl import TogglConnector


class TogglResource(ConfigurableResource):
    """A Toggl Track workspace. Requests are paced to Toggl's documented ~1 per second."""

    api_token: str | None = Field(default=None, repr=False)
    workspace_id: str | None = None
    base_url: str | None = None
    min_request_interval: float = 1.0

    @property
    def configured(self) -> bool:
        return bool(self.api_token and self.workspace_id)

    def missing(self) -> list[str]:
        return _missing({"TOGGL_API_TOKEN": self.api_token,
                         "TOGGL_WORKSPACE_ID": self.workspace_id}, self.base_url)

    def connector(self) -> TogglConnector:
        return TogglConnector(api_token=self.api_token, workspace_id=self.workspace_id,
                              base_url=self.base_url, min_interval=self.min_request_interval)


class ClockifyResource(ConfigurableResource):
    """A Clockify workspace through an API key."""

    api_key: str | None = Field(default=None, repr=False)
    workspace_id: str | None = None
    base_url: str | None = None
    page_size: int = Field(default=PAGE_SIZE, ge=1, le=5000,
                           description="Entries per request (lower it if Clockify caps pages)")

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.workspace_id)

    def missing(self) -> list[str]:
        return _missing({"CLOCKIFY_API_KEY": self.api_key,
                         "CLOCKIFY_WORKSPACE_ID": self.workspace_id}, self.base_url)

    def connector(self) -> ClockifyConnector:
        return ClockifyConnector(api_key=self.api_key, workspace_id=self.workspace_id,
                                 base_url=self.base_url, page_size=self.page_size)


def _missing(required: dict[str, str | None], base_url: str | None) -> list[str]:
    """Once any of a source's variables is set, the rest of what it needs must be too."""
    if not (base_url or any(required.values())):
        return []
    return [name for name, value in required.items() if not value]
