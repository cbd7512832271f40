"""Landing connector pages in raw tables: staged aside, outside the warehouse, swapped in at once.

A pull has two phases. `stage` writes the connector's pages, as the API sent them (a `RawPage`'s
response bytes, connectors/pages.py), to a staging folder, and DuckDB's JSON and CSV readers
read them into a staging DuckDB file of its own (a batch of pages a statement; no record is a
Python object, memory-bounded and spilling to disk), so the slow part, the network, never holds
the warehouse: another run, or anyone, can write the
warehouse meanwhile. `land_staged` then opens nothing itself: given a warehouse connection, it
attaches the staged file and, in one transaction, replaces what the pull covers: the whole table
for a full pull, the window's rows for a windowed stream, or the pulled records (upserted on
their key) for an incremental one, whose cursor advances in the same transaction, as do the
stream's typed staging tables, for what the pull touched (warehouse/staging.py). A pull that
fails half-way therefore leaves the raw table and its cursor exactly as they were, and a re-run
replaces rather than duplicates. `land` does both, for callers that hold a connection anyway.

One failure is kept rather than thrown away: when an API's quota runs out in the middle of an
incremental pull, whose pages come in cursor order, the pages read so far are committed with the
cursor they reached, and the next run resumes from there.

What the landing refuses, rather than write a wrong table without a word:
- a record without a key, a windowed record without a readable instant, and (for incremental
  streams) a record whose cursor value is not a timestamp or lies more than
  `CURSOR_TOLERANCE` in the future: each is quarantined with its reason, and never moves the
  cursor (a cursor in the year 2999 would skip every later change);
- a full pull or window re-pull that would delete, or mark deleted, more than
  `MASS_DELETE_SHARE` of the rows it covers (an API that suddenly answers with little or
  nothing): `MassDeletion`, unless the caller allows it. Tables of fewer than
  `MASS_DELETE_MIN_ROWS` rows are exempt: there a few deletions are a large share by nature.
A string with a lone UTF-16 surrogate (an emoji cut in half by a client, sent as `"\\ud83d"`)
is not UTF-8: the surrogate is replaced by U+FFFD and the record kept (counted in `repaired`).
A NUL character (U+0000, sent as `"\\u0000"`) is removed the same way, keys too, and counted
in `repaired`: PostgreSQL's text cannot hold it, so one NUL would stop every publish there. Only
a page that holds one is parsed in Python for that (connectors/pages.py).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from connectors.errors import SourceError, SourceLimitReached
from connectors.pages import TOGGL_ROW_FIELDS, RawPage, Shape, dumps, repaired
from connectors.streams import AnyPage, Stream, Window
from warehouse import staging
from warehouse.schema import ensure_raw_table, ensure_schemas
from warehouse.sql import literal, run, transaction

# A cursor value this far ahead of the clock is a broken record, not clock skew.
CURSOR_TOLERANCE = timedelta(days=1)
# A pull may delete (or mark deleted) at most this share of what it covers without being told.
MASS_DELETE_SHARE = 0.5
# ... in tables of at least this many rows.
MASS_DELETE_MIN_ROWS = 10


class MassDeletion(RuntimeError):
    """A pull would delete most of what it covers; nothing was written."""


@dataclass
class LandingStats:
    pages: int = 0
    records: int = 0
    rows_written: int = 0
    quarantined: int = 0
    repaired: int = 0  # records whose lone surrogates became U+FFFD, or whose NULs were removed
    deleted: int = 0  # rows removed by a full pull, or marked deleted by a window re-pull
    cursor: str | None = None
    limit_reached: str | None = None  # the quota error that cut an incremental pull short


@dataclass
class Staged:
    """A finished read: its pages as files, waiting to be landed (read by DuckDB then)."""

    stream: Stream
    mode: str
    folder: Path
    files: dict[Shape, list[str]]  # each shape's page files, in the order read
    stats: LandingStats


@contextmanager
def stage(stream: Stream, pages: Iterable[AnyPage], write_mode: str | None = None,
          folder: str | Path | None = None) -> Iterator[Staged]:
    """Write every page to a folder under `folder` (the system's temporary folder by default),
    deleted when the block ends. Opens no database: the pages are read by the warehouse's own
    connection when they land (`land_staged`)."""
    mode = write_mode or stream.write_mode
    directory = Path(tempfile.mkdtemp(prefix=f"staging-{stream.table}-", dir=folder))
    try:
        stats = LandingStats()
        files = _PageFiles(directory / "pages")
        try:
            for page in pages:
                stats.pages += 1
                files.add(page)
        except SourceLimitReached as error:
            if mode != "merge" or not error.resumable:
                # A partial full pull would delete what it did not reach; pages out of
                # cursor order (a Salesforce Bulk job's) would advance past unread records.
                raise
            stats.limit_reached = str(error)
        stats.repaired = files.repaired
        yield Staged(stream, mode, directory, files.batch, stats)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def land(
    conn: duckdb.DuckDBPyConnection,
    stream: Stream,
    pages: Iterable[AnyPage],
    run_id: str,
    window: Window | None = None,
    write_mode: str | None = None,
    allow_mass_delete: bool = False,
    staging_folder: str | Path | None = None,
) -> LandingStats:
    """Stage a pull and land it; `write_mode` overrides the stream's (a full refresh of a merge
    stream)."""
    if (write_mode or stream.write_mode) == "replace_window" and window is None:
        raise ValueError(f"{stream.table} is windowed: a window is required")
    prepared(conn, stream)
    with stage(stream, pages, write_mode, staging_folder or _beside(conn)) as staged:
        return land_staged(conn, staged, run_id, window, allow_mass_delete)


def _beside(conn: duckdb.DuckDBPyConnection) -> Path | None:
    """The folder of the connection's database file (the disk provisioned for it), if any."""
    row = conn.execute("select path from duckdb_databases() "
                       "where database_name = current_database()").fetchone()
    return Path(row[0]).resolve().parent if row and row[0] else None


