"""The published copies of the marts that BI tools read, swapped in whole after every build.

DuckDB lets no other process open a database file while a writer holds it, so dashboards never
read the working warehouse. After the marts change, `publish` copies them into a new file
(`versions/<name>-<stamp>-<run>.duckdb`), with their descriptions, checkpoints and closes it,
writes a Tableau Hyper extract of that copy beside it (`versions/<name>-<stamp>-<run>.hyper`,
warehouse/hyper.py), and then points the published paths, symbolic links
(`<name>.duckdb`, `<name>.hyper`), at them, each with one atomic rename. A reader that opened
the old version keeps reading it, whole, until it reconnects; a reader that connects after the
swap sees the new one, whole. Nobody ever reads a file being written, and the pipeline never
waits for a reader. Old versions are removed once `keep` newer ones exist (a reader still
holding one keeps its open file: POSIX frees it on close).

A publish that fails (a full disk, say) leaves nothing behind: every file it was building ends
in `.building` and is removed before the error goes up, the error raised is the one that
stopped it, and leftovers of a publish that was killed outright are removed when the next one
starts. The links still point at the last good version.

A folder may be shared (with another deployment, or with files of the user's): a publish never
replaces, prunes or cleans up a file it did not write. What it wrote is named
`versions/<stem>-<stamp>-<run>.<suffix>` (the stamp's exact digits included), and its links
point at such a file; a `<name>.hyper` or `<name>.duckdb` beside the link that is anything else
stops the publish before it writes, naming the file (`ForeignFile`), and another deployment's
`<stem>-eu-...` versions are not this one's to prune.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from warehouse.columns import comment_marts, mart_docs
from warehouse.hyper import write_extract
from warehouse.sql import literal, run, transaction

VERSIONS = "versions"
BUILDING = ".building"
EXTRACT_SUFFIX = ".hyper"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"


class ForeignFile(FileExistsError):
    """A file this deployment did not write is where a publish would write; nothing was."""


@dataclass(frozen=True)
class Publication:
    path: Path  # the link BI tools open
    version: Path  # the file it now points at
    rows: dict[str, int]
    pruned: int
    extract_path: Path | None = None  # the Hyper extract's link, when one was written
    extract: Path | None = None  # the extract version it now points at


def extract_path(path: Path) -> Path:
    """Where the Hyper extract's link lives for the published DuckDB link `path`."""
    return path.with_suffix(EXTRACT_SUFFIX)


def publish(conn: duckdb.DuckDBPyConnection, path: Path, run_id: str, keep: int = 3,
            extract: bool = True, log_dir: Path | None = None) -> Publication:
    """Copy the working warehouse's marts into a new version (and a Hyper extract of it) and
    swap `path` (and its `.hyper` sibling) onto them. `log_dir` keeps Hyper's log files."""
    if extract and extract_path(path) == path:
        raise ValueError(f"the published path {path} must not end in {EXTRACT_SUFFIX}")
    versions = path.parent / VERSIONS
    refuse_foreign([path, *([extract_path(path)] if extract else [])])
    versions.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    stamp = datetime.now(UTC).strftime(STAMP_FORMAT)
    prefix = f"{path.stem}-{stamp}-{run_id[:8]}"
    version = versions / f"{prefix}.duckdb"
    hyper = versions / f"{prefix}{EXTRACT_SUFFIX}"
    targets = [(version, path)] + ([(hyper, extract_path(path))] if extract else [])
    try:
        building = _building(version)
        rows = _build(conn, building, run_id)
        _fsync(building)
        if extract:
            extracted = _build_extract(conn, building, _building(hyper), log_dir)
            if extracted != rows:
                raise RuntimeError(f"the Hyper extract's row counts {extracted} differ from "
                                   f"the published copy's {rows}")
            # Hyper creates its files owner-and-group only: readable as the DuckDB copy is.
            os.chmod(_building(hyper), building.stat().st_mode & 0o777)
            _fsync(_building(hyper))
        for final, _ in targets:
            os.replace(_building(final), final)
        _fsync(versions)  # the renames themselves survive a crash
        links = [(_stage_link(final, link, stamp), link) for final, link in targets]
        for staged, link in links:
            os.replace(staged, link)  # the atomic swap: rename(2) over the old link
        _fsync(path.parent)
    finally:  # what this publish staged: the Parquet files after a success, all after a failure
        _remove(versions.glob(f"{prefix}*{BUILDING}*"))
        _remove(path.parent.glob(f".*.{stamp}.link"))
        _remove(final for final, link in targets if not _points_at(link, final))
    pruned = _prune(versions, path, ".duckdb", keep)
    if extract:
        pruned += _prune(versions, extract_path(path), EXTRACT_SUFFIX, keep)
    return Publication(path, version, rows, pruned,
                       extract_path(path) if extract else None, hyper if extract else None)


