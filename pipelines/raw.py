"""The raw assets: every declared stream, pulled with the other sources at the same time.

Two steps pull every source (docs/scaling.md, Sources in parallel): `raw_sources`, a multi-asset
of every non-windowed stream (the CRMs' streams and the trackers' directories), and
`raw_time_entries`, the windowed streams, partitioned by month with a single-run backfill policy
so a range of months is one run that pulls and replaces month by month. Each stream keeps its own
asset key (`raw/<source>/<stream>`), metadata and key check; both steps can be subset, so
`--select raw/salesforce/accounts` pulls that stream alone. Inside a step each selected source
pulls on its own thread (its streams one after another), so a run waits for its slowest source,
not the sum; the writes are serialised by the warehouse's write lock
(`WarehouseResource.write_connection`), held only to read a cursor, land a staged window, or
judge the keys, and share one connection for the step (`shared_writes`: the file is opened
once, not once a stream), each write its own transaction. All Dagster calls (logs,
results) happen on the step's own thread.

Incremental (merge) streams read from their stored cursor; run config `full_refresh: true`
pulls the selected ones whole and replaces their tables. A pull that would delete more than half
of what it covers stops, unless run config `allow_mass_delete: true` says the source really lost
those records. A source whose credentials are not set is skipped with a warning; a source that
is partly configured, refuses its login or stops a pull fails the step once the other sources
have landed (their materializations are kept).

The pull itself is one plain function, `warehouse.pull.pull_stream`, which the tests and the
benchmark call too: pages are staged outside the warehouse and landed in one short write
(warehouse/loading.py); and both steps are in the `warehouse` concurrency pool, so an
overlapping run's steps queue (docs/scheduling.md).
"""

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    PartitionsDefinition,
    TimeWindow,
    multi_asset,
)

from connectors.errors import SourceAuthError
from connectors.streams import Connector, Stream, Window
from pipelines.partitions import onboarding_tail, read_windows
from pipelines.resources import WAREHOUSE_POOL, SettingsResource, WarehouseResource
from pipelines.settings import Settings
from warehouse.loading import LandingStats, MassDeletion
from warehouse.pull import Connect, PullCutShort, PullOptions, PullTotals, pull_stream
from warehouse.schema import ensure_raw_table, ensure_schemas

KEYS_UNIQUE = "primary_key_unique"
SOURCES_STEP = "raw_sources"
TIME_ENTRIES_STEP = "raw_time_entries"


class PullConfig(Config):
    """Run config of both raw steps, for every stream they pull in the run."""

    full_refresh: bool = False  # pull an incremental stream whole and replace its table
    # Let a pull delete (or mark deleted) more than half of what it covers: the source really
    # lost those records (docs/reliability.md).
    allow_mass_delete: bool = False


def raw_key(stream: Stream) -> AssetKey:
    return AssetKey(["raw", stream.source, stream.name])


def raw_stream_assets(streams: list[Stream],
                      monthly: PartitionsDefinition) -> list[AssetsDefinition]:
    """The two pull steps: the non-windowed streams, and the windowed (monthly) ones."""
    windowed = [s for s in streams if s.write_mode == "replace_window"]
    whole = [s for s in streams if s.write_mode != "replace_window"]
    return [_pull_asset(SOURCES_STEP, whole, None),
            _pull_asset(TIME_ENTRIES_STEP, windowed, monthly)]


def _spec(stream: Stream, windowed: bool) -> AssetSpec:
    return AssetSpec(
        key=raw_key(stream), group_name=stream.source, kinds={"duckdb"}, skippable=True,
        tags={"layer": "raw", "partitioning": "monthly" if windowed else "none"},
        description=f"{stream.source} {stream.name}, as the API sends them "
        f"(raw.{stream.table}).",
        metadata={"table": f"raw.{stream.table}", "primary_key": stream.primary_key,
                  "cursor_field": stream.cursor_field or "", "write_mode": stream.write_mode})


