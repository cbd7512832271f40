"""The publisher's PostgreSQL session, with every wait on the server bounded.

One bound, `wait_seconds` (CSM_METRICS_POSTGRES_SWAP_WAIT), caps each wait: the connection
(libpq's connect_timeout), any lock a statement waits for (the session's lock_timeout), the
one-publisher-at-a-time advisory lock (tried in a loop: any login, a BI one too, can take it),
and a server that stops answering mid-statement (TCP keepalives and tcp_user_timeout). When a
wait runs out, the error names what was waited on, who held it, and the setting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict

WAIT_SETTING = "CSM_METRICS_POSTGRES_SWAP_WAIT"
# One publisher at a time per database: the session advisory lock's key ("csm_mart" in ASCII).
PUBLISH_LOCK = 0x63736D5F6D617274
# A server that stops answering (a dead host, a cut network) is noticed within about
# KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT seconds of silence.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 10, 5, 3
MIN_CONNECT_TIMEOUT = 2  # libpq's floor: a smaller connect_timeout means 2 s, and 0 no limit
MAX_WAIT = (2**31 - 1) // 1000  # lock_timeout's ceiling (milliseconds in an int), ~24.8 days


class SessionError(RuntimeError):
    """A wait on PostgreSQL ran out or the connection failed; the message says which."""


def bounded(wait_seconds: float) -> str:
    return f"{wait_seconds:g}s ({WAIT_SETTING})"


def connect(url: str, application: str, wait_seconds: float) -> psycopg.Connection:
    """An autocommit connection whose every wait is bounded; errors never repeat the URL or
    its password."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise SessionError(
            "CSM_METRICS_POSTGRES_URL is not a libpq URL "
            "(postgresql://user:password@host:port/database)") from None
    password = given.get("password")
    wait_seconds = min(wait_seconds, MAX_WAIT)
    timeout = max(MIN_CONNECT_TIMEOUT, math.ceil(wait_seconds))
    if str(given.get("connect_timeout", "")).isdigit() and int(given["connect_timeout"]) > 0:
        timeout = min(timeout, max(MIN_CONNECT_TIMEOUT, int(given["connect_timeout"])))
    try:
        conn = psycopg.connect(
            url, autocommit=True, application_name=application, client_encoding="UTF8",
            connect_timeout=timeout, keepalives=1, keepalives_idle=KEEPALIVE_IDLE,
            keepalives_interval=KEEPALIVE_INTERVAL, keepalives_count=KEEPALIVE_COUNT,
            tcp_user_timeout=1000 * (KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT))
    except psycopg.OperationalError as error:
        message = str(error).replace(password, "***") if password else str(error)
        raise SessionError(
            f"cannot connect to PostgreSQL (connect_timeout {timeout}s, from "
            f"{WAIT_SETTING}): {message}") from None
    # Every lock a statement waits for (catalog rows, the building schema) gives up in time.
    conn.execute(f"set lock_timeout = '{max(1, round(wait_seconds * 1000))}ms'")
    return conn


def take_publish_lock(conn: psycopg.Connection, wait_seconds: float) -> None:
    """The advisory lock, tried until `wait_seconds`: a session holding it (another publisher,
    or any login that took the key) fails the publish naming that session."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        row = conn.execute("select pg_catalog.pg_try_advisory_lock(%s)",
                           [PUBLISH_LOCK]).fetchone()
        if row and row[0]:
            return
        if time.monotonic() + delay > deadline:
            raise SessionError(
                f"could not take the publish advisory lock ({PUBLISH_LOCK}) within "
                f"{bounded(wait_seconds)}: {lock_holders(conn)}. Another publish may be "
                "running; if that session is no publisher, end it "
                "(SELECT pg_terminate_backend(<pid>) as its owner or an admin). Nothing was "
                "published; the previous version is still served.")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def lock_holders(conn: psycopg.Connection) -> str:
    """The sessions holding the publish advisory lock (a bigint key: classid, objid, 1)."""
    found = conn.execute("""
        select activity.pid, activity.usename, activity.application_name, activity.state,
               activity.xact_start
        from pg_catalog.pg_locks as locks
        join pg_catalog.pg_stat_activity as activity on activity.pid = locks.pid
        where locks.locktype = 'advisory' and locks.granted and locks.objsubid = 1
          and locks.classid = %s::oid and locks.objid = %s::oid
          and locks.database = (select oid from pg_catalog.pg_database
                                where datname = current_database())
          and locks.pid <> pg_catalog.pg_backend_pid()""",
        [PUBLISH_LOCK >> 32, PUBLISH_LOCK & 0xFFFFFFFF]).fetchall()
    return "held by " + describe_sessions(found) if found else "its holder has just let go"


def describe_sessions(rows: Sequence[tuple]) -> str:
    """`pid N (user, application, state, transaction start)` for each (pid, user, application,
    state, xact_start) row; what PostgreSQL hides from the publisher is left out."""
    def session(pid: int, user: str, app: str | None, state: str | None,
                started: datetime | None) -> str:
        known = [f"user {user}", f"application {app!r}" if app else None, state,
                 f"transaction open since {started:%Y-%m-%d %H:%M:%S %Z}" if started else None]
        return f"pid {pid} ({', '.join(k for k in known if k)})"

    return "; ".join(session(*row) for row in rows)
