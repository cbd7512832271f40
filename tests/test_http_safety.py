"""HTTP safety for every source: no credential follows a redirect to another host, no plain
http:// off loopback, TLS trust from REQUESTS_CA_BUNDLE for HubSpot too; and Salesforce Bulk
API failures as the connector's own errors (docs/connectors.md, docs/reliability.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import duckdb
import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.clockify import ClockifyConnector
from connectors.errors import (
    SourceAuthError,
    SourceError,
    SourceLimitReached,
    SourceRetryableError,
)
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from connectors.streams import Window
from connectors.toggl import STREAMS as TOGGL
from connectors.toggl import TogglConnector
from sandbox.company import Company, generate_company
from sandbox.servers import FakeHubSpot, Sandbox

pytestmark = pytest.mark.connectors

JANUARY = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company(seed=5, csm_count=3, account_count=30, start=date(2024, 12, 1),
                            end=date(2025, 3, 1))


@pytest.fixture()
def sandbox(company: Company, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(company).start(str(tmp_path)) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        yield sandbox


class Recorder:
    """A second server, on another loopback host (127.0.0.2), that records every request that
    reaches it with its headers. A redirect to it must reach it not at all."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                seen.append({k.lower(): v for k, v in self.headers.items()})
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"[]")

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.2:{self.server.server_address[1]}"

    def __enter__(self) -> Recorder:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def recorder() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder


def _clockify(sandbox: Sandbox) -> Callable[[], object]:
    connector = ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                  f"{sandbox.clockify.base_url}/api/v1")
    return lambda: list(connector.read(CLOCKIFY["users"]))


def _toggl(sandbox: Sandbox) -> Callable[[], object]:
    connector = TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                               sandbox.toggl.base_url, min_interval=0)
    return lambda: list(connector.read(TOGGL["time_entries"], JANUARY))


def _hubspot(sandbox: Sandbox) -> Callable[[], object]:
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    return lambda: list(connector.read(HUBSPOT["owners"]))


def _salesforce(sandbox: Sandbox) -> Callable[[], object]:
    connector = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token)
    return lambda: list(connector.read(SALESFORCE["accounts"]))


