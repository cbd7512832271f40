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
    Failure,
    MaterializeResult,
    asset,
    asset_check,
    build_last_update_freshness_checks,
)
from dagster._utils.warnings import SupersessionWarning

from pipelines.bi.resources import PostgresResource, PublishedWarehouseResource
from pipelines.metrics.assets import MART_KEYS
from pipelines.resources import WAREHOUSE_POOL, WarehouseResource
from warehouse.columns import mart_docs
from warehouse.hyper import extract_rows
from warehouse.postgres.publishing import PostgresPublishError, publish_marts
from warehouse.publishing import current_version, extract_path, publish

PUBLISHED = AssetKey(["bi", "published_marts"])
POSTGRES = AssetKey(["bi", "postgres_marts"])


# Not partitioned: it publishes all the marts, once per run, whatever months the run rebuilt.
# The single-run policy lets the CLI run it in the same run as a range of months.
@asset(key=PUBLISHED, deps=MART_KEYS, group_name="bi", kinds={"duckdb", "tableau"},
       pool=WAREHOUSE_POOL, tags={"layer": "bi"}, backfill_policy=BackfillPolicy.single_run(),
       description="A read-only DuckDB copy of the marts and a Tableau Hyper extract of it, "
                   "built aside and swapped in whole (docs/bi.md).")
def published_marts(context: AssetExecutionContext, warehouse: WarehouseResource,
                    published: PublishedWarehouseResource) -> MaterializeResult:
    if not published.enabled:
        context.log.info("publishing is off (a MotherDuck warehouse serves readers itself)")
        return MaterializeResult(metadata={"published": False})
    with warehouse.get_connection() as conn:
        result = publish(conn, published.link(), context.run_id, published.keep)
    context.log.info(f"published {result.version.name} at {result.path}, and the Hyper "
                     f"extract at {result.extract_path}")
    return MaterializeResult(metadata={
        "published": True, "path": str(result.path), "version": result.version.name,
        "extract_path": str(result.extract_path),
        "extract_version": result.extract.name if result.extract else "",
        "versions_pruned": result.pruned, **{f"rows_{t}": n for t, n in result.rows.items()}})


@asset_check(asset=PUBLISHED, additional_deps=MART_KEYS, pool=WAREHOUSE_POOL,
             description="What BI reads is what the pipeline built: the published version's "
                         "tables and the Hyper extract's have the working warehouse's rows, "
                         "and the copy its own recorded row counts.")
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
    extract = current_version(extract_path(published.link()))
    extracted = extract_rows(extract)
    differ = [t for t in tables
              if not working[t] == copied[t] == recorded.get(t) == extracted.get(t)]
    return AssetCheckResult(
        passed=not differ, severity=AssetCheckSeverity.ERROR,
        metadata={"version": version.name, "extract_version": extract.name,
                  "tables_that_differ": differ,
                  **{f"rows_{t}": copied[t] for t in tables},
                  **{f"extract_rows_{t}": extracted.get(t, 0) for t in tables}})


# Like the published copy: all the marts once per run, whatever months the run rebuilt.
@asset(key=POSTGRES, deps=MART_KEYS, group_name="bi", kinds={"postgres"},
       pool=WAREHOUSE_POOL, tags={"layer": "bi"}, backfill_policy=BackfillPolicy.single_run(),
       description="The marts in PostgreSQL (schema marts) for Looker and other PostgreSQL "
                   "clients, built aside and swapped in whole; off unless "
                   "CSM_METRICS_POSTGRES_URL is set (docs/bi.md).")
def postgres_marts(context: AssetExecutionContext, warehouse: WarehouseResource,
                   postgres: PostgresResource) -> MaterializeResult:
    if not postgres.enabled or postgres.url is None:
        context.log.info("publishing to PostgreSQL is off (CSM_METRICS_POSTGRES_URL is not set)")
        return MaterializeResult(metadata={"published": False})
    try:  # the warehouse is read, then closed before PostgreSQL is contacted
        result = publish_marts(warehouse.get_connection, postgres.url, context.run_id,
                               bi_role=postgres.bi_role, bi_password=postgres.bi_password,
                               swap_wait_seconds=postgres.swap_wait_seconds,
                               log=context.log.info, warn=context.log.warning)
    except PostgresPublishError as error:
        raise Failure(description=str(error)) from None
    total = sum(result.rows.values())
    context.log.info(f"published {total:,} rows to PostgreSQL schema marts")
    return MaterializeResult(metadata={
        "published": True, "load_seconds": result.load_seconds,
        "swap_seconds": result.swap_seconds,
        "rows_per_second": round(total / max(result.load_seconds, 1e-9)),
        "created": ", ".join(result.created) or "-",
        **{f"rows_{t}": n for t, n in result.rows.items()}})


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    row = conn.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


# Daily refresh: anything older than a day and a bit means the schedule is not running. Dagster
# 1.13 calls these checks superseded by FreshnessPolicy, which keeps no check history to alert on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    FRESHNESS_CHECKS = build_last_update_freshness_checks(
        assets=[PUBLISHED, *MART_KEYS], lower_bound_delta=timedelta(hours=26))
