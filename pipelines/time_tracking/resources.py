"""Dagster resources for the time trackers: configuration in, a connector out.

A base URL that would carry the credentials in clear text (http:// off loopback) is refused when
the resource is built: when the code location loads (the `EnvVar`'s value) and when a run builds
it, naming the variable.
"""

from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from connectors.clockify import ClockifyConnector
from connectors.clockify.client import PAGE_SIZE
from connectors.toggl import TogglConnector
from connectors.toggl.pacing import QuotaPacer
from pipelines.settings import Settings
from pipelines.source_resources import secure_url, timeout_field


class TogglResource(ConfigurableResource):
    """A Toggl Track workspace. Requests are paced from Toggl's quota headers, the remaining
    requests spread over the time until the hourly quota resets, never closer together than
    `min_request_interval` (docs/connectors.md)."""

    api_token: str | None = Field(default=None, repr=False)
    workspace_id: str | None = None
    base_url: str | None = None
    min_request_interval: float = Field(
        default=1.0, ge=0,
        description="Seconds between two requests at least (Toggl's leaky bucket: ~1/s)")
    max_quota_wait: float = Field(
        default=300.0, ge=0,
        description="Seconds a pull waits for a spent hourly quota to reset before ending")
    http_timeout: float = timeout_field()
    # One pacer for every Toggl stream of a run: they all spend the same quota.
    _pacer: QuotaPacer | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        log = context.log.info if context.log is not None else None
        self._pacer = QuotaPacer(self.min_request_interval, self.max_quota_wait, log)

    _secure_base_url = secure_url("base_url", "TOGGL_BASE_URL", "toggl")

    @property
    def configured(self) -> bool:
        return bool(self.api_token and self.workspace_id)

    def missing(self) -> list[str]:
        return _missing({"TOGGL_API_TOKEN": self.api_token,
                         "TOGGL_WORKSPACE_ID": self.workspace_id}, self.base_url)

    def connector(self, settings: Settings | None = None) -> TogglConnector:
        """`settings`: accepted like the CRMs'; no setting adds fields to a tracker's reads."""
        return TogglConnector(api_token=self.api_token, workspace_id=self.workspace_id,
                              base_url=self.base_url, min_interval=self.min_request_interval,
                              max_quota_wait=self.max_quota_wait, pacer=self._pacer,
                              timeout=self.http_timeout)


class ClockifyResource(ConfigurableResource):
    """A Clockify workspace through an API key."""

    api_key: str | None = Field(default=None, repr=False)
    workspace_id: str | None = None
    base_url: str | None = None
    page_size: int = Field(default=PAGE_SIZE, ge=1, le=5000,
                           description="Entries per request (lower it if Clockify caps pages)")
    http_timeout: float = timeout_field()

    _secure_base_url = secure_url("base_url", "CLOCKIFY_BASE_URL", "clockify")

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.workspace_id)

    def missing(self) -> list[str]:
        return _missing({"CLOCKIFY_API_KEY": self.api_key,
                         "CLOCKIFY_WORKSPACE_ID": self.workspace_id}, self.base_url)

    def connector(self, settings: Settings | None = None) -> ClockifyConnector:
        """`settings`: accepted like the CRMs'; no setting adds fields to a tracker's reads."""
        return ClockifyConnector(api_key=self.api_key, workspace_id=self.workspace_id,
                                 base_url=self.base_url, page_size=self.page_size,
                                 timeout=self.http_timeout)


def _missing(required: dict[str, str | None], base_url: str | None) -> list[str]:
    """Once any of a source's variables is set, the rest of what it needs must be too."""
    if not (base_url or any(required.values())):
        return []
    return [name for name, value in required.items() if not value]
