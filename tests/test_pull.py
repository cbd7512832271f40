"""`warehouse.pull.pull_stream`, the raw asset's one plain function, against the fakes over real
sockets: windows landed one by one, a limit that cuts a window keeps the windows before it, and
the streams' declared traits (ownership snapshots, API usage) drive what happens around a pull."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.clockify import ClockifyConnector
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from connectors.streams import Window
from connectors.toggl import STREAMS as TOGGL
from connectors.toggl import TogglConnector
from pipelines.crm.assets import STREAMS as CRM_STREAMS
from pipelines.time_tracking.assets import STREAMS as TRACKER_STREAMS
from sandbox.servers import Sandbox
from sandbox.servers.base import FakeServer, Request, Response
from tests.tiny_company import tiny_company
from warehouse.pull import PullCutShort, PullOptions, pull_stream

pytestmark = pytest.mark.connectors

JANUARY = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
FEBRUARY = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(tiny_company()).start(str(tmp_path)) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        yield sandbox


def test_the_traits_are_declared_on_the_streams() -> None:
    """Which streams snapshot owners and which report API usage is the streams' own data."""
    streams = [*CRM_STREAMS, *TRACKER_STREAMS]
    assert {s.table for s in streams if s.snapshots_ownership} == {
        "salesforce__accounts", "hubspot__companies"}
    assert {s.table for s in streams if s.reports_api_usage} == {
        f"salesforce__{name}" for name in SALESFORCE}
    # A stream reports usage exactly when its connector can say it.
    for connector, stream in ((SalesforceConnector, SALESFORCE["accounts"]),
                              (HubSpotConnector, HUBSPOT["companies"]),
                              (TogglConnector, TOGGL["users"]),
                              (ClockifyConnector, CLOCKIFY["users"])):
        assert hasattr(connector, "api_usage") == stream.reports_api_usage, connector


def test_a_crm_pull_snapshots_owners_and_records_api_usage(
        conn: duckdb.DuckDBPyConnection, sandbox: Sandbox) -> None:
    connector = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token)
    options = PullOptions(owner_path="$.OwnerId", today=date(2025, 3, 3))
    first = pull_stream(SALESFORCE["accounts"], connector, lambda: nullcontext(conn), "first",
                        options=options)
    accounts = len(sandbox.salesforce.objects["Account"])
    assert first.rows_written == first.ownership_snapshot == accounts > 0
    assert first.mode == "full" and first.cursor and first.requests >= 1
    assert first.api_usage and "api-usage" in first.api_usage
    assert conn.execute("select count(*), min(snapshot_date) from raw.ownership_snapshots "
                        "where source = 'salesforce'").fetchone() == (accounts, date(2025, 3, 3))
    metadata = first.metadata()
    assert {"pages", "records", "rows_written", "requests", "elapsed_seconds", "http_seconds",
            "windows", "ownership_snapshot", "api_usage", "cursor", "mode"} <= set(metadata)
    assert 0 < connector.http_seconds <= first.elapsed_seconds + 0.01
    again = pull_stream(SALESFORCE["accounts"], connector, lambda: nullcontext(conn), "again",
                        options=options)
    assert again.mode == "incremental" and again.cursor == first.cursor
    with pytest.raises(ValueError, match="owner_path"):
        pull_stream(SALESFORCE["accounts"], connector, lambda: nullcontext(conn), "x")


def quota_spent_from(toggl: FakeServer, first_date: str) -> list[int]:
    """Answer every time-entry report from `first_date` on with Toggl's 402 for a spent hourly
    quota that resets in an hour; the list holds the count of such answers."""
    refused, dispatch = [0], toggl.dispatch

    def spent(request: Request) -> Response:
        if request.path.endswith("/search/time_entries") and \
                request.json()["start_date"] >= first_date:
            refused[0] += 1
            return Response(402, "You have hit your hourly limit for API calls.",
                            {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "3600"})
        return dispatch(request)
    toggl.dispatch = spent  # type: ignore[method-assign]
    return refused


def test_windows_land_one_by_one_and_a_cut_window_keeps_those_before_it(
        conn: duckdb.DuckDBPyConnection, sandbox: Sandbox) -> None:
    stream = TOGGL["time_entries"]

    def toggl() -> TogglConnector:
        return TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                              sandbox.toggl.base_url, min_interval=0, max_quota_wait=1)

    heard: list[Window | None] = []
    totals = pull_stream(stream, toggl(), lambda: nullcontext(conn), "both",
                         [JANUARY, FEBRUARY], on_window=lambda w, _: heard.append(w))
    assert heard == [JANUARY, FEBRUARY] and totals.windows == 2
    assert totals.landed == ["2025-01-01", "2025-02-01"]
    entries = conn.execute("select count(*) from raw.toggl__time_entries").fetchone()
    assert entries is not None and entries[0] == totals.rows_written > 0

    # The quota allows January's requests, then is spent for an hour: February is cut short.
    # The quota is spent by February's first report (its dates start on January 31st, 12 hours
    # behind UTC), not after a count of requests: a request retried below the connector (a
    # connection reset under load) would spend a counted budget inside January.
    refused = quota_spent_from(sandbox.toggl, "2025-01-31")
    with pytest.raises(PullCutShort, match=r"landed before it.*2025-01-01") as cut:
        pull_stream(stream, toggl(), lambda: nullcontext(conn), "cut", [JANUARY, FEBRUARY])
    assert cut.value.landed == ["2025-01-01"] and refused == [1]
    assert conn.execute("select count(*) from raw.toggl__time_entries").fetchone() == entries
    with pytest.raises(ValueError, match="windowed"):
        pull_stream(stream, toggl(), lambda: nullcontext(conn), "none")
