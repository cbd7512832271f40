"""One Dagster asset per declared stream, written once for every source.

A stream's asset pulls it through its source's connector and lands it in `raw.<source>__<name>`.
Windowed streams (time entries) are partitioned by month with a single-run backfill policy, so a
range of months is one run that pulls and replaces month by month. Incremental (merge) streams
read from their stored cursor; run config `full_refresh: true` pulls them whole and replaces
the table. A pull that would delete more than half of what it covers stops, unless run config
`allow_mass_delete: true` says the source really lost those records. A source whose credentials
are not set is skipped with a warning: the metrics are built from the sources that are set.

Pages are staged outside the warehouse and landed in one short write (warehouse/loading.py), so
the warehouse file is locked only while writing; and every step that writes it is in the
`warehouse` concurrency pool, so an overlapping run's steps queue (docs/scheduling.md).
"""


import time
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    PartitionsDefinition,
    asset,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from connectors.errors import SourceAuthError, SourceLimitReached
from connectors.streams import Connector, Stream, Window
from pipelines.partitions import read_windows
from pipelines.resources import WAREHOUSE_POOL, WarehouseResource
from pipelines.settings import load_settings
from warehouse.loading import MassDeletion, get_cursor, land_staged, snapshot_ownership, stage
from warehouse.schema import ensure_raw_table, ensure_schemas

# The account streams whose owners the pipeline snapshots daily (docs/metrics.md, "Ownership at an
# instant").
ACCOUNT_STREAMS = {("salesforce", "accounts"), ("hubspot", "companies")}


class PullConfig(Config):
    """Run config of every raw asset."""

    full_refresh: bool = False  # pull an incremental stream whole and replace its table
    # Let a pull delete (or mark deleted) more than half of what it covers: the source really
    # lost those records (docs/reliability.md).
    allow_mass_delete: bool = False


def raw_key(stream: Stream) -> AssetKey:
    return AssetKey(["raw", stream.source, stream.name])


def raw_stream_assets(streams: list[Stream],
                      monthly: PartitionsDefinition) -> list[AssetsDefinition]:
    return [_raw_asset(stream, monthly) for stream in streams]


def raw_stream_checks(streams: list[Stream]) -> list[Any]:
    return [_keys_unique_check(stream) for stream in streams]


