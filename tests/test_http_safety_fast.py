"""HTTP safety rules checked without a request (the fast tier); the ones against the fakes
are in test_http_safety.py.
"""

from __future__ import annotations

import pytest

from connectors.clockify import ClockifyConnector
from connectors.errors import (
    SourceNotConfigured,
)
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.toggl import TogglConnector
from pipelines.crm.resources import HubSpotResource, SalesforceResource
from pipelines.time_tracking.resources import ClockifyResource, TogglResource

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.8:8080/api/v1",
                                 "ftp://api.example.com", "api.example.com/api/v1"])
def test_plain_http_base_urls_are_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(SourceNotConfigured, match="CLOCKIFY_BASE_URL"):
        ClockifyConnector("key", "ws", url)
    with pytest.raises(SourceNotConfigured, match="TOGGL_BASE_URL"):
        TogglConnector("token", "1", url)
    with pytest.raises(SourceNotConfigured, match="HUBSPOT_BASE_URL"):
        HubSpotConnector("token", url)
    if "://" in url:  # a bare host is how Salesforce's instance URL may be written
        with pytest.raises(SourceNotConfigured, match="SALESFORCE_INSTANCE_URL"):
            SalesforceConnector(url, "token")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://127.8.9.10", "http://localhost:8",
                                 "http://[::1]:9", "https://api.example.com"])
def test_loopback_http_and_any_https_base_url_are_accepted(url: str) -> None:
    ClockifyConnector("key", "ws", url)
    TogglConnector("token", "1", url)
    HubSpotConnector("token", url)
    SalesforceConnector(url, "token")


def test_resources_refuse_plain_http_when_built() -> None:
    with pytest.raises(SourceNotConfigured, match="CLOCKIFY_BASE_URL"):
        ClockifyResource(api_key="k", workspace_id="w", base_url="http://api.clockify.me/api/v1")
    with pytest.raises(SourceNotConfigured, match="TOGGL_BASE_URL"):
        TogglResource(api_token="t", workspace_id="1", base_url="http://api.track.toggl.com")
    with pytest.raises(SourceNotConfigured, match="HUBSPOT_BASE_URL"):
        HubSpotResource(access_token="t", base_url="http://api.hubapi.com")
    with pytest.raises(SourceNotConfigured, match="SALESFORCE_INSTANCE_URL"):
        SalesforceResource(instance_url="http://org.my.salesforce.com", access_token="t")
    ClockifyResource(api_key="k", workspace_id="w", base_url="http://127.0.0.1:5/api/v1")


def test_the_code_location_refuses_a_plain_http_base_url(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path) -> None:
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CSM_METRICS_SETTINGS", raising=False)
    monkeypatch.setenv("CLOCKIFY_API_KEY", "secret-clockify-key")
    monkeypatch.setenv("CLOCKIFY_WORKSPACE_ID", "ws")
    monkeypatch.setenv("CLOCKIFY_BASE_URL", "http://api.clockify.me/api/v1")
    with pytest.raises(SourceNotConfigured, match="CLOCKIFY_BASE_URL") as error:
        build_definitions()
    assert "secret-clockify-key" not in str(error.value)
