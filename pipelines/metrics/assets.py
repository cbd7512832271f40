"""The marts: one multi-asset, because every table comes from the same snapshots and they are
replaced together in one transaction. Partitioned by month; a run also rebuilds the quarters and
years its months touch.

The staging and intermediate models are specs of the same multi-asset: the step creates them
before it builds the marts, so every run materializes them, and the asset graph shows raw ->
staging -> intermediate -> marts as the SQL reads it (pipelines/metrics/models.py)."""


from collections.abc import Iterator

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
from pipelines.metrics.models import MODEL_LAYERS, mart_deps, model_key, model_specs
from pipelines.partitions import month_range
from pipelines.resources import WAREHOUSE_POOL, SettingsResource, record_build
from transforms.graph import model_graph, references
from warehouse.columns import described_columns, mart_docs
from warehouse.drivers import units_sql
from warehouse.marts import build_month_marts, outside_population
from warehouse.schema import prepare

CSM_PERIOD_METRICS = AssetKey(["marts", "csm_period_metrics"])
TEAM_PERIOD_METRICS = AssetKey(["marts", "team_period_metrics"])
ACCOUNT_PERIOD_METRICS = AssetKey(["marts", "account_period_metrics"])
CSM_ACTIVITY_HOURS = AssetKey(["marts", "csm_activity_hours"])
QUARANTINE = AssetKey(["marts", "quarantine"])

RETENTION_DRIVERS = AssetKey(["marts", "retention_drivers"])

# Every table the step writes, in build order: the SQL marts (the files of transforms/marts/,
# transforms/graph.py), then the retention drivers fitted on them (warehouse/drivers.py).
MART_KEYS = [*(model_key(model) for model in model_graph().layer("marts")), RETENTION_DRIVERS]


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
    models = model_specs(graph, streams)
    reads = mart_deps(graph, streams)
    specs = [
        *models,
        *(AssetSpec(key, group_name="metrics", kinds={"duckdb"},
                    description=docs[key.path[-1]].description,
                    deps=drivers_deps() if key == RETENTION_DRIVERS else reads[key],
                    tags={"layer": "marts", "partitioning": "monthly"},
                    # Each build records the column schema, with types and descriptions.
                    metadata={"table": ".".join(key.path)})
          for key in MART_KEYS),
    ]

    @multi_asset(specs=specs, partitions_def=monthly, can_subset=False, pool=WAREHOUSE_POOL,
                 backfill_policy=BackfillPolicy.single_run(), name="month_marts")
    def month_marts(context: AssetExecutionContext, warehouse: DuckDBResource,
                    settings: SettingsResource) -> Iterator[MaterializeResult]:
        settings = settings.get()  # parsed once per run (pipelines/resources.py)
        start, end = month_range(context.partition_time_window)
        with warehouse.get_connection() as conn:
            # Before anything is written: from now on the marts are this run's build, and the
            # checks and publishes of a run it overlaps leave them alone.
            record_build(conn, context.run_id)
            prepare(conn, streams, settings.for_warehouse(), settings.tables())
            written = build_month_marts(conn, start, end, context.run_id)
            schemas = {key: column_schema(described_columns(conn, key.path[-1]))
                        for key in MART_KEYS}
            model_columns = _model_columns(conn)
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
        for spec in models:  # created by `prepare`, before the marts
            yield MaterializeResult(asset_key=spec.key, metadata={
                "dagster/column_schema": column_schema(model_columns.get(spec.key, []))})
        for key in MART_KEYS:
            metadata = {"rows_written": written[key.path[-1]], "first_month": start.isoformat(),
                        "end_month_exclusive": end.isoformat(),
                        "dagster/column_schema": schemas[key]}
            if key == CSM_PERIOD_METRICS:
                metadata |= {"tracker_users_outside_population": len(outside),
                             "hours_outside_population": round(sum(h for _, h in outside), 2),
                             "activities_unusable": sum(unusable.values()),
                             "activities_unusable_by_reason": unusable}
            yield MaterializeResult(asset_key=key, metadata=metadata)

    return month_marts


def _model_columns(conn: DuckDBPyConnection) -> dict[AssetKey, list[tuple[str, str, str]]]:
    """Each staging and intermediate model's columns and types, view or table alike: read from
    the catalog, so nothing is scanned."""
    rows = conn.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name in $layers "
        "order by schema_name, table_name, column_index",
        {"layers": list(MODEL_LAYERS)}).fetchall()
    columns: dict[AssetKey, list[tuple[str, str, str]]] = {}
    for schema, table, column, data_type in rows:
        columns.setdefault(AssetKey([schema, table]), []).append((column, data_type, ""))
    return columns