def _pull_asset(name: str, streams: list[Stream],
                monthly: PartitionsDefinition | None) -> AssetsDefinition:
    """The Dagster side only (config, resources, partitions, threads, failures, logs,
    metadata); the pull itself is `warehouse.pull.pull_stream`."""
    windowed = monthly is not None
    by_key = {raw_key(stream): stream for stream in streams}
    sources = sorted({stream.source for stream in streams})

    @multi_asset(
        name=name,
        specs=[_spec(stream, windowed) for stream in streams],
        # Judged in the pull's own step, once every selected stream has landed.
        check_specs=[AssetCheckSpec(
            KEYS_UNIQUE, asset=raw_key(stream), blocking=True,
            description=f"No two rows of raw.{stream.table} share a {stream.primary_key}.")
            for stream in streams],
        can_subset=True,
        partitions_def=monthly,
        backfill_policy=BackfillPolicy.single_run() if windowed else None,
        required_resource_keys={"warehouse", "settings", *sources},
        pool=WAREHOUSE_POOL,
        op_tags={"layer": "raw"},
        description="Pulls the selected streams, each source on its own thread "
        "(docs/scaling.md, Sources in parallel).",
    )
    def _pull(context: AssetExecutionContext, config: PullConfig) -> Iterator[Any]:
        selected = [by_key[key] for key in by_key if key in context.selected_asset_keys]
        warehouse: WarehouseResource = context.resources.warehouse
        settings: SettingsResource = context.resources.settings
        time_window = context.partition_time_window if windowed else None
        pulls = [SourcePull(source, [s for s in selected if s.source == source],
                            getattr(context.resources, source))
                 for source in sources if any(s.source == source for s in selected)]
        judged = {check.asset_key for check in context.selected_asset_check_keys}
        # A key check selected without its stream judges what the table holds.
        alone = [by_key[key] for key in by_key if key in judged and key not in
                 context.selected_asset_keys]
        yield from run_pulls(context, pulls, warehouse, settings.get(), config, time_window,
                             judged, alone)

    return _pull


@dataclass
class SourcePull:
    """One source's selected streams, pulled on one thread; what happened to each."""

    source: str
    streams: list[Stream]
    resource: Any  # the source's resource: configured, missing(), connector(settings)
    totals: dict[str, PullTotals] = field(default_factory=dict)
    skipped: bool = False
    error: BaseException | None = None


def run_pulls(context: AssetExecutionContext, pulls: list[SourcePull],
              warehouse: WarehouseResource, settings: Settings, config: PullConfig,
              time_window: TimeWindow | None, judged: set[AssetKey],
              alone: list[Stream]) -> Iterator[Any]:
    """Pull every source of `pulls` on its own thread, then judge the keys of every landed
    stream whose check is selected (`judged`) and of the checks selected `alone`, in one
    connection; yield each stream's result; raise the sources' failures after."""
    logs: queue.Queue[tuple[str, str] | None] = queue.Queue()
    threads = []
    for pull in pulls:
        missing = pull.resource.missing()
        if missing:
            pull.error = Failure(
                description=f"{pull.source} is partly configured: set {' and '.join(missing)} "
                f"(or unset all of its variables to leave {pull.source} out)",
                allow_retries=False)
        elif not pull.resource.configured:
            pull.skipped = True
            for stream in pull.streams:
                context.log.warning(f"{pull.source} is not configured: {stream.name} not "
                                    "pulled")
        else:
            thread = threading.Thread(
                target=_pull_source, name=f"pull-{pull.source}", daemon=True,
                args=(pull, warehouse, settings, config, context.run_id, time_window,
                      lambda level, message: logs.put((level, message))))
            threads.append(thread)
    # The step's writes share one warehouse connection (pipelines/resources.py).
    with warehouse.shared_writes():
        for thread in threads:
            thread.start()
        watcher = threading.Thread(target=lambda: ([t.join() for t in threads], logs.put(None)),
                                   daemon=True)
        watcher.start()
        # Dagster is called from this thread only: the pulls' logs arrive through the queue.
        while (entry := logs.get()) is not None:
            level, message = entry
            getattr(context.log, level)(message)
        landed = [stream for pull in pulls for stream in pull.streams
                  if pull.skipped or stream.name in pull.totals]
        checks = keys_unique(warehouse, [s for s in landed + alone if raw_key(s) in judged])
    for pull in pulls:
        for stream in pull.streams:
            check = [checks[stream.table]] if stream.table in checks else []
            if pull.skipped:
                yield MaterializeResult(asset_key=raw_key(stream),
                                        metadata={"skipped": "source not configured"},
                                        check_results=check)
            elif stream.name in pull.totals:
                yield MaterializeResult(asset_key=raw_key(stream),
                                        metadata=pull.totals[stream.name].metadata(),
                                        check_results=check)
    for stream in alone:
        yield checks[stream.table]
    failed = [pull for pull in pulls if pull.error is not None]
    if failed:
        raise _failure([pull.error for pull in failed if pull.error is not None])


