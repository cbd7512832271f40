"""Dagster resources for the CRMs: configuration in, a connector out.

An instance or base URL that would carry the credentials in clear text (http:// off loopback) is
refused when the resource is built: when the code location loads (the `EnvVar`'s value) and when
a run builds it, naming the variable. The settings add fields to the reads (a custom owner field,
a deal's term): `connector(settings)` takes the run's (`Settings.extra_fields`).
"""

from __future__ import annotations

from collections.abc import Callable

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from pipelines.settings import Settings
from pipelines.source_resources import secure_url, timeout_field


class SalesforceResource(ConfigurableResource):
    """A Salesforce org: an instance URL and access token, or username/password login."""

    instance_url: str | None = None
    access_token: str | None = Field(default=None, repr=False)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    security_token: str | None = Field(default=None, repr=False)
    domain: str | None = None
    batch_size: int = 2000
    # A pull of more records than this goes through Bulk API 2.0, pages of bulk_page_size.
    bulk_threshold: int = 100_000
    bulk_page_size: int = 50_000
    http_timeout: float = timeout_field()

    _secure_instance_url = secure_url("instance_url", "SALESFORCE_INSTANCE_URL", "salesforce",
                                      bare_host=True)
    # The run's log, for the connector's warnings (an org without Enhanced Email).
    _log: Callable[[str], None] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._log = context.log.warning if context.log is not None else None

    @property
    def configured(self) -> bool:
        return bool((self.instance_url and self.access_token) or
                    (self.username and self.password))

    def missing(self) -> list[str]:
        """The variables still to set when some but not all of a way to log in are set."""
        if self.configured:
            return []
        if self.instance_url or self.access_token:
            return [n for n, v in (("SALESFORCE_INSTANCE_URL", self.instance_url),
                                   ("SALESFORCE_ACCESS_TOKEN", self.access_token)) if not v]
        if self.username or self.password or self.security_token:
            return [n for n, v in (("SALESFORCE_USERNAME", self.username),
                                   ("SALESFORCE_PASSWORD", self.password)) if not v]
        return []

    def connector(self, settings: Settings) -> SalesforceConnector:
        return SalesforceConnector(
            instance_url=self.instance_url, access_token=self.access_token,
            username=self.username, password=self.password,
            security_token=self.security_token, domain=self.domain, batch_size=self.batch_size,
            bulk_threshold=self.bulk_threshold, bulk_page_size=self.bulk_page_size,
            extra_fields=settings.extra_fields("salesforce"),
            history_field=settings.salesforce_history_field, timeout=self.http_timeout,
            feedback_object=settings.salesforce_feedback_object, log=self._log)


class HubSpotResource(ConfigurableResource):
    """A HubSpot portal through a private-app access token."""

    access_token: str | None = Field(default=None, repr=False)
    base_url: str | None = None
    http_timeout: float = timeout_field()

    _secure_base_url = secure_url("base_url", "HUBSPOT_BASE_URL", "hubspot")

    @property
    def configured(self) -> bool:
        return bool(self.access_token)

    def missing(self) -> list[str]:
        return ["HUBSPOT_ACCESS_TOKEN"] if self.base_url and not self.access_token else []

    def connector(self, settings: Settings) -> HubSpotConnector:
        return HubSpotConnector(access_token=self.access_token, base_url=self.base_url,
                                extra_fields=settings.extra_fields("hubspot"),
                                owner_property=settings.hubspot_owner_property,
                                timeout=self.http_timeout)