def land_staged(conn: duckdb.DuckDBPyConnection, staged: Staged, run_id: str,
                window: Window | None = None, allow_mass_delete: bool = False,
                scope: Collection[str] | None = None) -> LandingStats:
    """Replace what a staged pull covers, in one transaction on the warehouse connection.

    `scope`: for a stream with a `scope_field`, the values its read covered (Clockify: the
    members read, known once its pages are staged); a window's records of anyone else are
    neither replaced nor marked deleted.
    """
    stream, mode, stats = staged.stream, staged.mode, staged.stats
    table = prepared(conn, stream)
    params: dict[str, Any] = {"run_id": run_id,
                              "source": stream.source, "stream": stream.name,
                              "cursor_path": f"$.{stream.cursor_field}"}
    in_window = "true"
    if mode == "replace_window":
        if window is None:
            raise ValueError(f"{stream.table} is windowed: a window is required")
        params |= {"window_start": window.start, "window_end": window.end}
        in_window = "_event_at >= $window_start and _event_at < $window_end"
        if stream.scope_field and scope is not None:
            params["scope"] = sorted(scope)
            field = literal(f"$.{stream.scope_field}")
            in_window += (f" and coalesce(json_extract_string(_record, {field}) "
                          "in (select unnest($scope::varchar[])), false)")
    check_cursor = bool(stream.cursor_field) and mode == "merge"

    try:
        with transaction(conn):
            stats.records = _read_pages(conn, staged)
            # A record read twice (an incremental boundary, a page that shifted) counts once,
            # as last read; most pulls have no such record, and then nothing is copied.
            # Records without a key are each kept (and quarantined), never folded into one.
            row = conn.execute("select count(_pk) - count(distinct _pk) "
                               "from landing").fetchone()
            source = "landing"
            if row and row[0]:
                conn.execute("""
                    create or replace temp table landing_once as
                    select * from landing
                    qualify _pk is null or row_number() over (
                        partition by _pk order by _seq desc, rowid desc) = 1""")
                source = "landing_once"
            # Views take no bound parameters: the path is the stream's declared field.
            cursor = (f"json_extract_string(_record, {literal(params['cursor_path'])})"
                      if stream.cursor_field else "null::varchar")
            conn.execute(f"""
                create or replace temp view landed_all as
                select _pk, _event_at, _record, {cursor} as _cursor,
                       try_cast({cursor} as timestamptz) as _cursor_at
                from {source}""")
            stats.quarantined = _quarantine(conn, stream, run_id, check_cursor)
            # What lands: keyed records (with a sound cursor, for an incremental stream).
            conn.execute(f"""
                create or replace temp view landed as
                select * from landed_all where _pk is not null
                {_SOUND_CURSOR if check_cursor else ''}""")
            if mode == "replace":
                covered = _count(conn, f"select count(*) from {table}", params)
                stats.deleted = _count(conn, f"""
                    select count(*) from {table} t
                    where not exists (select 1 from landed l where l._pk = t._pk)""", params)
                _refuse_mass_delete(stream, stats.deleted, covered, "delete",
                                    allow_mass_delete, window)
                conn.execute(f"delete from {table}")
            elif mode == "merge":
                conn.execute(f"delete from {table} where _pk in (select _pk from landed)")
            else:
                # A record the window held that the source no longer returns was deleted
                # there: kept, and marked (Clockify sends no tombstones; Toggl's reports omit
                # deletions).
                covered = _count(conn, f"select count(*) from {table} "
                                 f"where {in_window} and _deleted_at is null", params)
                stats.deleted = _count(conn, f"""
                    update {table} t set _deleted_at = now(), _run_id = $run_id
                    where {in_window} and _deleted_at is null
                      and not exists (select 1 from landed l
                                      where l._pk = t._pk and {_qualified(in_window)})""",
                                       params)
                _refuse_mass_delete(stream, stats.deleted, covered, "mark deleted",
                                    allow_mass_delete, window)
                # A record that moved into this window from another one is replaced, not
                # doubled.
                run(conn, f"delete from {table} where _pk in "
                    f"(select _pk from landed where {in_window})", params)
            stats.rows_written = _count(conn, f"""
                insert into {table}
                select _pk, _event_at, _record, now(), $run_id, null from landed
                where {in_window}""", params)
            if stream.cursor_field and mode in ("merge", "replace"):
                stats.cursor = _advance_cursor(conn, params, reset=mode == "replace")
            _refresh_staging(conn, stream, mode, table, in_window, params)
            if mode == "replace_window":  # its months now hold what the source has
                run(conn, "insert into raw._windows values ($source, $stream, $window_start, "
                    "$window_end, now(), $run_id)", params)
    finally:
        # Qualified: a table of the warehouse's own by one of these names is never dropped.
        conn.execute(f"drop table if exists temp.{staging.SLICE}")
        conn.execute("drop view if exists temp.landed")
        conn.execute("drop view if exists temp.landed_all")
        conn.execute("drop table if exists temp.landing_once")
        conn.execute("drop table if exists temp.landing")
    return stats


