"""The published marts asset and its checks."""


import warnings
from datetime import timedelta

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    asset,
    asset_check,
    build_last_update_freshness_checks,
)
from dagster._utils.warnings import SupersessionWarning

from pipelines.bi.resources import PublishedWarehouseResource
from pipelines.metrics.assets import MART_KEYS
from pipelines.resources import WarehouseResource
from warehouse.columns import mart_docs
from warehouse.publishing import current_version, publish

PUBLISHED = AssetKey(["bi", "published_marts"])


# Not partitioned: it publishes all the marts, once per run, whatever months the run rebuilt.
# The single-run policy lets the CLI run it in the same run as a range of months.
@asset(key=PUBLISHED, deps=MART_KEYS, group_name="bi", kinds={"duckdb"},
       tags={"layer": "bi"}, backfill_policy=BackfillPolicy.single_run(),
       description="A read-only copy of the marts for Looker, Tableau and the PostgreSQL-wire "
                   "endpoint, built aside and swapped in whole (docs/bi.md).")
def published_marts(context: AssetExecutionContext, warehouse: WarehouseResource,
                    published: PublishedWarehouseResource) -> MaterializeResult:
    if not published.enabled:
        context.log.info("publishing is off (a MotherDuck warehouse serves readers itself)")
        return MaterializeResult(metadata={"published": False})
    with warehouse.get_connection() as conn:
        result = publish(conn, published.link(), context.run_id, published.keep)
    context.log.info(f"published {result.version.name} at {result.path}")
    return MaterializeResult(metadata={
        "published": True, "path": str(result.path), "version": result.version.name,
        "versions_pruned": result.pruned, **{f"rows_{t}": n for t, n in result.rows.items()}})


@asset_check(asset=PUBLISHED, additional_deps=MART_KEYS,
             description="What BI reads is what the pipeline built: the published version's "
                         "tables have the working warehouse's rows, and its own row counts.")
def published_matches_working(warehouse: WarehouseResource,
                              published: PublishedWarehouseResource) -> AssetCheckResult:
    if not published.enabled:
        return AssetCheckResult(passed=True, metadata={"published": False})
    tables = list(mart_docs())
    with warehouse.get_connection() as conn:
        working = {t: _count(conn, f"marts.{t}") for t in tables}
    version = current_version(published.link())
    with duckdb.connect(str(version), read_only=True) as reader:
        copied = {t: _count(reader, f"marts.{t}") for t in tables}
        recorded = dict(reader.execute(
            "select table_name, row_count from meta.table_rows").fetchall())
    differ = [t for t in tables if not working[t] == copied[t] == recorded.get(t)]
    return AssetCheckResult(
        passed=not differ, severity=AssetCheckSeverity.ERROR,
        metadata={"version": version.name, "tables_that_differ": differ,
                  **{f"rows_{t}": copied[t] for t in tables}})


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    row = conn.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


# Daily refresh: anything older than a day and a bit means the schedule is not running. Dagster
# 1.13 calls these checks superseded by FreshnessPolicy, which keeps no check history to alert on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    FRESHNESS_CHECKS = build_last_update_freshness_checks(
        assets=[PUBLISHED, *MART_KEYS], lower_bound_delta=timedelta(hours=26))
