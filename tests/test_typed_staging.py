"""Typed staging tables kept incrementally equal what a rebuild from every raw row gives.

Records are typed once, when they land (warehouse/staging.py): each pull refreshes the staging
rows of what it touched. After several pulls with edits, deletions and a record moving between
windows, the staging tables, and the marts built from them, must be exactly what rebuilding the
staging tables whole from the raw rows gives (docs/reliability.md).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from dagster import TimeWindow

from connectors.streams import Page, Stream, Window
from pipelines.partitions import month_windows
from pipelines.settings import Settings
from sandbox.company import generate_company
from sandbox.servers import Sandbox
from tests.conftest import fake_connectors
from warehouse.loading import land
from warehouse.marts import build_month_marts
from warehouse.schema import prepare
from warehouse.staging import typed_models

pytestmark = pytest.mark.connectors

START, END = date(2025, 1, 1), date(2025, 5, 1)
RULES = Settings(reporting_timezone="Europe/Berlin")



def windows() -> list[Window]:
    zone = ZoneInfo(RULES.reporting_timezone)
    return list(month_windows(TimeWindow(datetime(2025, 1, 1, tzinfo=zone),
                                         datetime(2025, 5, 1, tzinfo=zone))))


def pull(sandbox: Sandbox) -> dict[tuple[str, int | None], tuple[Stream, list[Page]]]:
    """Every stream's pages, read over HTTP from the fakes (per window for time entries)."""
    connectors = fake_connectors(sandbox)
    pulled = {}
    for connector in connectors:
        for stream in connector.streams.values():
            if stream.write_mode == "replace_window":
                for i, window in enumerate(windows()):
                    pulled[(stream.table, i)] = (stream, list(connector.read(stream, window)))
            else:
                pulled[(stream.table, None)] = (stream, list(connector.read(stream)))
    return pulled


def records(pages: list[Page]) -> list[dict[str, Any]]:
    return [record for page in pages for record in page]


def land_all(conn: duckdb.DuckDBPyConnection, pulled: dict, run_id: str) -> None:
    for (_, index), (stream, pages) in pulled.items():
        window = windows()[index] if index is not None else None
        land(conn, stream, pages, run_id, window, allow_mass_delete=True)


def edited_pulls(pulled: dict) -> Iterator[tuple[Stream, list[Page], Window | None, str]]:
    """Later pulls as the APIs would answer them after edits in the source systems."""
    february, march = windows()[1], windows()[2]
    for table in ("clockify__time_entries", "toggl__time_entries"):
        stream, pages = pulled[(table, 1)]
        feb = copy.deepcopy(records(pages))
        assert len(feb) >= 3, table
        feb[1]["description"] = "edited: sf:0000 nothing"  # an edit
        del feb[0]  # a deletion: the entry vanished from the tracker
        yield stream, [feb], february, "edit-window"
    # A Clockify entry moved from March into February: landed with February, gone from March.
    stream, pages = pulled[("clockify__time_entries", 2)]
    mar = copy.deepcopy(records(pages))
    moved = mar.pop(0)
    start = february.start + timedelta(days=3, hours=9)
    moved["timeInterval"] = {"start": start.isoformat(),
                             "end": (start + timedelta(hours=2)).isoformat(),
                             "duration": "PT2H"}
    feb = copy.deepcopy(records(pulled[("clockify__time_entries", 1)][1]))
    yield stream, [[*feb[1:], moved]], february, "move-in"
    yield stream, [mar], march, "move-out"
    # Incremental CRM pulls: one account renamed and given another owner, one deal's amount.
    stream, pages = pulled[("salesforce__accounts", None)]
    accounts = copy.deepcopy(records(pages))
    accounts[0]["Name"] = "Renamed Account"
    accounts[0]["OwnerId"] = accounts[1]["OwnerId"]
    accounts[0]["SystemModstamp"] = "2025-04-20T00:00:00.000+0000"
    yield stream, [[accounts[0]]], None, "merge-accounts"
    stream, pages = pulled[("hubspot__deals", None)]
    deal = copy.deepcopy(records(pages)[0])
    deal["properties"]["amount"] = "12345.67"
    deal["updatedAt"] = "2025-04-20T00:00:00.000Z"
    yield stream, [[deal]], None, "merge-deals"
    # A full pull of a directory: a Toggl project renamed.
    stream, pages = pulled[("toggl__projects", None)]
    projects = copy.deepcopy(records(pages))
    projects[0]["name"] = "Renamed project"
    yield stream, [projects], None, "replace-projects"


