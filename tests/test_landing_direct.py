"""Staged pages go straight into the warehouse (warehouse/loading.py): a read leaves the API's
page files in its staging folder and no database of its own; the warehouse's connection reads
them when they land, and leaves nothing behind on that connection, even when a page is cut
short, so the step's next landing on the same (shared) connection works."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from connectors.errors import SourceError
from connectors.pages import RawPage
from connectors.streams import Stream, Window
from warehouse.loading import land, land_staged, stage

pytestmark = pytest.mark.fast

ENTRIES = Stream("test", "entries", "id", event_time_field="at", write_mode="replace_window")
JAN = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


def page(ids: range) -> RawPage:
    return RawPage(json.dumps([{"id": f"e{n}", "at": f"2025-01-{n % 28 + 1:02d}T09:00:00Z"}
                               for n in ids]).encode())


def temporary_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in conn.execute(
        "select table_name from duckdb_tables() where temporary").fetchall()]


def test_a_read_stages_page_files_only_and_the_warehouse_reads_them(tmp_path: Path) -> None:
    with stage(ENTRIES, [page(range(0, 5)), page(range(5, 8))], folder=tmp_path) as staged:
        files = sorted(p.relative_to(staged.folder).as_posix()
                       for p in staged.folder.rglob("*") if p.is_file())
        assert files == ["pages/000000000000.json", "pages/000000000001.json"]
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
            stats = land_staged(conn, staged, "run", JAN)
            assert (stats.pages, stats.records, stats.rows_written) == (2, 8, 8)
            assert temporary_tables(conn) == []
            assert conn.execute("select count(distinct _pk) from raw.test__entries"
                                ).fetchone() == (8,)
    assert not staged.folder.exists()


def test_a_page_cut_short_leaves_the_connection_clean_for_the_next_landing(
        conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, ENTRIES, [page(range(0, 4))], "first", JAN)
    cut = RawPage(b'[{"id": "e9", "at": "2025-01-02T09:00:00Z"}, {"id": "e1')
    with pytest.raises(SourceError, match="not valid JSON"):
        land(conn, ENTRIES, [page(range(0, 2)), cut], "broken", JAN)
    assert temporary_tables(conn) == []
    assert conn.execute("select count(*), max(_run_id) from raw.test__entries "
                        "where _deleted_at is null").fetchone() == (4, "first")
    stats = land(conn, ENTRIES, [page(range(0, 6))], "again", JAN)  # same connection
    assert (stats.rows_written, stats.deleted) == (6, 0)


def test_a_warehouse_table_named_like_the_landing_s_own_is_left_alone(
        conn: duckdb.DuckDBPyConnection) -> None:
    for name in ("landing", "landing_once", "staging_slice"):
        conn.execute(f"create table {name} as select 'mine' as x")
    conn.execute("create view landed as select 'mine' as x")
    land(conn, ENTRIES, [page(range(0, 3)), page(range(2, 4))], "run", JAN)  # e2 twice
    for name in ("landing", "landing_once", "staging_slice", "landed"):
        assert conn.execute(f"select x from main.{name}").fetchall() == [("mine",)], name
    assert conn.execute("select count(*) from raw.test__entries").fetchone() == (4,)
