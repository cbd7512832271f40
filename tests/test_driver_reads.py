"""A build that changed nothing the retention drivers' units read reuses the kept fit without
assembling the units (warehouse/driver_inputs.py); a change to anything they read (a landed or
re-landed time entry, an NPS response, a complete quarter's mart row, a setting) assembles them
again, and the units' own fingerprint decides whether to fit (warehouse/driver_fits.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import warehouse.drivers as drivers
from pipelines.crm import assets as crm
from pipelines.resources import SettingsResource
from pipelines.time_tracking import assets as tt
from tests.conftest import TinyBuild
from warehouse.driver_fits import TABLE
from warehouse.driver_inputs import tables_read
from warehouse.schema import prepare

AS_OF = datetime(2025, 3, 10, 9, tzinfo=UTC)


@pytest.fixture
def conn(tiny_built: TinyBuild, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_built.warehouse, database)
    settings = SettingsResource(path=str(tiny_built.folder / "settings.toml")).get()
    with duckdb.connect(str(database)) as conn:
        prepare(conn, [*crm.STREAMS, *tt.STREAMS], settings.for_warehouse(), settings.tables())
        # A complete quarter, so its rows are among what the units read (the tiny company's
        # months are January and February 2025: its quarter is open).
        conn.execute("update marts.team_period_metrics set period_status = 'complete' "
                     "where period_grain = 'quarter' and period_start = '2025-01-01'")
        yield conn


def drivers_after(conn: duckdb.DuckDBPyConnection) -> drivers.RetentionFit:
    return drivers.write_retention_drivers(conn, "test", AS_OF)


def test_nothing_the_units_read_changed_reuses_the_fit_without_the_units(
        conn: duckdb.DuckDBPyConnection) -> None:
    first = drivers_after(conn)
    rows = conn.execute("select * exclude (loaded_at) from marts.retention_drivers "
                        "order by input").fetchall()
    again = drivers_after(conn)
    assert first.reused in (None, "units")  # the tiny build's fit kept no reads yet
    assert again.reused == "reads"
    assert again.drivers == first.drivers and again.model == first.model
    assert conn.execute("select * exclude (loaded_at) from marts.retention_drivers "
                        "order by input").fetchall() == rows
    assert conn.execute(f"select count(*) from {TABLE}").fetchall() == [(1,)]


@pytest.mark.parametrize("change", [
    # a re-landed time entry (its stop moved)
    "update staging.stg_toggl__time_entries set stop_at = stop_at - interval 1 minute "
    "where entry_id = (select min(entry_id) from staging.stg_toggl__time_entries)",
    # a landed entry
    "insert into staging.stg_toggl__time_entries select * replace (entry_id || '-again' as "
    "entry_id, start_at + interval 1 hour as start_at, stop_at + interval 1 hour as stop_at) "
    "from staging.stg_toggl__time_entries limit 1",
    # an NPS response's date
    "update staging.stg_salesforce__feedback set responded_at = responded_at - interval 1 day "
    "where _pk = (select min(_pk) from staging.stg_salesforce__feedback)",
    # a complete quarter's row of a mart the units read
    "update marts.account_period_metrics set starting_arr = starting_arr + 1 "
    "where period_grain = 'quarter' and account_id = (select min(account_id) "
    "from marts.account_period_metrics where period_grain = 'quarter')",
    # a month built, or its quarter's status
    "update marts.team_period_metrics set period_status = 'open' "
    "where period_grain = 'quarter' and period_start = '2025-01-01'",
    # a setting
    "update staging.settings set onboarding_window_days = onboarding_window_days + 1",
], ids=["re-landed entry", "landed entry", "nps score", "complete quarter row",
        "quarter status", "setting"])
def test_a_change_to_what_the_units_read_assembles_them_again(
        conn: duckdb.DuckDBPyConnection, change: str) -> None:
    drivers_after(conn)
    assert drivers_after(conn).reused == "reads"
    before = conn.execute(f"select reads from {TABLE}").fetchall()
    assert conn.execute(change).fetchall()[0][0] > 0
    assert drivers_after(conn).reused in (None, "units")  # assembled, then fitted or reused
    assert conn.execute(f"select reads from {TABLE}").fetchall() != before
    assert drivers_after(conn).reused == "reads"  # and the new reads are kept


@pytest.mark.parametrize("change", [
    # the open month and quarter, rebuilt by every daily refresh
    "update marts.account_period_metrics set hours_all_csms = coalesce(hours_all_csms, 0) + 1 "
    "where period_grain = 'month'",
    # what the units never read
    "update marts.kpi_control set as_of = as_of",
    "update staging.stg_salesforce__tasks set subject = coalesce(subject, '') || '!'",
], ids=["month rows", "another mart", "tasks"])
def test_a_change_the_units_do_not_read_keeps_the_reuse(
        conn: duckdb.DuckDBPyConnection, change: str) -> None:
    drivers_after(conn)
    assert conn.execute(change).fetchall()[0][0] > 0
    assert drivers_after(conn).reused == "reads"


def test_the_reads_are_the_tables_under_the_units_views(conn: duckdb.DuckDBPyConnection) -> None:
    tables, views = tables_read(conn, drivers.units_sql())
    assert tables is not None and views
    assert {"marts.account_period_metrics", "marts.csm_period_metrics",
            "marts.team_period_metrics", "staging.settings", "staging.stg_toggl__time_entries",
            "staging.stg_clockify__time_entries", "staging.stg_salesforce__feedback",
            "staging.stg_salesforce__opportunities"} <= tables
    # Tables, never the views over them; nor what only the marts read.
    assert not {"intermediate.int_time_entries__keyed",
                "staging.stg_salesforce__tasks"} & tables
