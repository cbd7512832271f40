"""The published copy of the marts that BI tools read, swapped in whole after every build.

DuckDB lets no other process open a database file while a writer holds it, so dashboards never
read the working warehouse. After the marts change, `publish` copies them into a new file
(`versions/<name>-<stamp>-<run>.duckdb`), with their descriptions, checkpoints and closes it, and
then points the published path, a symbolic link, at it with one atomic rename. A reader that
opened the old version keeps reading it, whole, until it reconnects; a reader that connects after
the swap sees the new one, whole. Nobody ever reads a file being written, and the pipeline never
waits for a reader. Old versions are removed once `keep` newer ones exist (a reader still holding
one keeps its open file: POSIX frees it on close).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.columns import comment_marts, mart_docs
from warehouse.sql import literal, run

VERSIONS = "versions"


@dataclass(frozen=True)
class Publication:
    path: Path  # the link BI tools open
    version: Path  # the file it now points at
    rows: dict[str, int]
    pruned: int


def publish(conn: duckdb.DuckDBPyConnection, path: Path, run_id: str, keep: int = 3
            ) -> Publication:
    """Copy the working warehouse's marts into a new version and swap `path` onto it."""
    versions = path.parent / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = versions / f"{path.stem}-{stamp}-{run_id[:8]}.duckdb"
    building = version.with_name(version.name + ".building")
    rows = _build(conn, building, run_id)
    _fsync(building)
    os.replace(building, version)
    link = path.with_name(f".{path.name}.{stamp}.link")
    os.symlink(os.path.relpath(version, path.parent), link)
    os.replace(link, path)  # the atomic swap: rename(2) over the old link
    _fsync(path.parent)
    return Publication(path, version, rows, _prune(versions, path, keep))


def current_version(path: Path) -> Path:
    """The version file the published path points at now (what a new reader would open)."""
    if not path.exists():
        raise FileNotFoundError(
            f"nothing is published at {path} yet: run the pipeline's monthly job once")
    return path.resolve()


def _build(conn: duckdb.DuckDBPyConnection, target: Path, run_id: str) -> dict[str, int]:
    target.unlink(missing_ok=True)
    conn.execute(f"attach {literal(str(target))} as published")
    try:
        conn.execute("begin transaction")
        conn.execute("create schema published.marts")
        conn.execute("create schema published.meta")
        rows = {}
        for table, doc in mart_docs().items():
            order = ", ".join(f'"{key}"' for key in doc.keys)
            conn.execute(f"create table published.marts.{table} as "
                         f"select * from marts.{table} order by {order}")
            counted = conn.execute(f"select count(*) from published.marts.{table}").fetchone()
            rows[table] = int(counted[0]) if counted else 0
        run(conn, """
            create table published.meta.publication as
            select $run_id as run_id, now() as published_at,
                (select min(period_start) from marts.csm_period_metrics) as first_period,
                (select max(period_start) from marts.csm_period_metrics) as last_period
            """, {"run_id": run_id})
        run(conn, """
            create table published.meta.table_rows as
            select unnest($names) as table_name, unnest($counts)::bigint as row_count
            """, {"names": list(rows), "counts": list(rows.values())})
        comment_marts(conn, "published")
        conn.execute("commit")
        conn.execute("checkpoint published")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.execute("detach published")
    return rows


def _prune(versions: Path, path: Path, keep: int) -> int:
    current = path.resolve()
    done = sorted((v for v in versions.glob(f"{path.stem}-*.duckdb") if v != current),
                  reverse=True)
    stale = done[max(keep - 1, 0):]
    for old in stale:
        old.unlink(missing_ok=True)
    for leftover in versions.glob("*.building"):  # a publish killed half-way
        leftover.unlink(missing_ok=True)
    return len(stale)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