def snapshot(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every typed staging table and every mart, rows sorted (lineage columns, and when the
    quarantine saw a record, left out)."""
    found = {}
    for model in typed_models():
        found[f"staging.{model.name}"] = conn.execute(
            f"select * from staging.{model.name} order by all").fetchall()
    for (table,) in conn.execute("select table_name from information_schema.tables "
                                 "where table_schema = 'marts' order by 1").fetchall():
        lineage = ("as_of, loaded_at, run_id, seen_at" if table == "quarantine"
                   else "as_of, loaded_at, run_id")
        found[f"marts.{table}"] = conn.execute(
            f"select * exclude ({lineage}) from marts.{table} order by all").fetchall()
    return found


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> dict:
    company = generate_company(seed=11, csm_count=3, account_count=8, start=START, end=END,
                               entries_per_day=1)
    with pytest.MonkeyPatch.context() as monkeypatch, \
            Sandbox(company).start(str(tmp_path_factory.mktemp("ca"))) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        return pull(sandbox)


def test_incremental_staging_equals_a_rebuild_from_raw(pulled: dict) -> None:
    conn = duckdb.connect(":memory:")
    streams = [stream for stream, _ in pulled.values()]
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    land_all(conn, pulled, "backfill")
    for stream, pages, window, run_id in edited_pulls(pulled):
        land(conn, stream, pages, run_id, window, allow_mass_delete=True)
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    build_month_marts(conn, START, END, "build")
    incremental = snapshot(conn)
    # The edits reached staging: the deletion, the move and the merges.
    assert ("Renamed Account",) in conn.execute(
        "select account_name from staging.stg_salesforce__accounts").fetchall()
    assert conn.execute("select count(*) from raw.clockify__time_entries "
                        "where _deleted_at is not null").fetchone()[0] >= 1

    conn.execute("delete from staging._models")  # every table rebuilt whole from raw
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    build_month_marts(conn, START, END, "build")
    rebuilt = snapshot(conn)
    assert rebuilt.keys() == incremental.keys()
    assert [name for name in rebuilt if rebuilt[name] != incremental[name]] == []
    assert rebuilt["marts.csm_period_metrics"]


def test_a_changed_setting_refreshes_the_staging_tables_that_read_it(pulled: dict) -> None:
    conn = duckdb.connect(":memory:")
    streams = [stream for stream, _ in pulled.values()]
    prepare(conn, streams, RULES.for_warehouse(), RULES.tables())
    land_all(conn, pulled, "backfill")
    hashes = dict(conn.execute("select model, definition_hash from staging._models").fetchall())
    owned = conn.execute("select count(owner_ref) from staging.stg_salesforce__accounts"
                         ).fetchone()[0]
    assert owned > 0
    other = Settings(reporting_timezone="Europe/Berlin", salesforce_owner_field="CSM__c")
    prepare(conn, streams, other.for_warehouse(), other.tables())
    after = dict(conn.execute("select model, definition_hash from staging._models").fetchall())
    changed = {name for name in after if after[name] != hashes.get(name)}
    assert {"stg_salesforce__accounts", "stg_salesforce__account_owner_history"} <= changed
    assert "stg_clockify__time_entries" not in changed
    # No account has a CSM__c field: the owner now comes from it, so none has one.
    assert conn.execute("select count(owner_ref) from staging.stg_salesforce__accounts"
                        ).fetchone() == (0,)


def test_a_pull_into_a_warehouse_of_an_older_version_waits_for_its_settings(
        conn: duckdb.DuckDBPyConnection) -> None:
    """A warehouse written before a setting existed has no column for it in `staging.settings`
    until the next marts build writes the settings: a pull landing there must not fail on the
    missing column (the staging table is rebuilt by that build instead)."""
    from tests.test_model_graph import STREAMS
    from warehouse.staging import refresh

    companies = next(s for s in STREAMS if s.table == "hubspot__companies")
    prepare(conn, STREAMS, RULES.for_warehouse(), RULES.tables())
    conn.execute("alter table staging.settings drop column hubspot_value_milestone_property")
    record = {"id": "1", "properties": {"name": "Acme",
                                        "hs_lastmodifieddate": "2025-01-01T00:00:00Z"},
              "archived": False, "createdAt": "2024-01-01T00:00:00Z"}
    assert land(conn, companies, [[record]], run_id="r1").rows_written == 1
    assert "stg_hubspot__companies" not in refresh(conn, f"raw.{companies.table}", sliced=False)
    # The next marts build writes the settings and rebuilds the table.
    prepare(conn, STREAMS, RULES.for_warehouse(), RULES.tables())
    assert conn.execute("select account_id from staging.stg_hubspot__companies").fetchall() == [
        ("hs:1",)]