def _pull_source(pull: SourcePull, warehouse: WarehouseResource, settings: Settings,
                 config: PullConfig, run_id: str, time_window: TimeWindow | None,
                 log: Callable[[str, str], None]) -> None:
    """One source's streams, one after another; the first error stops the source."""
    try:
        for stream in pull.streams:
            # Its figures are its materialization's metadata: no log line (events are the
            # run's cost, docs/performance.md).
            pull.totals[stream.name] = _pull_one(stream, pull.resource, warehouse, settings,
                                                 config, run_id, time_window, log)
    except BaseException as error:  # handed to the step's thread, which raises it
        pull.error = error


def _pull_one(stream: Stream, source: Any, warehouse: WarehouseResource, settings: Settings,
              config: PullConfig, run_id: str, time_window: TimeWindow | None,
              log: Callable[[str, str], None]) -> PullTotals:
    try:
        connector: Connector = source.connector(settings)
    except SourceAuthError as error:  # a refused login
        raise Failure(description=str(error), allow_retries=False) from error
    windows = (time_entry_windows(time_window, connector.max_window_months, settings)
               if time_window is not None else None)
    options = PullOptions(
        full_refresh=config.full_refresh, allow_mass_delete=config.allow_mass_delete,
        staging_folder=warehouse.staging_folder,
        owner_path=settings.owner_path(stream.source) if stream.snapshots_ownership else None)

    def landed(window: Window | None, stats: LandingStats) -> None:
        if window is not None:  # a full pull's stats are its materialization's metadata
            log("info", f"{stream.table} {window}: {stats}")
        if stats.repaired:
            log("warning", f"{stream.table}: {stats.repaired} records had a lone UTF-16 "
                "surrogate (a character cut in half), replaced by U+FFFD, or a NUL character, "
                "removed")
        if stats.limit_reached:
            log("warning", stats.limit_reached)

    connect: Connect = warehouse.write_connection
    try:
        return pull_stream(stream, connector, connect, run_id, windows, options,
                           on_window=landed)
    except PullCutShort as error:
        # A window cut short is not landed; the windows before it are kept.
        raise Failure(description=str(error), metadata={"months_landed": error.landed},
                      allow_retries=False) from error
    except (SourceAuthError, MassDeletion) as error:
        raise Failure(description=str(error), allow_retries=False) from error


def _failure(errors: list[BaseException]) -> BaseException:
    """The step's error: a source's own (its type kept for Dagster's retries) when one source
    failed; when several did, one Failure naming each."""
    if len(errors) == 1:
        return errors[0]
    metadata: dict[str, Any] = {}
    for error in errors:
        if isinstance(error, Failure):
            metadata |= {k: v for k, v in error.metadata.items()}
    described = [error.description if isinstance(error, Failure) and error.description
                 else f"{type(error).__name__}: {error}" for error in errors]
    return Failure(description="; ".join(described), metadata=metadata,
                   allow_retries=not all(isinstance(e, Failure) for e in errors))


def time_entry_windows(window: TimeWindow, max_months: int | None,
                       settings: Settings) -> list[Window]:
    """The partition window's months, then the months after it that the onboarding windows of
    its accounts reach, up to `as_of` (docs/backfilling.md, Onboarding after a range)."""
    until = settings.as_of or datetime.now(UTC)
    tail = onboarding_tail(window, settings.onboarding_window_days, until)
    # One read for both where the API allows it: no request more than the months need.
    return read_windows(TimeWindow(window.start, tail.end) if tail else window, max_months)


def keys_unique(warehouse: WarehouseResource,
                streams: list[Stream]) -> dict[str, AssetCheckResult]:
    """No two rows of a stream's raw table share a key, for every stream in one connection: the
    evidence is the keys repeated."""
    results: dict[str, AssetCheckResult] = {}
    if not streams:
        return results
    with warehouse.write_connection() as conn:
        ensure_schemas(conn)
        for stream in streams:
            table = ensure_raw_table(conn, stream)
            duplicates = conn.execute(
                f"select _pk, count(*) from {table} group by _pk having count(*) > 1 limit 20"
            ).fetchall()
            results[stream.table] = AssetCheckResult(
                asset_key=raw_key(stream), check_name=KEYS_UNIQUE, passed=not duplicates,
                severity=AssetCheckSeverity.ERROR,
                metadata={"duplicate_keys": [row[0] for row in duplicates]})
    return results