def prepared(conn: duckdb.DuckDBPyConnection, stream: Stream) -> str:
    """The stream's raw table, its schemas and the staging macros made sure of once per
    connection (committed on their own: a landing that fails leaves them), not once a landing:
    a step's streams share one connection (pipelines/resources.py)."""
    done = _PREPARED.setdefault(conn, set())
    table = f"raw.{stream.table}"
    if "schemas" not in done:
        ensure_schemas(conn)
        staging.create_macros(conn)
        done.add("schemas")
    if table not in done:
        ensure_raw_table(conn, stream)
        done.add(table)
    return table


# What `prepared` made sure of, per open connection.
_PREPARED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, set[str]] = (
    weakref.WeakKeyDictionary())


def _refresh_staging(conn: duckdb.DuckDBPyConnection, stream: Stream, mode: str, table: str,
                     in_window: str, params: dict[str, Any]) -> None:
    """Type what this pull touched into the stream's staging tables, in its transaction: every
    row for a full pull; the upserted keys for an incremental one; the window's rows, those
    just marked deleted included, for a windowed one (warehouse/staging.py)."""
    if mode == "replace":
        staging.refresh(conn, table, sliced=False, macros=False)
        return
    touched = ("select _pk from landed" if mode == "merge"
               else f"select _pk from {table} where {in_window}")
    run(conn, f"create or replace temp table {staging.SLICE} as {touched}", params)
    staging.refresh(conn, table, sliced=True, macros=False)


