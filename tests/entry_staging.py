"""Typed time-entry staging by hand, for the tests that run the hours chain's real models
(the time-entry views, `wrk_entry_keys`, `wrk_entry_months`, `wrk_entry_periods`) on an
in-memory DuckDB: Toggl's and Clockify's entry tables (the key hash computed as typing computes
it, `stg_*__time_entries.sql`), their projects, clients and tags."""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.settings import Settings
from transforms import ROOT, macro_paths
from warehouse.schema import ensure_schemas, write_settings

# The hours chain's working models, in the order a build runs them.
WORKING = ("wrk_months", "wrk_entry_keys", "wrk_entry_months", "wrk_entry_periods")
HOUR = 3_600_000  # milliseconds


def entry(entry_id: str, description: str, start: str, stop: str, project: str = "p1"
          ) -> tuple[Any, ...]:
    """A Toggl staging row of user u1."""
    return (entry_id, entry_id, "toggl", "u1", project, description, [], start, stop,
            "REGULAR")


def staged_time_entries(settings: Settings,
                        entries: list[tuple[Any, ...]]) -> duckdb.DuckDBPyConnection:
    """A warehouse in memory whose Toggl staging holds `entries` (Clockify's is empty), with the
    projects 'Customer work' (p1) and 'Initech' (p2)."""
    conn = duckdb.connect()
    ensure_schemas(conn)
    write_settings(conn, settings.for_warehouse(), settings.tables())
    for path in macro_paths():
        conn.execute(path.read_text())
    conn.execute("""create table staging.stg_toggl__time_entries (
        _pk varchar, entry_id varchar, source varchar, user_id varchar, project_id varchar,
        description varchar, tag_ids varchar[], start_at timestamptz, stop_at timestamptz,
        entry_type varchar)""")
    conn.execute("create table staging.stg_clockify__time_entries as "
                 "select *, null::bigint as duration_seconds "
                 "from staging.stg_toggl__time_entries")
    conn.executemany("insert into staging.stg_toggl__time_entries values "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entries)
    for vendor in ("toggl", "clockify"):  # computed when typed (stg_*__time_entries.sql)
        conn.execute(f"alter table staging.stg_{vendor}__time_entries add column key_hash ubigint")
        conn.execute(f"update staging.stg_{vendor}__time_entries set key_hash = hash(entry_key("
                     "source, user_id, project_id, tag_ids, description, entry_type))")
        conn.execute(f"create table staging.stg_{vendor}__projects (project_id varchar, "
                     "project_name varchar, client_id varchar)")
        conn.execute(f"create table staging.stg_{vendor}__clients (client_id varchar, "
                     "client_name varchar)")
        conn.execute(f"create table staging.stg_{vendor}__tags (tag_id varchar, "
                     "tag_name varchar)")
    conn.execute("insert into staging.stg_toggl__projects values ('p1', 'Customer work', null), "
                 "('p2', 'Initech', null)")
    return conn


def resolving_views(conn: duckdb.DuckDBPyConnection, accounts: list[tuple[str, str]],
                    views: tuple[str, ...], colliding_hashes: bool = False) -> None:
    """The CRM side the keys resolve against (`accounts` as (id, name); one CSM, alice, tracking
    as Toggl's u1), then the project's own intermediate `views`. With `colliding_hashes` every
    key gets the same hash: what a collision would do, everywhere at once."""
    conn.execute("create table intermediate.int_accounts__unified (account_id varchar, "
                 "account_name varchar, name_key varchar, is_deleted boolean)")
    conn.executemany("insert into intermediate.int_accounts__unified "
                     "values (?, ?, fold_name(?), false)", [(a, n, n) for a, n in accounts])
    conn.execute("create table intermediate.int_people__identities as "
                 "select 'toggl' as system, 'u1' as ref, 'alice@example.com' as csm_id")
    conn.execute("create table intermediate.int_people__csms as "
                 "select 'alice@example.com' as csm_id")
    for name in views:
        sql = (ROOT / "intermediate" / f"{name}.sql").read_text()
        if name == "int_time_entries__keyed" and colliding_hashes:
            sql = f"select * replace (0::ubigint as key_hash) from ({sql})"
        conn.execute(f"create view intermediate.{name} as\n{sql}")
