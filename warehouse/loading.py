"""Landing connector pages in raw tables: through Arrow, staged aside, swapped in at once.

Pages are appended to a temporary landing table as they arrive (in Arrow batches of ~50,000
records, never row by row), so memory holds one batch at a time. Only when the pull has finished
does one transaction replace what the pull covers: the whole table for a full pull, the
window's rows for a windowed stream, or the pulled records (upserted on their key) for an
incremental one, whose cursor advances in the same transaction. A pull that fails half-way
therefore leaves the raw table and its cursor exactly as they were, and a re-run replaces
rather than duplicates.

One failure is kept rather than thrown away: when an API's quota runs out in the middle of an
incremental pull, whose pages come in cursor order, the pages read so far are committed with the
cursor they reached, and the next run resumes from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from connectors.errors import SourceLimitReached
from connectors.streams import Page, Stream, Window
from warehouse.schema import ensure_raw_table, ensure_schemas
from warehouse.sql import run


@dataclass
class LandingStats:
    pages: int = 0
    records: int = 0
    rows_written: int = 0
    quarantined: int = 0
    cursor: str | None = None
    limit_reached: str | None = None  # the quota error that cut an incremental pull short


def land(
    conn: duckdb.DuckDBPyConnection,
    stream: Stream,
    pages: Iterable[Page],
    run_id: str,
    window: Window | None = None,
    write_mode: str | None = None,
) -> LandingStats:
    """Land a pull; `write_mode` overrides the stream's (a full refresh of a merge stream)."""
    ensure_schemas(conn)
    table = ensure_raw_table(conn, stream)
    mode = write_mode or stream.write_mode
    stats = LandingStats()
    conn.execute("create or replace temp table landing "
                 "(_seq bigint, _pk varchar, _event_at timestamptz, _record json)")
    event_path = f"$.{stream.event_time_field}" if stream.event_time_field else None
    buffer = _Buffer(conn, stream.primary_key, event_path)
    try:
        for page in pages:
            stats.pages += 1
            stats.records += len(page)
            buffer.add(page)
    except SourceLimitReached as error:
        if mode != "merge":
            raise  # a partial full pull would delete what it did not reach
        stats.limit_reached = str(error)
    buffer.flush()

    params: dict[str, Any] = {"run_id": run_id,
                              "source": stream.source, "stream": stream.name,
                              "cursor_path": f"$.{stream.cursor_field}"}
    in_window = "true"
    if mode == "replace_window":
        if window is None:
            raise ValueError(f"{stream.table} is windowed: a window is required")
        params |= {"window_start": window.start, "window_end": window.end}
        in_window = "_event_at >= $window_start and _event_at < $window_end"

    conn.execute("begin transaction")
    try:
        # A record read twice (an incremental boundary, a page that shifted) counts once, as
        # last read; most pulls have no such record, and then nothing is copied.
        row = conn.execute("select count(_pk) - count(distinct _pk) from landing").fetchone()
        source = "landing"
        if row and row[0]:
            conn.execute("""
                create or replace temp table landing_once as
                select * from landing
                qualify row_number() over (partition by _pk order by _seq desc) = 1""")
            source = "landing_once"
        conn.execute(f"create or replace temp view landed as "
                     f"select _pk, _event_at, _record from {source}")
        stats.quarantined = _quarantine(conn, stream, run_id)
        if mode == "replace":
            conn.execute(f"delete from {table}")
        elif mode == "merge":
            conn.execute(f"delete from {table} where _pk in (select _pk from landed)")
        else:
            # A record the window held that the source no longer returns was deleted there:
            # kept, and marked (Clockify sends no tombstones; Toggl's reports omit deletions).
            run(conn, f"""
                update {table} set _deleted_at = now(), _run_id = $run_id
                where {in_window} and _deleted_at is null
                  and _pk not in (select _pk from landed where {in_window})""", params)
            # A record that moved into this window from another one is replaced, not doubled.
            run(conn, f"delete from {table} where _pk in "
                f"(select _pk from landed where {in_window})", params)
        stats.rows_written = run(conn, f"""
            insert into {table}
            select _pk, _event_at, _record, now(), $run_id, null from landed
            where _pk is not null and {in_window}
            """, params).fetchone()[0]
        if stream.cursor_field and mode in ("merge", "replace"):
            stats.cursor = _advance_cursor(conn, params)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return stats