# An instant, and not one further ahead than clock skew explains.
_HORIZON = f"now() + interval '{int(CURSOR_TOLERANCE.total_seconds())} seconds'"
_SOUND_CURSOR = f"and _cursor_at is not null and _cursor_at <= {_HORIZON}"


def _qualified(condition: str) -> str:
    return condition.replace("_event_at", "l._event_at")


def _count(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> int:
    row = run(conn, sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _refuse_mass_delete(stream: Stream, deleted: int, covered: int, verb: str,
                        allowed: bool, window: Window | None) -> None:
    if allowed or covered < MASS_DELETE_MIN_ROWS or deleted <= MASS_DELETE_SHARE * covered:
        return
    where = (f"the window {window.start.date()} to {window.end.date()} of "
             if window else "")
    raise MassDeletion(
        f"{stream.source} {stream.name}: this pull would {verb} {deleted} of {covered} rows "
        f"of {where}raw.{stream.table} (more than {MASS_DELETE_SHARE:.0%}), because the API "
        f"no longer returned them. Nothing was written. If the source really lost them, re-run "
        f"with run config `allow_mass_delete: true` for raw/{stream.source}/{stream.name}; "
        f"otherwise check the source's credentials and filters (docs/reliability.md).")


def _advance_cursor(conn: duckdb.DuckDBPyConnection, params: dict[str, Any],
                    reset: bool = False) -> str | None:
    """Move the stream's cursor to the furthest sound cursor landed, never backwards (a full
    replace, `reset`, sets it afresh). The furthest is compared as time, not text."""
    row = run(conn, "select arg_max(_cursor, _cursor_at) from landed "
              f"where true {_SOUND_CURSOR}", params).fetchone()
    reached = row[0] if row else None
    current = None if reset else _sound_cursor(conn, params)
    if reached is None and not reset:
        return current
    if reached is not None and current is not None and not _later(conn, reached, current):
        return current
    run(conn, "delete from raw._state where source = $source and stream = $stream", params)
    if reached is not None:
        run(conn, "insert into raw._state values ($source, $stream, $cursor, now(), $run_id)",
            params | {"cursor": reached})
    return reached


def _sound_cursor(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> str | None:
    """The stored cursor, unless an older version stored one that is no instant or is in the
    future: then it is replaced by what this pull reached."""
    row = run(conn, "select cursor_value from raw._state where source = $source "
              f"and stream = $stream and try_cast(cursor_value as timestamptz) <= {_HORIZON}",
              params).fetchone()
    return row[0] if row else None


def _later(conn: duckdb.DuckDBPyConnection, a: str, b: str) -> bool:
    row = conn.execute("select $a::timestamptz > $b::timestamptz", {"a": a, "b": b}).fetchone()
    return bool(row and row[0])


def get_cursor(conn: duckdb.DuckDBPyConnection, source: str, stream: str) -> str | None:
    ensure_schemas(conn)
    row = run(conn, "select cursor_value from raw._state where source = $source "
              "and stream = $stream", {"source": source, "stream": stream}).fetchone()
    return row[0] if row else None


def get_fields(conn: duckdb.DuckDBPyConnection, source: str, stream: str) -> str | None:
    """The fields the stream's records were last read with in full (None: unknown, e.g. a
    warehouse an older version wrote)."""
    row = run(conn, "select fields from raw._fields where source = $source and stream = $stream",
              {"source": source, "stream": stream}).fetchone()
    return row[0] if row else None


def set_fields(conn: duckdb.DuckDBPyConnection, source: str, stream: str, fields: str,
               run_id: str) -> None:
    params = {"source": source, "stream": stream, "fields": fields, "run_id": run_id}
    with transaction(conn):
        run(conn, "delete from raw._fields where source = $source and stream = $stream", params)
        run(conn, "insert into raw._fields values ($source, $stream, $fields, now(), $run_id)",
            params)


def reset_cursor(conn: duckdb.DuckDBPyConnection, source: str, stream: str) -> None:
    ensure_schemas(conn)
    run(conn, "delete from raw._state where source = $source and stream = $stream",
        {"source": source, "stream": stream})


def _quarantine(conn: duckdb.DuckDBPyConnection, stream: Stream, run_id: str,
                check_cursor: bool) -> int:
    """Records with no primary key, windowed records with no readable instant, and records of
    an incremental stream whose cursor is not a timestamp or is too far in the future."""
    result = run(conn, f"""
        insert into raw.quarantine
        select $source, $stream, _pk, reason, _record, now(), $run_id from (
            select *, case
                when _pk is null then $no_key
                when $windowed and _event_at is null then $no_instant
                when $check_cursor and _cursor is not null and _cursor_at is null
                    then $bad_cursor
                when $check_cursor and _cursor_at > {_HORIZON} then $future_cursor
            end as reason
            from landed_all
        ) where reason is not null
        """, {"source": stream.source, "stream": stream.name, "run_id": run_id,
              "no_key": f"no primary key ({stream.primary_key})",
              "windowed": stream.event_time_field is not None,
              "no_instant": f"no readable {stream.event_time_field}",
              "check_cursor": check_cursor,
              "bad_cursor": f"{stream.cursor_field} is not a timestamp",
              "future_cursor": f"{stream.cursor_field} is more than "
                               f"{CURSOR_TOLERANCE.days} day in the future"}).fetchone()
    return int(result[0]) if result else 0


class _PageFiles:
    """Pages written to files as they come: memory holds one page, the disk the pull's pages.

    A `RawPage` is written as the API sent it; a page a client handed over as dicts is written
    once, as a JSON array, by orjson. Each file is named by its page's number, which orders
    records as they were read (`_seq`, then place in the page).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.number = 0
        self.batch: dict[Shape, list[str]] = {}
        self.repaired = 0

    def add(self, page: AnyPage) -> None:
        if isinstance(page, RawPage):
            body, shape = page.body, page.shape
            self.repaired += page.repaired
        else:
            body, shape = self._array(list(page)), "array"
        if body.strip() in (b"", b"null"):  # no records (Toggl answers `null` for none)
            return
        file = self.folder / f"{self.number:012d}.{'csv' if shape == 'csv' else 'json'}"
        file.write_bytes(body)
        self.number += 1
        self.batch.setdefault(shape, []).append(str(file))

    def _array(self, records: list[dict[str, Any]]) -> bytes:
        try:
            body = dumps(records)
        except orjson.JSONEncodeError:  # a lone surrogate somewhere in the page
            return self._repaired(records)
        if _NUL in body:  # a NUL somewhere (or the text `\u0000`: then nothing changes)
            return self._repaired(records)
        return body

    def _repaired(self, records: list[dict[str, Any]]) -> bytes:
        """The page as JSON with its records' strings made text every warehouse can hold."""
        fixed = [repaired(record) for record in records]
        self.repaired += sum(new != old for new, old in zip(fixed, records, strict=True))
        return dumps(fixed)


def _read_pages(conn: duckdb.DuckDBPyConnection, staged: Staged) -> int:
    """Read the staged page files into the temporary table `landing` (spilled to disk beyond
    the memory limit), each record with its key and instant, in one statement a shape (one a
    file for CSV): DuckDB's readers parse them, in parallel, in C. Returns the records read."""
    stream = staged.stream
    key = f"$.{stream.primary_key}"
    event = f"$.{stream.event_time_field}" if stream.event_time_field else None
    # One parse of each record for both fields (a list of paths).
    paths = f"[{literal(key)}, {literal(event)}]" if event else f"[{literal(key)}]"
    instant = "try_cast(v[2] as timestamptz)" if event else "null::timestamptz"
    conn.execute("create or replace temp table landing "
                 "(_seq bigint, _pk varchar, _event_at timestamptz, _record json)")
    records = 0
    for shape, files in staged.files.items():
        for source in ([files] if shape != "csv" else [[f] for f in files]):
            try:
                row = run(conn, f"""
                    insert into landing
                    select parse_filename(filename, true)::bigint, nullif(v[1], ''),
                           {instant}, record
                    from (select filename, record, json_extract_string(record, {paths}) as v
                          from ({_SHAPES[shape]}))""", {"files": source}).fetchone()
            except duckdb.InvalidInputException as error:  # a body cut short, say
                raise SourceError(
                    stream.source, f"{stream.name}: the API sent a body that is "
                    f"not valid {'CSV' if shape == 'csv' else 'JSON'} (truncated?): "
                    f"{str(error)[:300]}") from error
            records += int(row[0]) if row else 0
    return records


# Each shape's records (connectors/pages.py), in page order then place in the page.
_SHAPES: dict[Shape, str] = {
    "array": "select filename, json as record "
             "from read_json_objects($files, format = 'array', filename = true)",
    # The whole page is one object to the reader (at most 16 MB, its default: HubSpot pages
    # hold 100 records at most).
    "results": "select filename, unnest(json_extract(json, '$.results[*]')) as record "
               "from read_json_objects($files, format = 'unstructured', filename = true)",
    # The row's fields, then the entry's own: an object spliced from the two texts.
    "toggl_report": f"""
        select filename, (case when entry = '{{}}' then row_fields
                               else substr(row_fields, 1, length(row_fields) - 1) || ','
                                    || substr(entry, 2) end)::json as record
        from (select filename,
                     json_object({', '.join(f"'{f}', json -> '{f}'" for f in TOGGL_ROW_FIELDS)}
                     )::varchar as row_fields,
                     unnest(json_extract(json, '$.time_entries[*]'))::varchar as entry
              from read_json_objects($files, format = 'array', filename = true))""",
    # Bulk CSV: every value text, empty for null (quoted or not), one file a statement.
    "csv": "select $files[1] as filename, to_json(t) as record "
           "from read_csv($files, header = true, all_varchar = true, delim = ',', "
           "quote = '\"', escape = '\"') t",
}

# How orjson writes U+0000 in a string.
_NUL = b"\\u0000"


def snapshot_ownership(conn: duckdb.DuckDBPyConnection, stream: Stream, owner_path: str,
                       day: date, run_id: str) -> int:
    """Record today's owner of every account in a freshly landed accounts table (one snapshot
    per source and day; a second pull the same day replaces it)."""
    params = {"source": stream.source, "day": day, "owner_path": owner_path, "run_id": run_id}
    with transaction(conn):
        run(conn, "delete from raw.ownership_snapshots where source = $source "
            "and snapshot_date = $day", params)
        row = run(conn, f"""
            insert into raw.ownership_snapshots
            select $day, $source, _pk, nullif(json_extract_string(_record, $owner_path), ''),
                   $run_id
            from raw.{stream.table}""", params).fetchone()
    return int(row[0]) if row else 0
