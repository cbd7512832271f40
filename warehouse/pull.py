"""Pull one stream and land it: the whole job of a raw asset, as a plain function.

`pull_stream` reads the stream's cursor, writes each window's pages from the connector to a
staging folder (warehouse/loading.py's `stage`, outside the warehouse), lands them in one
transaction (`land_staged`: DuckDB's readers read the page files into the warehouse), snapshots
account owners for a stream that declares it, and adds up what each window did. The warehouse
is used only to read the cursor and to land, never while the API is read (Toggl's pacing, long
Retry-Afters): others can write it meanwhile. The Dagster asset
(pipelines/raw.py), the tests and the benchmark all call this; no Dagster here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from connectors.errors import SourceLimitReached
from connectors.streams import Connector, Stream, Window
from warehouse.loading import (
    LandingStats,
    get_cursor,
    get_fields,
    land_staged,
    prepared,
    set_fields,
    snapshot_ownership,
    stage,
)

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
COUNTS = ("pages", "records", "rows_written", "quarantined", "repaired", "deleted")


@dataclass(frozen=True)
class PullOptions:
    """How to pull: the run config's choices and where to stage."""

    full_refresh: bool = False  # pull an incremental stream whole and replace its table
    allow_mass_delete: bool = False  # the source really lost those records
    staging_folder: str | None = None  # None: the system's temporary folder
    # Where a landed account record holds its owner (settings' `owner_path`), for a stream
    # that `snapshots_ownership`.
    owner_path: str | None = None
    today: date | None = None  # the ownership snapshot's day (default: today, UTC)


@dataclass
class PullTotals:
    """What a pull did, over all its windows."""

    pages: int = 0
    records: int = 0
    rows_written: int = 0
    quarantined: int = 0
    repaired: int = 0
    deleted: int = 0
    mode: str = "full"  # incremental: read from the stored cursor
    cursor: str | None = None  # the stored cursor after the pull (cursor streams only)
    limit_reached: str | None = None  # the quota error that cut an incremental pull short
    ownership_snapshot: int | None = None  # owners recorded today (snapshotting streams)
    api_usage: str | None = None  # what the source says the pull drew (reporting streams)
    requests: int = 0
    elapsed_seconds: float = 0.0
    http_seconds: float = 0.0  # of which waiting on the API (pacing, exchanges, retries)
    windows: int = 0
    landed: list[str] = field(default_factory=list)  # each window's first day, or "full"

    def metadata(self) -> dict[str, Any]:
        """As the raw asset records it (benchmarks/ reads these keys back)."""
        data: dict[str, Any] = {name: getattr(self, name) for name in COUNTS}
        for name in ("ownership_snapshot", "limit_reached", "cursor", "api_usage"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data | {"mode": self.mode, "requests": self.requests,
                       "elapsed_seconds": self.elapsed_seconds,
                       "http_seconds": self.http_seconds, "windows": self.windows}


class PullCutShort(RuntimeError):
    """A source's limit ended the pull inside a window: that window is not landed; the windows
    before it (`landed`) are kept."""

    def __init__(self, cause: SourceLimitReached, landed: list[str]) -> None:
        super().__init__(f"{cause}. Windows landed before it (by first month): "
                         f"{landed or 'none'}.")
        self.cause = cause
        self.landed = landed


def pull_stream(stream: Stream, connector: Connector, connect: Connect, run_id: str,
                windows: Sequence[Window] | None = None, options: PullOptions | None = None,
                on_window: Callable[[Window | None, LandingStats], None] | None = None,
                ) -> PullTotals:
    """Pull `stream` through `connector` into `raw.<source>__<name>`.

    `connect()` opens a warehouse connection (a context manager); it is called only to read the
    cursor and once per window to land. `windows`: a windowed stream's reads, each landed (and
    replacing its rows) on its own; None for other streams (one read). `on_window` hears each
    landed window's stats (the asset logs them). Raises `PullCutShort` when a source's limit
    cuts a window short, and lets `SourceAuthError` and `MassDeletion` through.
    """
    options = options or PullOptions()
    if stream.write_mode == "replace_window" and not windows:
        raise ValueError(f"{stream.table} is windowed: windows are required")
    if stream.snapshots_ownership and options.owner_path is None:
        raise ValueError(f"{stream.table} snapshots ownership: an owner_path is required")
    started = time.monotonic()
    reads: list[Window | None] = list(windows) if windows else [None]
    incremental = stream.write_mode == "merge" and not options.full_refresh
    write_mode = "replace" if options.full_refresh else None
    totals = PullTotals(windows=len(reads))
    # The fields the read asks for: records read with others would keep lacking a new one.
    fields_of = getattr(connector, "fields", None)
    fields = ",".join(fields_of(stream)) if fields_of and stream.write_mode == "merge" else None
    with connect() as conn:
        prepared(conn, stream)
        since = get_cursor(conn, stream.source, stream.name) if incremental else None
        if since and fields is not None and get_fields(conn, stream.source, stream.name) != fields:
            since = None  # read every record once with the new fields, merged as usual
    for window in reads:
        pages = connector.read(stream, window, since=since)
        try:
            # The pages are written to the staging folder first; only then is the warehouse
            # opened (or its shared connection taken), and DuckDB reads them into it.
            with stage(stream, pages, write_mode, options.staging_folder) as staged, \
                    connect() as conn:
                # A per-person read says whom it covered once its pages are staged.
                scope = (connector.read_scope(stream)  # type: ignore[attr-defined]
                         if stream.scope_field else None)
                stats = land_staged(conn, staged, run_id, window, options.allow_mass_delete,
                                    scope)
                if stream.snapshots_ownership and options.owner_path is not None:
                    totals.ownership_snapshot = snapshot_ownership(
                        conn, stream, options.owner_path,
                        options.today or datetime.now(UTC).date(), run_id)
        except SourceLimitReached as error:
            raise PullCutShort(error, totals.landed) from error
        for name in COUNTS:
            setattr(totals, name, getattr(totals, name) + getattr(stats, name))
        totals.landed.append(window.start.date().isoformat() if window else "full")
        if stats.limit_reached:
            totals.limit_reached = stats.limit_reached
        if stats.cursor:
            totals.cursor = stats.cursor
        if on_window is not None:
            on_window(window, stats)
    totals.mode = "incremental" if since else "full"
    if fields is not None and not since:
        with connect() as conn:
            set_fields(conn, stream.source, stream.name, fields, run_id)
    if stream.cursor_field and totals.cursor is None:
        totals.cursor = since or ""
    totals.requests = connector.request_count
    totals.http_seconds = round(connector.http_seconds, 2)
    totals.elapsed_seconds = round(time.monotonic() - started, 2)
    if stream.reports_api_usage:
        totals.api_usage = str(connector.api_usage)  # type: ignore[attr-defined]
    return totals