def _advance_cursor(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> str | None:
    """Move the stream's cursor to the furthest record landed (never backwards). Cursor values
    are the APIs' fixed-width UTC timestamps, so text order is time order."""
    row = run(conn, """
        select max(json_extract_string(_record, $cursor_path)) from landed
        where _pk is not null""", params).fetchone()
    reached = row[0] if row else None
    current = get_cursor(conn, params["source"], params["stream"])
    if reached is None or (current is not None and current >= reached):
        return current
    run(conn, "delete from raw._state where source = $source and stream = $stream", params)
    run(conn, "insert into raw._state values ($source, $stream, $cursor, now(), $run_id)",
        params | {"cursor": reached})
    return reached


def get_cursor(conn: duckdb.DuckDBPyConnection, source: str, stream: str) -> str | None:
    ensure_schemas(conn)
    row = run(conn, "select cursor_value from raw._state where source = $source "
              "and stream = $stream", {"source": source, "stream": stream}).fetchone()
    return row[0] if row else None


def reset_cursor(conn: duckdb.DuckDBPyConnection, source: str, stream: str) -> None:
    ensure_schemas(conn)
    run(conn, "delete from raw._state where source = $source and stream = $stream",
        {"source": source, "stream": stream})


def _quarantine(conn: duckdb.DuckDBPyConnection, stream: Stream, run_id: str) -> int:
    """Records with no primary key, or windowed records with no readable instant."""
    result = run(conn, """
        insert into raw.quarantine
        select $source, $stream, _pk, reason, _record, now(), $run_id from (
            select *, case
                when _pk is null then $no_key
                when $windowed and _event_at is null then $no_instant
            end as reason
            from landed
        ) where reason is not null
        """, {"source": stream.source, "stream": stream.name, "run_id": run_id,
              "no_key": f"no primary key ({stream.primary_key})",
              "windowed": stream.event_time_field is not None,
              "no_instant": f"no readable {stream.event_time_field}"}).fetchone()
    return int(result[0]) if result else 0


class _Buffer:
    """Pages gathered into Arrow batches of ~50,000 records, each one insert into `landing`.

    Each page is written as one JSON array by orjson (UTF-8, as the API sent it), and DuckDB
    splits it into records and reads their keys and instants itself: the per-record work is in
    C, not in Python, and one insert per batch keeps DuckDB's per-statement cost off it. Memory
    holds one batch at most.
    """

    ROWS = 50_000

    def __init__(self, conn: duckdb.DuckDBPyConnection, primary_key: str,
                 event_path: str | None) -> None:
        self.conn = conn
        self.params = {"key_path": f"$.{primary_key}", "event_path": event_path}
        self.page_number = 0
        self.rows = 0
        self.pages: list[str] = []
        self.numbers: list[int] = []

    def add(self, page: Page) -> None:
        self.pages.append(orjson.dumps(page, default=str,
                                       option=orjson.OPT_NON_STR_KEYS).decode())
        self.numbers.append(self.page_number)
        self.page_number += 1
        self.rows += len(page)
        if self.rows >= self.ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pages:
            return
        batch = pa.table({"page_number": pa.array(self.numbers, pa.int64()),
                          "page": pa.array(self.pages, pa.string())})
        self.conn.register("landing_batch", batch)
        # _seq orders records as they were read: page, then place in the page.
        run(self.conn, """
            insert into landing
            select page_number * 4294967296 + position,
                   nullif(json_extract_string(record, $key_path), ''),
                   try_cast(json_extract_string(record, $event_path) as timestamptz),
                   record
            from (
                select page_number, unnest(records) as record,
                       generate_subscripts(records, 1) as position
                from (select page_number, json_extract(page::json, '$[*]') as records
                      from landing_batch)
            )""", self.params)
        self.conn.unregister("landing_batch")
        self.pages, self.numbers, self.rows = [], [], 0


def snapshot_ownership(conn: duckdb.DuckDBPyConnection, stream: Stream, owner_path: str,
                       day: date, run_id: str) -> int:
    """Record today's owner of every account in a freshly landed accounts table (one snapshot
    per source and day; a second pull the same day replaces it)."""
    params = {"source": stream.source, "day": day, "owner_path": owner_path, "run_id": run_id}
    conn.execute("begin transaction")
    try:
        run(conn, "delete from raw.ownership_snapshots where source = $source "
            "and snapshot_date = $day", params)
        row = run(conn, f"""
            insert into raw.ownership_snapshots
            select $day, $source, _pk, nullif(json_extract_string(_record, $owner_path), ''),
                   $run_id
            from raw.{stream.table}""", params).fetchone()
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return int(row[0]) if row else 0
