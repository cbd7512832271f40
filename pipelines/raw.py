"""One Dagster asset per declared stream, written once for every source.

A stream's asset pulls it through its source's connector and lands it in `raw.<source>__<name>`.
Windowed streams (time entries) are partitioned by month with a single-run backfill policy, so a
range of months is one run that pulls and replaces month by month. Incremental (merge) streams
read from their stored cursor; run config `full_refresh: true` pulls them whole and replaces
the table. A pull that would delete more than half of what it covers stops, unless run config
`allow_mass_delete: true` says the source really lost those records. A source whose credentials
are not set is skipped with a warning: the metrics are built from the sources that are set.

The pull itself is one plain function, `warehouse.pull.pull_stream`, which the tests and the
benchmark call too: pages are staged outside the warehouse and landed in one short write
(warehouse/loading.py), so the warehouse file is locked only while writing; and every step that
writes it is in the `warehouse` concurrency pool, so an overlapping run's steps queue
(docs/scheduling.md).
"""


from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    PartitionsDefinition,
    TimeWindow,
    asset,
)
from dagster_duckdb import DuckDBResource

from connectors.errors import SourceAuthError
from connectors.streams import Connector, Stream, Window
from pipelines.partitions import onboarding_tail, read_windows
from pipelines.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from pipelines.settings import Settings
from warehouse.loading import LandingStats, MassDeletion
from warehouse.pull import PullCutShort, PullOptions, pull_stream
from warehouse.schema import ensure_raw_table, ensure_schemas

KEYS_UNIQUE = "primary_key_unique"


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


def _raw_asset(stream: Stream, monthly: PartitionsDefinition) -> AssetsDefinition:
    """The Dagster side only (config, resources, partitions, failures, logs, metadata); the pull
    itself is `warehouse.pull.pull_stream`."""
    windowed = stream.write_mode == "replace_window"

    @asset(
        key=raw_key(stream),
        group_name=stream.source,
        kinds={"duckdb"},
        partitions_def=monthly if windowed else None,
        backfill_policy=BackfillPolicy.single_run() if windowed else None,
        required_resource_keys={"warehouse", "settings", stream.source},
        pool=WAREHOUSE_POOL,
        tags={"layer": "raw", "partitioning": "monthly" if windowed else "none"},
        description=f"{stream.source} {stream.name}, as the API sends them "
        f"(raw.{stream.table}).",
        metadata={"table": f"raw.{stream.table}", "primary_key": stream.primary_key,
                  "cursor_field": stream.cursor_field or "", "write_mode": stream.write_mode},
        # Judged in the pull's own step, once it has landed: no step of its own.
        check_specs=[AssetCheckSpec(
            KEYS_UNIQUE, asset=raw_key(stream), blocking=True,
            description=f"No two rows of raw.{stream.table} share a {stream.primary_key}.")],
    )
    def _pull(context: AssetExecutionContext, config: PullConfig) -> MaterializeResult:
        source = getattr(context.resources, stream.source)
        warehouse: WarehouseResource = context.resources.warehouse
        settings_resource: SettingsResource = context.resources.settings
        missing = source.missing()
        if missing:
            raise Failure(description=f"{stream.source} is partly configured: set "
                          f"{' and '.join(missing)} (or unset all of its variables to leave "
                          f"{stream.source} out)", allow_retries=False)
        if not source.configured:
            context.log.warning(f"{stream.source} is not configured: {stream.name} not pulled")
            return MaterializeResult(metadata={"skipped": "source not configured"},
                                     check_results=[keys_unique(warehouse, stream)])
        settings = settings_resource.get()
        try:
            connector: Connector = source.connector(settings)
        except SourceAuthError as error:  # a refused login
            raise Failure(description=str(error), allow_retries=False) from error
        windows = (time_entry_windows(context.partition_time_window,
                                      connector.max_window_months, settings)
                   if windowed else None)
        options = PullOptions(
            full_refresh=config.full_refresh, allow_mass_delete=config.allow_mass_delete,
            staging_folder=warehouse.staging_folder, memory_limit=warehouse.memory_limit,
            owner_path=settings.owner_path(stream.source) if stream.snapshots_ownership
            else None)

        def landed(window: Window | None, stats: LandingStats) -> None:
            if window is not None:  # a full pull's stats are its materialization's metadata
                context.log.info(f"{stream.table} {window}: {stats}")
            if stats.repaired:
                context.log.warning(f"{stream.table}: {stats.repaired} records had a lone "
                                    "UTF-16 surrogate (a character cut in half), replaced by "
                                    "U+FFFD, or a NUL character, removed")
            if stats.limit_reached:
                context.log.warning(stats.limit_reached)

        try:
            totals = pull_stream(stream, connector, warehouse.get_connection, context.run_id,
                                 windows, options, on_window=landed)
        except PullCutShort as error:
            # A window cut short is not landed; the windows before it are kept.
            raise Failure(description=str(error), metadata={"months_landed": error.landed},
                          allow_retries=False) from error
        except (SourceAuthError, MassDeletion) as error:
            raise Failure(description=str(error), allow_retries=False) from error
        return MaterializeResult(metadata=totals.metadata(),
                                 check_results=[keys_unique(warehouse, stream)])

    return _pull


def time_entry_windows(window: TimeWindow, max_months: int | None,
                       settings: Settings) -> list[Window]:
    """The partition window's months, then the months after it that the onboarding windows of
    its accounts reach, up to `as_of` (docs/backfilling.md, Onboarding after a range)."""
    until = settings.as_of or datetime.now(UTC)
    tail = onboarding_tail(window, settings.onboarding_window_days, until)
    # One read for both where the API allows it: no request more than the months need.
    return read_windows(TimeWindow(window.start, tail.end) if tail else window, max_months)


def keys_unique(warehouse: DuckDBResource, stream: Stream) -> AssetCheckResult:
    """No two rows of the stream's raw table share a key: the evidence is the keys repeated."""
    with warehouse.get_connection() as conn:
        ensure_schemas(conn)
        table = ensure_raw_table(conn, stream)
        duplicates = conn.execute(
            f"select _pk, count(*) from {table} group by _pk having count(*) > 1 limit 20"
        ).fetchall()
    return AssetCheckResult(
        check_name=KEYS_UNIQUE, passed=not duplicates, severity=AssetCheckSeverity.ERROR,
        metadata={"duplicate_keys": [row[0] for row in duplicates]})
