# ruff: noqa: F811
# (tests.small_sandbox's fixtures, imported, are named again as the tests' parameters)
"""Each source's pages, read by its real client from the fakes, land from the response's bytes:
no record is parsed in Python, and raw holds what Python would have decoded from them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import duckdb
import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.clockify import ClockifyConnector
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.hubspot import HubSpotConnector
from connectors.pages import RawPage
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from connectors.streams import AnyPage, Window
from connectors.toggl import STREAMS as TOGGL
from connectors.toggl import TogglConnector
from sandbox.servers import Sandbox
from tests.small_sandbox import company, sandbox  # noqa: F401 (fixtures)
from warehouse.loading import land

JANUARY = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


def kept(pages: Iterable[AnyPage], seen: list[AnyPage]) -> Iterator[AnyPage]:
    for page in pages:
        seen.append(page)
        yield page


def read_with(sandbox: Sandbox, source: str):  # the connector, its stream, its window
    return {
        "clockify": (ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                       f"{sandbox.clockify.base_url}/api/v1", page_size=50),
                     CLOCKIFY["time_entries"], JANUARY),
        "toggl": (TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                                 sandbox.toggl.base_url, min_interval=0),
                  TOGGL["time_entries"], JANUARY),
        "hubspot": (HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url),
                    HUBSPOT["companies"], None),
        "salesforce": (SalesforceConnector(sandbox.salesforce.base_url,
                                           sandbox.salesforce.access_token, bulk_threshold=10,
                                           bulk_page_size=40),
                       SALESFORCE["opportunities"], None),
    }[source]


@pytest.mark.parametrize("source", ["clockify", "toggl", "hubspot", "salesforce"])
def test_pages_land_from_the_bytes_as_python_would_decode_them(
        conn: duckdb.DuckDBPyConnection, sandbox: Sandbox, source: str) -> None:
    connector, stream, window = read_with(sandbox, source)
    seen: list[AnyPage] = []
    stats = land(conn, stream, kept(connector.read(stream, window), seen), "run", window)
    assert len(seen) > 1 and all(isinstance(page, RawPage) for page in seen)
    assert all(page._records is None for page in seen)  # type: ignore[union-attr]
    # What Python makes of the same bytes, kept where the window keeps it.
    decoded = {str(r["id"] if "id" in r else r["Id"]): r for page in seen for r in page}
    raw = dict(conn.execute(f"select _pk, _record from raw.{stream.table}").fetchall())
    assert stats.rows_written == len(raw) > 0 and stats.quarantined == 0
    assert {pk: json.loads(record) for pk, record in raw.items()} == {
        pk: decoded[pk] for pk in raw}
    if window is None:  # a full or incremental read lands every record it read
        assert set(raw) == set(decoded)
