"""The code location: `dagster dev -m pipelines.definitions`, or `workspace.yaml`.

Secrets reach resources as `EnvVar`s, so the UI and run storage show the variable's name, never
its value. A variable that is not set leaves its source unconfigured (skipped), rather than
failing every run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetSelection,
    Definitions,
    EnvVar,
    ExecutorDefinition,
    SensorDefinition,
    build_sensor_for_freshness_checks,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)
from dagster._utils.warnings import SupersessionWarning

from connectors.clockify.client import PAGE_SIZE
from pipelines.bi.assets import (
    FRESHNESS_CHECKS,
    POSTGRES,
    PUBLISHED,
    postgres_marts,
    published_marts,
    published_matches_working,
)
from pipelines.bi.resources import PostgresResource, PublishedWarehouseResource
from pipelines.crm import assets as crm
from pipelines.crm.resources import HubSpotResource, SalesforceResource
from pipelines.metrics.assets import month_marts_asset
from pipelines.metrics.checks import CHECKS
from pipelines.partitions import monthly_partitions
from pipelines.raw import raw_stream_assets, raw_stream_checks
from pipelines.resources import WarehouseResource
from pipelines.schedules import refresh_schedules
from pipelines.settings import load_settings
from pipelines.time_tracking import assets as time_tracking
from pipelines.time_tracking.resources import ClockifyResource, TogglResource
from warehouse.locations import (
    DEFAULT_MEMORY_LIMIT,
    DeploymentError,
    is_motherduck,
    published_path,
    warehouse_path,
)

EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")


def _env(name: str) -> EnvVar | None:
    return EnvVar(name) if os.environ.get(name) else None


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise DeploymentError(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    return value


def _page_size(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= 5000:
        raise DeploymentError(f"{name} must be a whole number from 1 to 5000, not {raw!r}")
    return int(raw)


def executor(database: str) -> ExecutorDefinition:
    """`CSM_METRICS_EXECUTOR`: where steps run (docs/scaling.md).

    A DuckDB file takes one writer process, so anything but `in_process` needs a warehouse that
    takes concurrent writers: MotherDuck.
    """
    name = os.environ.get("CSM_METRICS_EXECUTOR") or "in_process"
    if name not in EXECUTORS:
        raise DeploymentError(f"CSM_METRICS_EXECUTOR must be one of {', '.join(EXECUTORS)}, "
                              f"not {name!r}")
    if name == "in_process":
        return in_process_executor
    if not is_motherduck(database):
        raise DeploymentError(
            f"CSM_METRICS_EXECUTOR={name} runs steps in several processes, but a DuckDB file "
            "takes one writer at a time: set WAREHOUSE_PATH to a MotherDuck database (md:...) "
            "or use CSM_METRICS_EXECUTOR=in_process")
    if name == "multiprocess":
        return multiprocess_executor
    try:
        if name == "celery":
            from dagster_celery import celery_executor
            return celery_executor
        from dagster_k8s import k8s_job_executor
        return k8s_job_executor
    except ImportError:
        package = "dagster-celery" if name == "celery" else "dagster-k8s"
        raise DeploymentError(f"CSM_METRICS_EXECUTOR={name} needs {package}: "
                              f"pip install -e '.[distributed]'") from None


def freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    """Evaluates the freshness checks. Dagster 1.13 calls this sensor superseded by
    FreshnessPolicy, which shows a state but keeps no check history to alert on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_sensor_for_freshness_checks(freshness_checks=checks, name="freshness_checks")


def build_definitions() -> Definitions:
    settings = load_settings()
    monthly = monthly_partitions(settings)
    streams = [*crm.STREAMS, *time_tracking.STREAMS]
    database = warehouse_path()
    sources = AssetSelection.tag("partitioning", "none")
    months = AssetSelection.tag("partitioning", "monthly") | AssetSelection.assets(
        PUBLISHED, POSTGRES)
    refresh = define_asset_job(
        "refresh", selection=AssetSelection.all(),
        description="Everything for a month (or a range): incremental CRM pulls, time entries, "
                    "marts, and the published copy. What the schedules run.")
    freshness = FRESHNESS_CHECKS
    return Definitions(
        assets=[*raw_stream_assets(streams, monthly), month_marts_asset(streams, monthly),
                published_marts, postgres_marts],
        asset_checks=[*raw_stream_checks(streams), *CHECKS, published_matches_working,
                      *freshness],
        jobs=[
            define_asset_job("pull_sources", selection=sources,
                             description="Full pulls of every CRM and tracker directory stream."),
            define_asset_job("monthly_metrics", selection=months,
                             description="Time entries and marts for a month or a range, then "
                                         "the published copy."),
            refresh,
        ],
        schedules=refresh_schedules(refresh, monthly, settings),
        sensors=[freshness_sensor(freshness)],
        resources={
            "warehouse": WarehouseResource(
                database=database,
                lock_wait_seconds=_seconds("CSM_METRICS_WAREHOUSE_LOCK_WAIT", 60.0),
                memory_limit=os.environ.get("CSM_METRICS_DUCKDB_MEMORY_LIMIT")
                or DEFAULT_MEMORY_LIMIT),
            "published": PublishedWarehouseResource(path=published_path(database)),
            "postgres": PostgresResource(
                url=_env("CSM_METRICS_POSTGRES_URL"),
                bi_role=os.environ.get("CSM_METRICS_POSTGRES_BI_ROLE") or "bi",
                bi_password=_env("CSM_METRICS_POSTGRES_BI_PASSWORD"),
                swap_wait_seconds=_seconds("CSM_METRICS_POSTGRES_SWAP_WAIT", 60.0)),
            "salesforce": SalesforceResource(
                instance_url=_env("SALESFORCE_INSTANCE_URL"),
                access_token=_env("SALESFORCE_ACCESS_TOKEN"),
                username=_env("SALESFORCE_USERNAME"), password=_env("SALESFORCE_PASSWORD"),
                security_token=_env("SALESFORCE_SECURITY_TOKEN"),
                domain=_env("SALESFORCE_DOMAIN")),
            "hubspot": HubSpotResource(access_token=_env("HUBSPOT_ACCESS_TOKEN"),
                                       base_url=_env("HUBSPOT_BASE_URL")),
            "toggl": TogglResource(
                api_token=_env("TOGGL_API_TOKEN"), workspace_id=_env("TOGGL_WORKSPACE_ID"),
                base_url=_env("TOGGL_BASE_URL"),
                min_request_interval=_seconds("TOGGL_MIN_REQUEST_INTERVAL", 1.0)),
            "clockify": ClockifyResource(
                api_key=_env("CLOCKIFY_API_KEY"), workspace_id=_env("CLOCKIFY_WORKSPACE_ID"),
                base_url=_env("CLOCKIFY_BASE_URL"),
                page_size=_page_size("CLOCKIFY_PAGE_SIZE", PAGE_SIZE)),
        },
        executor=executor(database),
    )


defs = build_definitions()
