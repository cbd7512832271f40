"""Landing pages in raw tables: replace, never duplicate; fail, and leave the table as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest

from connectors.streams import Page, Stream, Window
from warehouse.loading import land

FULL = Stream("test", "things", "id")
WINDOWED = Stream("test", "entries", "id", event_time_field="span.start",
                  write_mode="replace_window")
JAN = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
FEB = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))


@pytest.fixture()
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as connection:
        yield connection


def pages(*sizes: int, start: int = 0) -> Iterator[Page]:
    n = start
    for size in sizes:
        yield [{"id": n + i, "name": f"thing {n + i}", "nested": {"ok": True}}
               for i in range(size)]
        n += size


def rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return conn.execute(f"select _pk, _record->>'name' from {table} order by _pk::int").fetchall()


def test_a_rerun_replaces_and_never_duplicates(conn: duckdb.DuckDBPyConnection) -> None:
    first = land(conn, FULL, pages(3, 3, 1), "run-1")
    assert (first.pages, first.records, first.rows_written) == (3, 7, 7)
    land(conn, FULL, pages(3, 3, 1), "run-2")
    assert len(rows(conn, "raw.test__things")) == 7
    assert conn.execute("select distinct _run_id from raw.test__things").fetchall() == [("run-2",)]


def test_the_same_key_twice_in_one_pull_keeps_the_last(conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, FULL, [[{"id": 1, "name": "old"}], [{"id": 1, "name": "new"}]], "run-1")
    assert rows(conn, "raw.test__things") == [("1", "new")]


def test_a_failed_pull_leaves_the_last_good_table(conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, FULL, pages(5), "good")

    def breaks_midway() -> Iterator[Page]:
        yield from pages(2, start=100)
        raise ConnectionError("connection dropped mid-page")

    with pytest.raises(ConnectionError):
        land(conn, FULL, breaks_midway(), "broken")
    assert rows(conn, "raw.test__things") == [(str(i), f"thing {i}") for i in range(5)]


def test_unicode_and_quotes_survive(conn: duckdb.DuckDBPyConnection) -> None:
    name = "Zoë's \"Café\" 🚀; drop table raw.test__things; --"
    land(conn, FULL, [[{"id": "x", "name": name}]], "run-1")
    assert conn.execute("select _record->>'name' from raw.test__things").fetchone() == (name,)


def test_records_without_a_key_are_quarantined(conn: duckdb.DuckDBPyConnection) -> None:
    stats = land(conn, FULL, [[{"id": 1, "name": "a"}, {"name": "no id"}]], "run-1")
    assert (stats.rows_written, stats.quarantined) == (1, 1)
    assert conn.execute("select source, stream, reason, record->>'name' from raw.quarantine"
                        ).fetchall() == [("test", "things", "no primary key (id)", "no id")]


def entry(n: int, start: str) -> dict:
    return {"id": n, "name": f"entry {n}", "span": {"start": start}}


def test_a_window_replaces_only_its_own_rows(conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, WINDOWED, [[entry(1, "2025-01-10T09:00:00Z"), entry(2, "2025-02-03T09:00:00Z")]],
         "jan", JAN)
    land(conn, WINDOWED, [[entry(2, "2025-02-03T09:00:00Z"), entry(3, "2025-02-04T09:00:00Z")]],
         "feb", FEB)
    # Entry 2 was fetched with January's margin but belongs to February: landed once, by Feb.
    assert conn.execute("select _pk, _run_id from raw.test__entries order by _pk").fetchall() == [
        ("1", "jan"), ("2", "feb"), ("3", "feb")]
    # Re-landing January with entry 1 gone marks it deleted (kept, not dropped) and leaves
    # February alone.
    land(conn, WINDOWED, [[entry(2, "2025-02-03T09:00:00Z")]], "jan-again", JAN)
    assert conn.execute("select _pk, _deleted_at is not null from raw.test__entries "
                        "order by _pk").fetchall() == [("1", True), ("2", False), ("3", False)]
    # If it comes back, it is live again.
    land(conn, WINDOWED, [[entry(1, "2025-01-10T09:00:00Z")]], "jan-third", JAN)
    assert conn.execute("select _deleted_at from raw.test__entries where _pk = '1'"
                        ).fetchone() == (None,)


def test_an_entry_moved_to_another_window_is_not_doubled(
        conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, WINDOWED, [[entry(7, "2025-01-31T10:00:00Z")]], "jan", JAN)
    land(conn, WINDOWED, [[entry(7, "2025-02-01T10:00:00Z")]], "feb", FEB)
    assert conn.execute("select _pk, _event_at::varchar from raw.test__entries").fetchall() == [
        ("7", "2025-02-01 10:00:00+00")]


def test_a_windowed_stream_needs_a_window(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="window"):
        land(conn, WINDOWED, [[entry(1, "2025-01-10T09:00:00Z")]], "run")