def current_version(path: Path) -> Path:
    """The version file the published path points at now (what a new reader would open)."""
    if not path.exists():
        raise FileNotFoundError(
            f"nothing is published at {path} yet: run the pipeline's monthly job once")
    return path.resolve()


def _ours(path: Path, suffix: str) -> re.Pattern[str]:
    """The names of the version files publishing to `path` writes, for one suffix."""
    return re.compile(rf"{re.escape(path.stem)}-\d{{8}}T\d{{12}}Z-[^/]{{0,8}}{re.escape(suffix)}")


def _written_here(link: Path) -> bool:
    """Whether `link` is a link a publish to it made: one into its `versions/` folder, at a
    file named as this deployment names its versions."""
    if not link.is_symlink():
        return False
    target = Path(os.readlink(link))
    if target.is_absolute() or target.parent != Path(VERSIONS):
        return False
    return bool(_ours(link, link.suffix).fullmatch(target.name))


def refuse_foreign(links: list[Path]) -> None:
    """Stop before writing when a file this deployment did not write holds a link's place."""
    for link in links:
        if os.path.lexists(link) and not _written_here(link):
            raise ForeignFile(
                f"{link} exists and was not written by this deployment's publishing (it is not "
                f"a link into {link.parent / VERSIONS}): nothing was published. Move it away, "
                "or set CSM_METRICS_PUBLISHED_PATH to a folder of its own.")


def remove_leftovers(path: Path) -> int:
    """Remove what a killed publish left: `.building` files (and DuckDB's `.wal` of one) and
    staged links, this deployment's only. Only one publish runs at a time (it holds the
    warehouse's write lock)."""
    building = re.compile(rf"{re.escape(path.stem)}-\d{{8}}T\d{{12}}Z-.*{re.escape(BUILDING)}.*")
    leftovers = [*(p for p in (path.parent / VERSIONS).glob(f"{path.stem}-*{BUILDING}*")
                   if building.fullmatch(p.name)),
                 *path.parent.glob(f".{path.name}.*.link"),
                 *path.parent.glob(f".{extract_path(path).name}.*.link")]
    _remove(leftovers)
    return len(leftovers)


def _build(conn: duckdb.DuckDBPyConnection, target: Path, run_id: str) -> dict[str, int]:
    target.unlink(missing_ok=True)
    conn.execute(f"attach {literal(str(target))} as published")
    try:
        with transaction(conn):
            conn.execute("create schema published.marts")
            conn.execute("create schema published.meta")
            rows = {}
            for table, doc in mart_docs().items():
                order = ", ".join(f'"{key}"' for key in doc.keys)
                conn.execute(f"create table published.marts.{table} as "
                             f"select * from marts.{table} order by {order}")
                counted = conn.execute(
                    f"select count(*) from published.marts.{table}").fetchone()
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
        conn.execute("checkpoint published")
    except BaseException:
        _detach_quietly(conn, "published")
        raise
    conn.execute("detach published")
    return rows


def _build_extract(conn: duckdb.DuckDBPyConnection, copy: Path, target: Path,
                   log_dir: Path | None) -> dict[str, int]:
    """The Hyper extract of the DuckDB copy just built, so both hold the same rows."""
    conn.execute(f"attach {literal(str(copy))} as published (read_only)")
    try:
        rows = write_extract(conn, target, target.with_name(target.name + ".parquet"),
                             "published", log_dir)
    except BaseException:
        _detach_quietly(conn, "published")
        raise
    conn.execute("detach published")
    return rows


def _detach_quietly(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Detach after a failure without replacing that failure's error with the detach's."""
    with contextlib.suppress(duckdb.Error):
        conn.execute(f"detach database if exists {name}")


def _building(final: Path) -> Path:
    return final.with_name(final.name + BUILDING)


def _stage_link(final: Path, link: Path, stamp: str) -> Path:
    staged = link.with_name(f".{link.name}.{stamp}.link")
    os.symlink(os.path.relpath(final, link.parent), staged)
    return staged


def _points_at(link: Path, final: Path) -> bool:
    return link.is_symlink() and link.resolve() == final.resolve()


def _prune(versions: Path, path: Path, suffix: str, keep: int) -> int:
    """Remove this deployment's versions beyond `keep`, never a file it did not write (another
    deployment's `<stem>-eu-...` in a shared folder)."""
    current = path.resolve()
    ours = _ours(path, suffix)
    done = sorted((v for v in versions.glob(f"{path.stem}-*{suffix}")
                   if v != current and ours.fullmatch(v.name)), reverse=True)
    stale = done[max(keep - 1, 0):]
    _remove(stale)
    return len(stale)


def _remove(paths) -> None:
    for leftover in list(paths):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
