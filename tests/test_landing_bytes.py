"""Pages landed from the response's bytes: DuckDB's reader splits them into records, no Python
dict per record, and quarantine, repair, re-runs and memory behave as they do for dict pages."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest

from connectors.errors import SourceError
from connectors.pages import RawPage, array_page, checked
from connectors.streams import Stream, Window
from warehouse.loading import land, land_staged, stage

pytestmark = pytest.mark.fast

FULL = Stream("test", "things", "id")
WINDOWED = Stream("test", "entries", "id", event_time_field="span.start",
                  write_mode="replace_window")
JAN = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


def entry(n: int, day: int) -> dict:
    return {"id": f"e{n}", "span": {"start": f"2025-01-{day:02d}T09:00:00Z"}, "note": f"n{n}"}


def body(records: list) -> bytes:
    return json.dumps(records).encode()


def landed(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return conn.execute(f"select _pk, _record->>'note' from {table} "
                        "where _deleted_at is null order by _pk").fetchall()


def test_a_broken_record_is_quarantined_while_the_others_land_from_the_bytes(
        conn: duckdb.DuckDBPyConnection) -> None:
    page = RawPage(body([entry(1, 5), {"span": {"start": "2025-01-06T09:00:00Z"}},
                         {"id": "e3", "span": {"start": "not a time"}}, entry(4, 7)]))
    stats = land(conn, WINDOWED, [page], "run-1", JAN)
    assert (stats.records, stats.rows_written, stats.quarantined) == (4, 2, 2)
    assert landed(conn, "raw.test__entries") == [("e1", "n1"), ("e4", "n4")]
    assert sorted(conn.execute("select record_id, reason from raw.quarantine").fetchall(),
                  key=str) == [("e3", "no readable span.start"),
                               (None, "no primary key (id)")]
    assert page._records is None  # never parsed in Python


def test_an_empty_or_null_body_lands_nothing(conn: duckdb.DuckDBPyConnection) -> None:
    stats = land(conn, FULL, [RawPage(b"null"), RawPage(b"[]"), RawPage(b'[{"id": 1}]'),
                              RawPage(b'{"results": []}', "results")], "run")
    assert (stats.pages, stats.records, stats.rows_written) == (4, 1, 1)


def test_a_rerun_of_the_same_window_from_bytes_lands_no_duplicate(
        conn: duckdb.DuckDBPyConnection) -> None:
    pages = [body([entry(n, 3 + n) for n in range(1, 6)]), body([entry(6, 20)])]
    for run in ("first", "again"):
        stats = land(conn, WINDOWED, [RawPage(b) for b in pages], run, JAN)
        assert (stats.rows_written, stats.deleted) == (6, 0)
    assert conn.execute("select count(*), count(distinct _pk) from raw.test__entries"
                        ).fetchone() == (6, 6)


def test_the_same_key_twice_keeps_the_last_read_within_and_across_pages(
        conn: duckdb.DuckDBPyConnection) -> None:
    first = body([{"id": 1, "note": "old"}, {"id": 2, "note": "a"}, {"id": 1, "note": "newer"}])
    second = body([{"id": 2, "note": "b"}])
    land(conn, FULL, [RawPage(first), RawPage(second)], "run")
    assert landed(conn, "raw.test__things") == [("1", "newer"), ("2", "b")]


def test_a_nul_or_lone_surrogate_in_the_bytes_is_repaired_and_counted(
        conn: duckdb.DuckDBPyConnection) -> None:
    page = RawPage(b'[{"id": 1, "note": "Kickoff \\ud83d"}, {"id": 2, "note": "Acme\\u0000 Co"},'
                   b' {"id": 3, "note": "fine \\ud83d\\ude00"}]')
    stats = land(conn, FULL, [page], "run")
    assert (stats.rows_written, stats.repaired) == (3, 2)
    assert landed(conn, "raw.test__things") == [
        ("1", "Kickoff \ufffd"), ("2", "Acme Co"), ("3", "fine \U0001F600")]


def test_a_body_cut_short_fails_clearly_and_lands_nothing(
        conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, FULL, [RawPage(body([{"id": 1, "note": "kept"}]))], "good")
    with pytest.raises(SourceError, match="not valid JSON"):
        land(conn, FULL, [RawPage(body([{"id": 2}])), RawPage(b'[{"id": 3, "no')], "cut")
    assert landed(conn, "raw.test__things") == [("1", "kept")]
    # A connector that pages on the body's content finds out first.
    with pytest.raises(SourceError, match="not valid JSON"):
        checked(b'{"results": [{"id": "1", "prop', "results", "test", "things",
                "json_extract_string(body, '$.paging.next.after')")
    with pytest.raises(SourceError, match="not valid JSON"):
        array_page(b'[{"id": "1"}, {"id": "2", "no', "test", "things")
    assert len(array_page(b'[{"id": "1"}, {"id": "2"}]', "test", "things")) == 2


@pytest.mark.parametrize(("shape", "text"), [
    ("array", '[{"id": 1, "a": [1, {"b": null}]}, {"id": "2"}, {"x": "no key"}]'),
    ("results", '{"results": [{"id": "7", "properties": {"name": "Acme"}}, {"id": "8"}],'
                ' "paging": {"next": {"after": "8"}}}'),
    ("toggl_report", json.dumps([
        {"user_id": 4, "username": "ana", "project_id": None, "description": "x, \"y\"",
         "billable": True, "tag_ids": [1, 2],
         "time_entries": [{"id": 10, "start": "2025-01-02T09:00:00Z", "stop": None}, {}]},
        {"user_id": 5, "time_entries": []}])),
    ("csv", '"Id","Name","IsWon"\n"001","Acme, ""Inc""",""\n"002","Line\nbreak",true\n'),
])
def test_each_shape_lands_the_records_python_would_decode(
        shape: str, text: str, tmp_path) -> None:
    page = RawPage(text, shape)  # type: ignore[arg-type]
    with stage(FULL, [page], folder=tmp_path) as staged, duckdb.connect() as conn:
        assert page._records is None
        stats = land_staged(conn, staged, "run")
        # Landed, or quarantined for want of a key: every record, as Python decodes it.
        records = [json.loads(r[0]) for r in conn.execute(
            "select _record from raw.test__things union all "
            "select record from raw.quarantine").fetchall()]
    expected = RawPage(text, shape).records()  # type: ignore[arg-type]
    assert sorted(records, key=json.dumps) == sorted(expected, key=json.dumps)
    assert stats.records == len(records) > 0


def test_pages_are_not_held_while_they_are_read(tmp_path) -> None:
    """Each page is written out and let go before the next is read: memory holds one page,
    whatever the pull's size."""
    alive: list[weakref.ref] = []
    most = 0

    def pages() -> Iterator[RawPage]:
        nonlocal most
        for n in range(40):
            page = RawPage(body([{"id": n * 10 + i, "note": "x" * 200} for i in range(10)]))
            alive.append(weakref.ref(page))
            most = max(most, sum(ref() is not None for ref in alive))
            yield page
            del page

    with stage(FULL, pages(), folder=tmp_path) as staged, duckdb.connect() as conn:
        assert land_staged(conn, staged, "run").records == 400
    assert most <= 2  # the page being written, and the one just made
