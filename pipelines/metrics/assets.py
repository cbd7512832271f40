"""The marts: one multi-asset, because every table comes from the same snapshots and they are
replaced together in one transaction. Partitioned by month; a run also rebuilds the quarters,
years and trailing twelve months its months touch.

Each mart can be selected alone (`--select marts/kpi_control`): the step then builds the working
tables and only the selected marts, in the model graph's order, reading every other mart as the
warehouse holds it (docs/architecture.md, Dagster, says which marts read which). The staging and
intermediate models are specs of their own, not of this step (pipelines/metrics/models.py)."""


from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    PartitionsDefinition,
    TableColumn,
    TableSchema,
    multi_asset,
)
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection

from connectors.streams import Stream
from pipelines.metrics.models import mart_deps, model_key
from pipelines.partitions import month_range
from pipelines.resources import WAREHOUSE_POOL, SettingsResource, record_build
from transforms.graph import model_graph, references
from warehouse.columns import described_columns, mart_docs
from warehouse.drivers import units_sql
from warehouse.marts import build_month_marts, outside_population
from warehouse.outlook import MARTS as OUTLOOK_MARTS
from warehouse.schema import prepare

CSM_PERIOD_METRICS = AssetKey(["marts", "csm_period_metrics"])
TEAM_PERIOD_METRICS = AssetKey(["marts", "team_period_metrics"])
ACCOUNT_PERIOD_METRICS = AssetKey(["marts", "account_period_metrics"])
CSM_ACTIVITY_HOURS = AssetKey(["marts", "csm_activity_hours"])
QUARANTINE = AssetKey(["marts", "quarantine"])

RETENTION_DRIVERS = AssetKey(["marts", "retention_drivers"])
# The outlook at as_of (warehouse/outlook.py), built after the drivers from the same fit.
OUTLOOK_KEYS = [AssetKey(["marts", name]) for name in OUTLOOK_MARTS]
ACCOUNT_RISK, RENEWALS, CSM_OUTLOOK = OUTLOOK_KEYS

# Every table the step writes, in build order: the SQL marts (the files of transforms/marts/,
# transforms/graph.py), then the retention drivers fitted on them (warehouse/drivers.py), then
# the outlook (transforms/outlook/).
MART_KEYS = [*(model_key(model) for model in model_graph().layer("marts")), RETENTION_DRIVERS,
             *OUTLOOK_KEYS]


def drivers_deps() -> list[AssetKey]:
    """The models and marts the retention drivers' units read, parsed from their SQL."""
    made = {model.relation for model in model_graph().models}
    return [AssetKey(name.split(".")) for name in sorted(references(units_sql()))
            if name in made]


def column_schema(columns: list[tuple[str, str, str]]) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, kind, description)
                                for name, kind, description in columns])


def month_marts_asset(streams: list[Stream], monthly: PartitionsDefinition) -> AssetsDefinition:
    docs = mart_docs()
    graph = model_graph()
    reads = mart_deps(graph, streams)
    specs = [
        *(AssetSpec(key, group_name="metrics", kinds={"duckdb"},
                    description=docs[key.path[-1]].description,
                    deps=drivers_deps() if key in (RETENTION_DRIVERS, *OUTLOOK_KEYS)
                    else reads[key],
                    tags={"layer": "marts", "partitioning": "monthly"},
                    # Each build records the column schema, with types and descriptions.
                    metadata={"table": ".".join(key.path)})
          for key in MART_KEYS),
    ]

    @multi_asset(specs=specs, partitions_def=monthly, can_subset=True, pool=WAREHOUSE_POOL,
                 backfill_policy=BackfillPolicy.single_run(), name="month_marts")
    def month_marts(context: AssetExecutionContext, warehouse: DuckDBResource,
                    settings: SettingsResource) -> Iterator[MaterializeResult]:
        settings = settings.get()  # parsed once per run (pipelines/resources.py)
        start, end = month_range(context.partition_time_window)
        selected = [key for key in MART_KEYS if key in context.selected_asset_keys]
        with warehouse.get_connection() as conn:
            # Before anything is written: from now on the marts are this run's build, and the
            # checks and publishes of a run it overlaps leave them alone.
            record_build(conn, context.run_id)
            prepare(conn, streams, settings.for_warehouse(), settings.tables())
            as_of = run_as_of(context, settings.as_of)
            written = build_month_marts(conn, start, end, context.run_id, as_of,
                                        only={key.path[-1] for key in selected})
            schemas = {key: column_schema(described_columns(conn, key.path[-1]))
                       for key in selected}
            totals = {key: _row_count(conn, key) for key in selected}
            outside = outside_population(conn)  # among the entries the build read
            unusable = dict(conn.execute(
                "select reason, count(distinct activity_id) from "
                "intermediate.int_touchpoints__unusable group by all order by all").fetchall())
        context.log.info(f"periods touching {start}..{end} (exclusive) rebuilt: {written}")
        if outside:
            context.log.warning(f"{len(outside)} tracker user(s) outside the CSM population; "
                                f"their hours count nowhere: {[u for u, _ in outside[:10]]}")
        if unusable:
            context.log.warning(f"{sum(unusable.values())} CRM activities count nowhere (no "
                                f"instant, account or CSM): {unusable}")
        for key in selected:
            metadata = {"rows_written": written[key.path[-1]], "first_month": start.isoformat(),
                        "end_month_exclusive": end.isoformat(),
                        "dagster/row_count": totals[key],
                        "dagster/column_schema": schemas[key]}
            if key == CSM_PERIOD_METRICS:
                metadata |= {"tracker_users_outside_population": len(outside),
                             "hours_outside_population": round(sum(h for _, h in outside), 2),
                             "activities_unusable": sum(unusable.values()),
                             "activities_unusable_by_reason": unusable}
            yield MaterializeResult(asset_key=key, metadata=metadata)

    return month_marts


def run_as_of(context: AssetExecutionContext, fixed: datetime | None) -> datetime:
    """The instant the run's marts describe (docs/metrics.md, Periods): the `as_of` setting, else
    the run's start, so every step of one run measures open periods to the same instant."""
    if fixed is not None:
        return fixed
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record else None
    return datetime.fromtimestamp(started, UTC) if started else datetime.now(UTC)


def _row_count(conn: DuckDBPyConnection, key: AssetKey) -> int:
    row = conn.execute(f"select count(*) from {'.'.join(key.path)}").fetchone()
    return int(row[0]) if row else 0
