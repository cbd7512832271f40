"""Building the marts for a range of months, replaced in one transaction.

The working models (`transforms/working/wrk_*.sql`) run into temporary tables of their own names,
then the marts (`transforms/marts/*.sql`), all in the model graph's order (transforms/graph.py)
and in one transaction. A range of months touches its months and every quarter and year that
overlaps them (`wrk_periods`); a mart that `replaces: periods` has those periods' rows deleted
and the new ones inserted, one that `replaces: table` is replaced whole, so readers see either
the old periods or the new ones, and a re-run never duplicates.

While the working models run, the build's entry window is set (`set_entry_window`): the time-entry
models then read from the typed staging tables only the entries that can overlap the periods
built, instead of every entry in history (docs/performance.md, Incremental marts), and the
inbound e-mails only those received in the periods' window, with the answers from its start on.
The marts themselves run without it, so the quarantine still sees every rejected entry. Before
that, the hours cube kept between builds is brought up to date for the build's closed months
(warehouse/hours_cube.py), so `wrk_entry_months` splits only the month of `as_of` from entries.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from transforms.graph import Model, ModelGraph, model_graph
from warehouse.columns import comment_marts
from warehouse.drivers import write_retention_drivers
from warehouse.hours_cube import refresh as refresh_hours_cube
from warehouse.outlook import MARTS as OUTLOOK_MARTS
from warehouse.outlook import build_outlook
from warehouse.sql import run, transaction

# Tables keyed by period, and tables replaced whole, in the order they are built.
MART_TABLES = tuple(m.name for m in model_graph().layer("marts") if m.replaces == "periods")
WHOLE_TABLES = tuple(m.name for m in model_graph().layer("marts") if m.replaces == "table")
LINEAGE_COLUMNS = ("as_of", "loaded_at", "run_id")
PERIODS = "wrk_periods"  # the periods a build replaces; every working model but it reads them
CUBE_READER = "wrk_entry_months"  # reads the hours cube kept between builds (hours_cube.py)
# The session variables the macro in_entry_window reads (transforms/macros/entries.sql), and
# those in_period_window reads (transforms/macros/instants.sql).
WINDOW_VARIABLES = ("entry_window_from", "entry_window_to",
                    "period_window_from", "period_window_to")


class MartSchemaError(RuntimeError):
    pass


def build_month_marts(
    conn: duckdb.DuckDBPyConnection, range_start: date, range_end: date, run_id: str,
    as_of: datetime | None = None, only: Collection[str] | None = None,
) -> dict[str, int]:
    """Rebuild the periods that the months [range_start, range_end) touch, measured to `as_of`
    (default: now); returns the rows written per table. `only`: the marts to write (only the
    working tables they read are built; the marts not named are read as the warehouse holds
    them).

    The range is first widened back to the months whose onboarding windows were still open
    when [range_start, ...) began (`reopened_months`), so an onboarding entry landed later
    reaches the month its account started in (docs/metrics.md, Onboarding)."""
    as_of = as_of or datetime.now(UTC)
    range_start = reopened_months(conn, range_start)
    params = {"range_start": range_start, "range_end": range_end, "run_id": run_id,
              "as_of": as_of}
    written: dict[str, int] = {}
    graph = model_graph()
    marts = [m for m in graph.layer("marts") if only is None or m.name in only]
    working = sorted(needed_working(graph, marts), key=lambda m: m.name != PERIODS)
    last_readers = last_readers_of([*working, *marts])
    try:
        with build_settings(conn), transaction(conn):
            # The settings are restored after the transaction ends (a failed build's aborted
            # transaction takes no statement but its rollback).
            # The periods first (they read no other working model), then the entry window is
            # set for every working model after them; working models never read marts.
            for model in working:
                run(conn, f"create or replace temp table {model.name} as\n{model.sql}", params)
                if model.name == PERIODS:
                    if any(m.name == CUBE_READER for m in working):
                        refresh_hours_cube(conn, as_of)  # its closed months, before the window
                    set_entry_window(conn)
                _drop_read_out(conn, model, last_readers)
            clear_entry_window(conn)  # the quarantine mart reads every rejected entry
            for model in marts:
                written[model.name] = _build_mart(conn, model, params)
                _drop_read_out(conn, model, last_readers)
            if only is None or not {"retention_drivers", *OUTLOOK_MARTS}.isdisjoint(only):
                # fitted on the marts just built; the outlook at as_of (renewals, churn risk
                # from the same fit, per CSM) is written whole whenever one of it is selected
                fitted = write_retention_drivers(
                    conn, run_id, as_of, write=only is None or "retention_drivers" in only)
                if fitted.written:
                    written["retention_drivers"] = len(fitted.drivers)
                if only is None or not set(OUTLOOK_MARTS).isdisjoint(only):
                    written |= build_outlook(conn, fitted, run_id, as_of)
            comment_marts(conn)
    finally:
        clear_entry_window(conn)  # also after a rollback, which a session variable outlives
        drop_build_tables(conn, graph)
    return written


def needed_working(graph: ModelGraph, marts: list[Model]) -> list[Model]:
    """The working models the marts written read, directly or through each other, and
    `wrk_periods` (in the graph's order): a mart selected alone builds only what it needs."""
    by_relation = {model.relation: model for model in graph.layer("working")}
    needed = {PERIODS}
    pending = [name for mart in marts for name in mart.inputs]
    while pending:
        name = pending.pop()
        if name in by_relation and name not in needed:
            needed.add(name)
            pending.extend(by_relation[name].inputs)
    return [model for model in graph.layer("working") if model.relation in needed]


def last_readers_of(models: list[Model]) -> dict[str, str]:
    """Each working table, but `wrk_periods`, with the last of `models` (in build order) that
    reads it: it is dropped once that model has run, so a build holds only the working tables
    still to be read (at scale they are hundreds of MB each). `wrk_periods` stays: every mart
    replaces its periods, and the population report reads it after the build."""
    made = {model.relation for model in models if model.layer == "working"} - {PERIODS}
    last: dict[str, str] = {}
    for model in models:
        for name in model.inputs & made:
            last[name] = model.relation
    return last


def _drop_read_out(conn: duckdb.DuckDBPyConnection, model: Model,
                   last_readers: dict[str, str]) -> None:
    """Drop the working tables whose last reader is `model`, which has just run."""
    for name in sorted(model.inputs):
        if last_readers.get(name) == model.relation:
            conn.execute(f"drop table if exists temp.{name}")


@contextmanager
def build_settings(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The engine settings of a marts build (docs/scaling.md, DuckDB settings), restored after.

    `preserve_insertion_order = false`: no working table or mart is read in the order it was
    written (every reader sorts or aggregates), and keeping the order makes DuckDB hold rows
    back to reorder them, so large scans and inserts need more memory and spill sooner.
    """
    before = conn.execute("select current_setting('preserve_insertion_order')").fetchone()
    conn.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        conn.execute(f"set preserve_insertion_order = {bool(before and before[0])}")


def reopened_months(conn: duckdb.DuckDBPyConnection, range_start: date) -> date:
    """The first month to rebuild so that every month built before whose onboarding windows
    reach past `range_start` is built again with the entries landed since: the earliest
    month, among those already in the marts, holding an onboarding start whose window ends
    after `range_start` (in the reporting time zone); `range_start` itself when there is none.
    """
    if not _exists(conn, "marts", "team_period_metrics"):
        return range_start
    row = run(conn, """
        with starts as (
            select min(service_start) as onboarding_start
            from intermediate.int_revenue__schedules
            group by account_id
        )
        select cast(min(date_trunc('month', onboarding_start)) as date)
        from starts cross join staging.settings as settings
        where onboarding_start < $range_start
          and onboarding_start + to_days(settings.onboarding_window_days) > $range_start
          and cast(date_trunc('month', onboarding_start) as date) in (
              select period_start from marts.team_period_metrics
              where period_grain = 'month')""", {"range_start": range_start}).fetchone()
    return min(range_start, row[0]) if row and row[0] else range_start


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = $schema and table_name = $name",
        {"schema": schema, "name": table}).fetchone()
    return bool(row and row[0])


def drop_build_tables(conn: duckdb.DuckDBPyConnection, graph: ModelGraph) -> None:
    """A finished build's temporary tables, but `wrk_periods` (what it rebuilt, which
    `outside_population` reads): at scale they hold hundreds of MB the connection would keep
    under its memory limit (a third 36-month rebuild on one connection ran out of it)."""
    for model in [*graph.layer("working"), *graph.layer("marts")]:
        if model.name != PERIODS:
            conn.execute(f"drop table if exists temp.{model.name}")


def _build_mart(conn: duckdb.DuckDBPyConnection, model: Model, params: dict[str, Any]) -> int:
    """Replace the mart's rows of the built periods (or the whole table); returns the rows
    written. The new rows go straight into the mart (no copy through a temporary table): the
    columns are read from the query's description, the built periods' rows deleted, then the
    query inserted; no mart reads its own table, so the delete cannot change what it computes."""
    table = model.name
    lineage = (f"select *, cast($as_of as timestamptz) as as_of, now() as loaded_at, "
               f"$run_id as run_id from (\n{model.sql}\n)")
    if model.replaces == "table":
        run(conn, f"create or replace table marts.{table} as\n{lineage}", params)
        row = conn.execute(f"select count(*) from marts.{table}").fetchone()
        return int(row[0]) if row else 0
    wanted = [(r[0], r[1]) for r in run(conn, f"describe\n{lineage}", params).fetchall()]
    _ensure_table(conn, table, wanted)
    conn.execute(f"delete from marts.{table} where (period_grain, period_start) in "
                 f"(select period_grain, period_start from {PERIODS})")
    row = run(conn, f"insert into marts.{table} by name\n{lineage}", params).fetchone()
    return int(row[0]) if row else 0


def set_entry_window(conn: duckdb.DuckDBPyConnection) -> None:
    """From now on the time-entry models read only the entries starting in [the earliest
    period start of `wrk_periods` less the longest entry that counts, its latest period end
    plus the onboarding window), and the inbound e-mails only those received in [its earliest
    period start, its latest period end) with the answers from that start on (the period
    window, `in_period_window`).

    Session variables, so that the views keep one definition and read all history for every
    other reader; DuckDB binds them as constants, so the range reaches the typed staging scans
    as a filter (a join to `wrk_periods` would not).
    """
    start, end, period_start, period_end = WINDOW_VARIABLES
    conn.execute(f"set variable {start} = "
                 f"(select min(start_instant) - max_entry_length() from {PERIODS})")
    # An account onboarded in the last period counts the hours of its onboarding window after
    # it (docs/metrics.md, Onboarding).
    conn.execute(f"set variable {end} = (select max(end_instant) from {PERIODS}) + to_days("
                 "(select onboarding_window_days from staging.settings))")
    # The instants the periods hold, for the models counted at one instant (the inbound e-mails).
    conn.execute(f"set variable {period_start} = (select min(start_instant) from {PERIODS})")
    conn.execute(f"set variable {period_end} = (select max(end_instant) from {PERIODS})")


def outside_population(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, float]]:
    """The tracker users outside the CSM population among the entries the last build read (its
    entry window, on its connection), with their hours, most first: what a run reports. Read
    with the window set, so a one-month build does not scan every entry in history."""
    set_entry_window(conn)
    try:
        return [(email, float(hours)) for email, hours in conn.execute(
            "select tracker_email, hours from intermediate.int_time_entries__outside_population"
            " order by hours desc, tracker_email").fetchall()]
    finally:
        clear_entry_window(conn)


def clear_entry_window(conn: duckdb.DuckDBPyConnection) -> None:
    """Every reader sees every entry again."""
    for name in WINDOW_VARIABLES:
        conn.execute(f"reset variable {name}")


def _ensure_table(conn: duckdb.DuckDBPyConnection, table: str,
                  wanted: list[tuple[str, str]]) -> list[str]:
    """Create the table, or add the columns a newer version writes; returns the added ones.

    Rows of periods not rebuilt since keep NULL in an added column. A column whose type changed,
    or that this version no longer writes, cannot be reconciled in place: that is an error
    telling the user what to do.
    """
    if not _exists(conn, "marts", table):
        columns = ", ".join(f'"{name}" {kind}' for name, kind in wanted)
        conn.execute(f"create table marts.{table} ({columns})")
        return []
    present = dict(_columns(conn, f"marts.{table}"))
    changed = [name for name, kind in wanted if name in present and present[name] != kind]
    dropped = sorted(set(present) - {name for name, _ in wanted})
    if changed or dropped:
        raise MartSchemaError(
            f"marts.{table} was written by another version (columns changed: {changed}, "
            f"no longer written: {dropped}). Drop it (drop table marts.{table}) and backfill "
            "every month again.")
    added = [(name, kind) for name, kind in wanted if name not in present]
    for name, kind in added:
        conn.execute(f'alter table marts.{table} add column "{name}" {kind}')
    return [name for name, _ in added]


def _columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(f"describe {relation}").fetchall()]