def _raw_asset(stream: Stream, monthly: PartitionsDefinition) -> AssetsDefinition:
    windowed = stream.write_mode == "replace_window"

    @asset(
        key=raw_key(stream),
        group_name=stream.source,
        kinds={"duckdb"},
        partitions_def=monthly if windowed else None,
        backfill_policy=BackfillPolicy.single_run() if windowed else None,
        required_resource_keys={"warehouse", stream.source},
        pool=WAREHOUSE_POOL,
        tags={"layer": "raw", "partitioning": "monthly" if windowed else "none"},
        description=f"{stream.source} {stream.name}, as the API sends them "
        f"(raw.{stream.table}).",
        metadata={"table": f"raw.{stream.table}", "primary_key": stream.primary_key,
                  "cursor_field": stream.cursor_field or "", "write_mode": stream.write_mode},
    )
    def _pull(context: AssetExecutionContext, config: PullConfig) -> MaterializeResult:
        source = getattr(context.resources, stream.source)
        warehouse: WarehouseResource = context.resources.warehouse
        missing = source.missing()
        if missing:
            raise Failure(description=f"{stream.source} is partly configured: set "
                          f"{' and '.join(missing)} (or unset all of its variables to leave "
                          f"{stream.source} out)", allow_retries=False)
        if not source.configured:
            context.log.warning(f"{stream.source} is not configured: {stream.name} not pulled")
            with warehouse.get_connection() as conn:
                ensure_schemas(conn)
                ensure_raw_table(conn, stream)
            return MaterializeResult(metadata={"skipped": "source not configured"})
        try:
            connector: Connector = source.connector()
        except SourceAuthError as error:  # a refused login
            raise Failure(description=str(error), allow_retries=False) from error
        started = time.monotonic()
        windows: list[Window | None] = [None]
        if windowed:
            windows = list(read_windows(context.partition_time_window,
                                        connector.max_window_months))
        totals: dict[str, Any] = {"pages": 0, "records": 0, "rows_written": 0, "quarantined": 0,
                                  "repaired": 0, "deleted": 0}
        incremental = stream.write_mode == "merge" and not config.full_refresh
        write_mode = "replace" if config.full_refresh else None
        done: list[str] = []
        # The warehouse is opened only to read the cursor and to land, never while the API is
        # read (Toggl's pacing, long Retry-Afters): others can write it meanwhile.
        with warehouse.get_connection() as conn:
            ensure_schemas(conn)
            ensure_raw_table(conn, stream)
            since = get_cursor(conn, stream.source, stream.name) if incremental else None
        for window in windows:
            pages = connector.read(stream, window, since=since)
            try:
                # Pages are read into the staging file first; only then is the warehouse
                # opened, to land them.
                staging = stage(stream, pages, write_mode, warehouse.staging_folder,
                                warehouse.memory_limit)
                with staging as staged, warehouse.get_connection() as conn:
                    scope = connector.read_scope(stream) if stream.scope_field else None
                    stats = land_staged(conn, staged, context.run_id, window,
                                        config.allow_mass_delete, scope)
                    if (stream.source, stream.name) in ACCOUNT_STREAMS:
                        owner_path = load_settings().owner_path(stream.source)
                        totals["ownership_snapshot"] = snapshot_ownership(
                            conn, stream, owner_path, datetime.now(UTC).date(), context.run_id)
            except SourceLimitReached as error:
                # A window cut short is not landed; the windows before it are kept.
                raise Failure(description=f"{error}. Windows landed before it (by first "
                              f"month): "
                              f"{done or 'none'}.", metadata={"months_landed": done},
                              allow_retries=False) from error
            except (SourceAuthError, MassDeletion) as error:
                raise Failure(description=str(error), allow_retries=False) from error
            for name in ("pages", "records", "rows_written", "quarantined", "repaired",
                         "deleted"):
                totals[name] += getattr(stats, name)
            done.append(window.start.date().isoformat() if window else "full")
            context.log.info(f"{stream.table} {window or 'full'}: {stats}")
            if stats.repaired:
                context.log.warning(f"{stream.table}: {stats.repaired} records had a lone "
                                    "UTF-16 surrogate (a character cut in half), replaced by "
                                    "U+FFFD")
            if stats.limit_reached:
                context.log.warning(stats.limit_reached)
                totals["limit_reached"] = stats.limit_reached
            if stats.cursor:
                totals["cursor"] = stats.cursor
        totals["mode"] = "incremental" if since else "full"
        if stream.cursor_field and "cursor" not in totals:
            totals["cursor"] = since or ""
        totals |= {"requests": connector.request_count,
                   "elapsed_seconds": round(time.monotonic() - started, 2)}
        if hasattr(connector, "api_usage"):  # Salesforce reports its daily API usage
            totals["api_usage"] = str(connector.api_usage)
        context.log.info(f"{stream.table}: {totals}")
        return MaterializeResult(metadata={**totals, "windows": len(windows)})

    return _pull


def _keys_unique_check(stream: Stream) -> Any:
    @asset_check(asset=raw_key(stream), name="primary_key_unique", pool=WAREHOUSE_POOL,
                 blocking=True,
                 description=f"No two rows of raw.{stream.table} share a {stream.primary_key}.")
    def _check(warehouse: DuckDBResource) -> AssetCheckResult:
        with warehouse.get_connection() as conn:
            ensure_schemas(conn)
            table = ensure_raw_table(conn, stream)
            duplicates = conn.execute(
                f"select _pk, count(*) from {table} group by _pk having count(*) > 1 limit 20"
            ).fetchall()
        return AssetCheckResult(
            passed=not duplicates, severity=AssetCheckSeverity.ERROR,
            metadata={"duplicate_keys": [row[0] for row in duplicates]})

    return _check
