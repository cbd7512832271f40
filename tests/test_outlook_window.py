"""The outlook's inputs read only the time entries that can count in them (the 12 months before
as_of, warehouse/outlook.py, entry_window), and come out as they do from every entry."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.crm import assets as crm
from pipelines.resources import SettingsResource
from pipelines.time_tracking import assets as tt
from tests.conftest import TinyBuild
from warehouse.outlook import entry_window, outlook_sql
from warehouse.schema import prepare
from warehouse.sql import run


def test_the_outlook_inputs_are_the_same_from_the_window_as_from_every_entry(
        tiny_built: TinyBuild, tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_built.warehouse, database)
    settings = SettingsResource(path=str(tiny_built.folder / "settings.toml")).get()
    sql = outlook_sql("outlook_accounts")
    with duckdb.connect(str(database)) as conn:
        prepare(conn, [*crm.STREAMS, *tt.STREAMS], settings.for_warehouse(), settings.tables())
        entries = conn.execute("select count(*) from intermediate.int_time_entries__counted"
                               ).fetchall()[0][0]
        assert entries > 0
        # Within the tiny company's months, at their edges, and a year on (no entry in the
        # window: the hour inputs are NULL either way).
        for as_of in (datetime(2025, 1, 20, 9, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC),
                      datetime(2025, 3, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC)):
            every = run(conn, sql, {"as_of": as_of}).fetchall()
            with entry_window(conn, as_of):
                windowed = run(conn, sql, {"as_of": as_of}).fetchall()
                read = conn.execute("select count(*) from intermediate.int_time_entries__counted"
                                    ).fetchall()[0][0]
            assert windowed == every, as_of
            assert every, as_of
            if as_of.year == 2026:
                assert read == 0  # the window keeps out the entries that cannot count
        # Unset after: every reader sees every entry again.
        assert conn.execute("select count(*) from intermediate.int_time_entries__counted"
                            ).fetchall()[0][0] == entries
