"""The marts: one multi-asset, because every table comes from the same snapshots and they are
replaced together in one transaction. Partitioned by month; a run also rebuilds the quarters and
years its months touch."""


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

from connectors.streams import Stream
from pipelines.partitions import month_range
from pipelines.raw import raw_key
from pipelines.resources import WAREHOUSE_POOL
from pipelines.settings import load_settings
from warehouse.columns import described_columns, mart_docs
from warehouse.marts import build_month_marts
from warehouse.schema import prepare

CSM_PERIOD_METRICS = AssetKey(["marts", "csm_period_metrics"])
TEAM_PERIOD_METRICS = AssetKey(["marts", "team_period_metrics"])
ACCOUNT_PERIOD_METRICS = AssetKey(["marts", "account_period_metrics"])
CSM_ACTIVITY_HOURS = AssetKey(["marts", "csm_activity_hours"])
QUARANTINE = AssetKey(["marts", "quarantine"])

MART_KEYS = [CSM_PERIOD_METRICS, TEAM_PERIOD_METRICS, ACCOUNT_PERIOD_METRICS, CSM_ACTIVITY_HOURS,
             QUARANTINE]


def column_schema(columns: list[tuple[str, str, str]]) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, kind, description)
                                for name, kind, description in columns])


def month_marts_asset(streams: list[Stream], monthly: PartitionsDefinition) -> AssetsDefinition:
    docs = mart_docs()
    specs = [
        AssetSpec(key, group_name="metrics", kinds={"duckdb"},
                  description=docs[key.path[-1]].description,
                  deps=[raw_key(s) for s in streams],
                  tags={"layer": "marts", "partitioning": "monthly"},
                  # Each build records the column schema, with types and descriptions.
                  metadata={"table": ".".join(key.path)})
        for key in MART_KEYS
    ]

    @multi_asset(specs=specs, partitions_def=monthly, can_subset=False, pool=WAREHOUSE_POOL,
                 backfill_policy=BackfillPolicy.single_run(), name="month_marts")
    def month_marts(context: AssetExecutionContext,
                    warehouse: DuckDBResource) -> Iterator[MaterializeResult]:
        settings = load_settings()
        start, end = month_range(context.partition_time_window)
        with warehouse.get_connection() as conn:
            prepare(conn, streams, settings.for_warehouse(), settings.tables())
            written = build_month_marts(conn, start, end, context.run_id)
            schemas = {key: column_schema(described_columns(conn, key.path[-1]))
                        for key in MART_KEYS}
            outside = conn.execute(
                "select tracker_email, hours from intermediate.int_time_entries__outside_population"
                " order by hours desc").fetchall()
        context.log.info(f"periods touching {start}..{end} (exclusive) rebuilt: {written}")
        if outside:
            context.log.warning(f"{len(outside)} tracker user(s) outside the CSM population; "
                                f"their hours count nowhere: {[u for u, _ in outside[:10]]}")
        for key in MART_KEYS:
            metadata = {"rows_written": written[key.path[-1]], "first_month": start.isoformat(),
                        "end_month_exclusive": end.isoformat(),
                        "dagster/column_schema": schemas[key]}
            if key == CSM_PERIOD_METRICS:
                metadata |= {"tracker_users_outside_population": len(outside),
                             "hours_outside_population": round(sum(h for _, h in outside), 2)}
            yield MaterializeResult(asset_key=key, metadata=metadata)

    return month_marts
