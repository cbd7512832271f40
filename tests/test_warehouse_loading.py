"""Landing pages in raw tables: replace, never duplicate; fail, and leave the table as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from connectors.streams import Page, Stream, Window
from warehouse.loading import MassDeletion, get_cursor, land

pytestmark = pytest.mark.fast

FULL = Stream("test", "things", "id")
WINDOWED = Stream("test", "entries", "id", event_time_field="span.start",
                  write_mode="replace_window")
JAN = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
FEB = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))


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


def test_a_keyless_record_does_not_switch_off_deletion_marking(
        conn: duckdb.DuckDBPyConnection) -> None:
    twelve = [entry(n, f"2025-01-{n + 1:02d}T09:00:00Z") for n in range(1, 13)]
    land(conn, WINDOWED, [twelve], "jan", JAN)
    # Entry 1 was deleted in the tracker; the re-pull also carries a record with no id.
    keyless = {"name": "no id", "span": {"start": "2025-01-20T09:00:00Z"}}
    stats = land(conn, WINDOWED, [[*twelve[1:], keyless]], "jan-again", JAN)
    assert stats.quarantined == 1
    assert conn.execute("select _pk from raw.test__entries where _deleted_at is not null"
                        ).fetchall() == [("1",)]


def test_every_keyless_record_is_quarantined_even_when_others_repeat(
        conn: duckdb.DuckDBPyConnection) -> None:
    stats = land(conn, FULL, [[{"id": 1, "name": "old"}, {"name": "a"}],
                              [{"id": 1, "name": "new"}, {"name": "b"}]], "run-1")
    assert (stats.rows_written, stats.quarantined) == (1, 2)
    assert sorted(r[0] for r in conn.execute(
        "select record->>'name' from raw.quarantine").fetchall()) == ["a", "b"]
    assert rows(conn, "raw.test__things") == [("1", "new")]


INCREMENTAL = Stream("test", "accounts", "id", cursor_field="modified", write_mode="merge")


def test_a_cursor_that_is_not_a_time_or_far_in_the_future_does_not_move_the_watermark(
        conn: duckdb.DuckDBPyConnection) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stats = land(conn, INCREMENTAL, [[
        {"id": 1, "name": "a", "modified": "2025-01-02T00:00:00.000Z"},
        {"id": 2, "name": "b", "modified": "garbage"},
        {"id": 3, "name": "c", "modified": "2999-01-01T00:00:00.000Z"},
        {"id": 4, "name": "d", "modified": soon},  # within the clock-skew tolerance
    ]], "run-1")
    assert stats.cursor == soon
    assert get_cursor(conn, "test", "accounts") == soon
    assert stats.quarantined == 2
    reasons = dict(conn.execute("select record_id, reason from raw.quarantine").fetchall())
    assert set(reasons) == {"2", "3"}
    assert "not a timestamp" in reasons["2"] and "future" in reasons["3"]
    assert [r[0] for r in rows(conn, "raw.test__accounts")] == ["1", "4"]


def test_a_lone_surrogate_is_replaced_and_the_record_kept(
        conn: duckdb.DuckDBPyConnection) -> None:
    # An emoji cut in half by a client: the API's JSON says "\ud83d", Python holds a lone
    # surrogate, which is not UTF-8.
    stats = land(conn, FULL, [[{"id": 1, "name": "Kickoff \ud83d"},
                               {"id": 2, "name": "fine 🚀", "\udc00key": "x"}]], "run-1")
    assert (stats.rows_written, stats.repaired) == (2, 2)
    assert rows(conn, "raw.test__things") == [("1", "Kickoff \ufffd"), ("2", "fine 🚀")]


def test_a_nul_character_is_removed_and_the_record_kept(
        conn: duckdb.DuckDBPyConnection) -> None:
    # PostgreSQL's text cannot hold U+0000: one in any CRM string would stop every publish.
    stats = land(conn, FULL, [[{"id": 1, "name": "Acme\u0000 Corp"},
                               {"id": 2, "name": "fine", "odd\u0000key": "x"},
                               {"id": 3, "name": "a backslash: \\u0000"}]], "run-1")
    assert (stats.rows_written, stats.repaired) == (3, 2)
    assert rows(conn, "raw.test__things") == [
        ("1", "Acme Corp"), ("2", "fine"), ("3", "a backslash: \\u0000")]
    assert conn.execute("select count(*) from raw.test__things "
                        "where contains(_record::varchar, chr(0))").fetchone() == (0,)
    assert conn.execute("select _record->>'oddkey' from raw.test__things where _pk = '2'"
                        ).fetchone() == ("x",)


def test_a_full_pull_that_would_delete_most_of_the_table_stops(
        conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, FULL, pages(20), "full")
    with pytest.raises(MassDeletion) as refused:
        land(conn, FULL, pages(5), "shrunk")
    message = str(refused.value)
    assert "test things" in message and "15 of 20" in message
    assert "allow_mass_delete" in message
    assert len(rows(conn, "raw.test__things")) == 20  # nothing changed
    land(conn, FULL, pages(5), "allowed", allow_mass_delete=True)
    assert len(rows(conn, "raw.test__things")) == 5


def test_a_window_re_pull_that_would_mark_most_of_it_deleted_stops(
        conn: duckdb.DuckDBPyConnection) -> None:
    twelve = [entry(n, f"2025-01-{n + 1:02d}T09:00:00Z") for n in range(1, 13)]
    land(conn, WINDOWED, [twelve], "jan", JAN)
    with pytest.raises(MassDeletion, match="7 of 12"):
        land(conn, WINDOWED, [twelve[:5]], "jan-shrunk", JAN)
    assert conn.execute("select count(*) from raw.test__entries where _deleted_at is null"
                        ).fetchone() == (12,)
    land(conn, WINDOWED, [twelve[:7]], "jan-some-gone", JAN)  # 5 of 12: a decision not needed
    assert conn.execute("select count(*) from raw.test__entries where _deleted_at is null"
                        ).fetchone() == (7,)


def test_a_small_table_may_empty(conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, FULL, pages(9), "full")
    land(conn, FULL, [], "empty")
    assert rows(conn, "raw.test__things") == []
