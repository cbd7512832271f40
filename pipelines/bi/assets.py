"""The published marts asset and its checks.

A run publishes only its own build (pipelines/resources.py, Build): when an overlapping run
has rebuilt the marts since this run built them, the publishes of this run write nothing and
say which run did; that run publishes its build once its checks pass. A publish on its own (a
run that built nothing) publishes the build in place unless a blocking check failed on it. So
what BI reads is a build no blocking check failed on, judged by its own run.
"""


import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckExecutionContext,
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
from pipelines.resources import WAREHOUSE_POOL, Build, WarehouseResource, run_build, run_lineage
from warehouse.columns import mart_docs
from warehouse.hyper import extract_rows
from warehouse.postgres.publishing import PostgresPublishError, publish_marts
from warehouse.publishing import current_version, extract_path, publish

PUBLISHED = AssetKey(["bi", "published_marts"])
POSTGRES = AssetKey(["bi", "postgres_marts"])


# Not partitioned: it publishes all the marts, once per run, whatever months the run rebuilt.
# The single-run policy lets the CLI run it in the same run as a range of months.
# Not materialized when the build in place is not this run's: the report and the checks on the
# copy are then skipped too.
@asset(key=PUBLISHED, deps=MART_KEYS, group_name="bi", kinds={"duckdb", "tableau"},
       pool=WAREHOUSE_POOL, tags={"layer": "bi"}, backfill_policy=BackfillPolicy.single_run(),
       output_required=False,
       description="A read-only DuckDB copy of the marts and a Tableau Hyper extract of it, "
                   "built aside and swapped in whole (docs/bi.md).")
def published_marts(context: AssetExecutionContext, warehouse: WarehouseResource,
                    published: PublishedWarehouseResource) -> Iterator[MaterializeResult]:
    if not published.enabled:
        context.log.info("publishing is off (a MotherDuck warehouse serves readers itself)")
        yield MaterializeResult(metadata={"published": False})
        return
    with warehouse.get_connection() as conn:
        build = run_build(conn, context.instance, context.run.run_id)
        if not build.publishable:
            context.log.warning(f"nothing published: {not_ours(build)}")
            return
        result = publish(conn, published.link(), context.run_id, published.keep)
    context.log.info(f"published {result.version.name} at {result.path}, and the Hyper "
                     f"extract at {result.extract_path}")
    yield MaterializeResult(metadata={
        "published": True, "path": str(result.path), "version": result.version.name,
        "extract_path": str(result.extract_path),
        "extract_version": result.extract.name if result.extract else "",
        "versions_pruned": result.pruned, **{f"rows_{t}": n for t, n in result.rows.items()}})


@asset_check(asset=PUBLISHED, additional_deps=MART_KEYS, pool=WAREHOUSE_POOL,
             description="What BI reads is what the pipeline built: the published version's "
                         "tables and the Hyper extract's have the working warehouse's rows, "
                         "and the copy its own recorded row counts.")
def published_matches_working(context: AssetCheckExecutionContext, warehouse: WarehouseResource,
                              published: PublishedWarehouseResource) -> AssetCheckResult:
    if not published.enabled:
        return AssetCheckResult(passed=True, metadata={"published": False})
    tables = list(mart_docs())
    with warehouse.get_connection() as conn:
        build = run_build(conn, context.instance, context.run.run_id)
        working = {t: _count(conn, f"marts.{t}") for t in tables}
    version = current_version(published.link())
    publisher = publication_run(version)
    if build.superseded or (build.built_here
                            and publisher not in run_lineage(context.instance, context.run.run_id)):
        # Another run rebuilt the marts, or published its build, since this run published.
        why = build.superseded_message() if build.superseded else (
            f"run {publisher} has published since this run did")
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                                description=f"Not judged: {why}.",
                                metadata={"judged": False, "version": version.name})
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
    refused: list[Build] = []

    @contextmanager
    def our_build() -> Iterator[duckdb.DuckDBPyConnection]:
        """The warehouse, if the marts in place are this run's build: checked in the connection
        that reads them, so nothing can rebuild them in between; closed before PostgreSQL is
        contacted."""
        with warehouse.get_connection() as conn:
            build = run_build(conn, context.instance, context.run.run_id)
            if not build.publishable:
                refused.append(build)
                raise NotThisRunsBuild
            yield conn

    try:
        result = publish_marts(our_build, postgres.url, context.run_id,
                               bi_role=postgres.bi_role, bi_password=postgres.bi_password,
                               swap_wait_seconds=postgres.swap_wait_seconds,
                               log=context.log.info, warn=context.log.warning)
    except NotThisRunsBuild:
        context.log.warning(f"nothing published to PostgreSQL: {not_ours(refused[0])}")
        return MaterializeResult(metadata={"published": False,
                                           "superseded_by_run": refused[0].current or ""})
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


class NotThisRunsBuild(Exception):
    """The marts in place are not what this run's checks passed (`not_ours` says why)."""


def not_ours(build: Build) -> str:
    """Why a run does not publish the build in place."""
    if build.superseded:
        return build.superseded_message()
    return (f"the marts in place are run {build.current}'s build, on which the blocking check "
            f"{build.failed_check} failed: materialize the marts (monthly_metrics) to publish")


def publication_run(version: Path) -> str | None:
    """The run that published `version` (meta.publication)."""
    with duckdb.connect(str(version), read_only=True) as reader:
        row = reader.execute("select run_id from meta.publication").fetchone()
    return row[0] if row else None


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    row = conn.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


# Daily refresh: anything older than a day and a bit means the schedule is not running. Dagster
# 1.13 calls these checks superseded by FreshnessPolicy, which keeps no check history to alert on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    FRESHNESS_CHECKS = build_last_update_freshness_checks(
        assets=[PUBLISHED, *MART_KEYS], lower_bound_delta=timedelta(hours=26))