# Each source: how to read, the fake, the path to redirect, and the credential that must stay.
SOURCES = {
    "clockify": (_clockify, "clockify", "/users", lambda s: s.clockify.api_key),
    "toggl": (_toggl, "toggl", "/search/time_entries", lambda s: s.toggl.api_token),
    "hubspot": (_hubspot, "hubspot", "/owners", lambda s: s.hubspot.access_token),
    "salesforce": (_salesforce, "salesforce", "/queryAll", lambda s: s.salesforce.access_token),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_redirect_to_another_host_is_refused_and_the_credential_stays(
        source: str, sandbox: Sandbox, recorder: Recorder) -> None:
    read, fake_name, path, credential = SOURCES[source]
    fake = getattr(sandbox, fake_name)
    fake.inject(302, headers={"Location": f"{recorder.base_url}/collect"}, path_contains=path)
    with pytest.raises(SourceError) as error:
        read(sandbox)()
    message = str(error.value)
    origin = fake.base_url.split("//", 1)[1]
    assert message.startswith(f"{source}:")
    assert origin in message and recorder.base_url.split("//", 1)[1] in message
    assert "redirect" in message
    assert recorder.seen == []  # nothing at all reached the other host
    assert credential(sandbox) not in message


def test_a_redirect_on_the_same_host_is_still_followed(sandbox: Sandbox) -> None:
    users = f"/workspaces/{sandbox.clockify.workspace_id}/users"
    sandbox.clockify.inject(
        302, path_contains="/users",
        headers={"Location": f"{sandbox.clockify.base_url}/api/v1{users}?page=1&page-size=1000"})
    pages = _clockify(sandbox)()
    assert [len(p) for p in pages] == [len(sandbox.clockify.users)]  # type: ignore[attr-defined]


# -- TLS trust -----------------------------------------------------------------------------------
@pytest.fixture()
def hubspot_tls(company: Company, tmp_path) -> Iterator[tuple[FakeHubSpot, str]]:
    fake = FakeHubSpot(company)
    fake.tls = True  # the same fake, served over TLS with a trustme CA made at start-up
    with fake:
        yield fake, fake.write_ca_bundle(str(tmp_path / "hubspot-ca.pem"))


def test_hubspot_trusts_the_ca_in_requests_ca_bundle(
        hubspot_tls: tuple[FakeHubSpot, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, bundle = hubspot_tls
    assert fake.base_url.startswith("https://")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    owners = [r for p in HubSpotConnector(fake.access_token, fake.base_url).read(
        HUBSPOT["owners"]) for r in p]
    assert owners and {o["id"] for o in owners} <= {o["id"] for o in fake.owners}


def test_hubspot_without_the_ca_fails_at_once_with_a_clear_tls_error(
        hubspot_tls: tuple[FakeHubSpot, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, _ = hubspot_tls
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # public CAs only
    connector = HubSpotConnector(fake.access_token, fake.base_url)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"TLS.*REQUESTS_CA_BUNDLE") as error:
        list(connector.read(HUBSPOT["owners"]))
    assert time.monotonic() - started < 5  # a certificate failure is final: not retried
    assert error.value.source == "hubspot"
    assert fake.access_token not in str(error.value)


def test_requests_sources_fail_at_once_with_a_clear_tls_error(
        sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"TLS.*REQUESTS_CA_BUNDLE") as error:
        _salesforce(sandbox)()
    assert time.monotonic() - started < 5
    assert sandbox.salesforce.access_token not in str(error.value)


# -- Salesforce Bulk API 2.0 failures ------------------------------------------------------------
def bulk(sandbox: Sandbox) -> SalesforceConnector:
    return SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token,
                               bulk_threshold=10, bulk_page_size=20)


def test_a_failed_bulk_job_is_a_retryable_source_error(sandbox: Sandbox) -> None:
    sandbox.salesforce.fail_bulk_jobs("Failed", "InvalidBatch : Failed to process query")
    with pytest.raises(SourceRetryableError, match=r"Opportunity.*[Bb]ulk.*InvalidBatch") as error:
        list(bulk(sandbox).read(SALESFORCE["opportunities"]))
    assert sandbox.salesforce.access_token not in str(error.value)

    sandbox.salesforce.fail_bulk_jobs("Aborted", None)
    with pytest.raises(SourceRetryableError, match="Aborted"):
        list(bulk(sandbox).read(SALESFORCE["opportunities"]))


def test_a_refused_session_in_bulk_is_an_auth_error(sandbox: Sandbox) -> None:
    sandbox.salesforce.inject(401, [{"message": "Session expired or invalid",
                                     "errorCode": "INVALID_SESSION_ID"}],
                              path_contains="/jobs/query")
    with pytest.raises(SourceAuthError, match="SALESFORCE_ACCESS_TOKEN") as error:
        list(bulk(sandbox).read(SALESFORCE["opportunities"]))
    assert sandbox.salesforce.access_token not in str(error.value)


def test_a_spent_limit_in_bulk_is_limit_reached_and_lands_nothing(sandbox: Sandbox) -> None:
    from warehouse.loading import get_cursor, land
    from warehouse.schema import ensure_raw_table, ensure_schemas

    sandbox.salesforce.inject(0, path_contains="/results")  # the first page is served
    sandbox.salesforce.inject(403, [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                              path_contains="/results")
    stream = SALESFORCE["opportunities"]
    with duckdb.connect(":memory:") as conn:
        ensure_schemas(conn)
        ensure_raw_table(conn, stream)
        with pytest.raises(SourceLimitReached, match=r"Opportunity.*limit") as error:
            land(conn, stream, bulk(sandbox).read(stream), "run")
        # Bulk pages are not in cursor order: a cut-short bulk pull keeps nothing.
        assert conn.execute(f"select count(*) from raw.{stream.table}").fetchone() == (0,)
        assert get_cursor(conn, stream.source, stream.name) is None
    assert error.value.resumable is False
    assert sandbox.salesforce.access_token not in str(error.value)
