"""The code location: `dagster dev -m pipelines.definitions`, or `workspace.yaml`.

Every variable is read once, by `Deployment.from_env()` (pipelines/deployment.py), which stops the
code location naming the variable that cannot work; the resources are built from it. Secrets reach
resources as `EnvVar`s, so the UI and run storage show the variable's name, never its value. A
variable that is not set leaves its source unconfigured (skipped), rather than failing every run.
The settings file is validated here too, so hostile settings stop the code location; runs read
it through the `settings` resource, once per run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetSelection,
    Definitions,
    ExecutorDefinition,
    SensorDefinition,
    build_sensor_for_freshness_checks,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)
from dagster._utils.warnings import SupersessionWarning

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
from pipelines.deployment import Deployment, DeploymentError
from pipelines.metrics.assets import month_marts_asset
from pipelines.metrics.checks import CHECKS
from pipelines.metrics.models import model_specs
from pipelines.partitions import monthly_partitions
from pipelines.raw import raw_stream_assets
from pipelines.report.assets import REPORT, report
from pipelines.resources import SettingsResource, WarehouseResource
from pipelines.schedules import refresh_schedules
from pipelines.stale_runs import watched
from pipelines.time_tracking import assets as time_tracking
from pipelines.time_tracking.resources import ClockifyResource, TogglResource
from transforms.graph import model_graph


def executor(deployment: Deployment) -> ExecutorDefinition:
    """`CSM_METRICS_EXECUTOR`: where steps run (docs/scaling.md). `Deployment` has already
    refused anything but `in_process` on a DuckDB file (one writer process at a time)."""
    name = deployment.executor
    if name == "in_process":
        return in_process_executor
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


def resources(deployment: Deployment) -> dict[str, object]:
    """Every resource, from the deployment: values for what is not secret, `EnvVar`s (or None,
    unconfigured) for credentials and the sources' addresses."""
    env = deployment.env_var
    timeout = deployment.http_timeout
    return {
        "warehouse": WarehouseResource(
            database=deployment.warehouse_path,
            lock_wait_seconds=deployment.warehouse_lock_wait,
            memory_limit=deployment.duckdb_memory_limit),
        "settings": SettingsResource(path=deployment.settings_path),
        "published": PublishedWarehouseResource(path=deployment.published),
        "postgres": PostgresResource(
            url=env("CSM_METRICS_POSTGRES_URL"), bi_role=deployment.postgres_bi_role,
            bi_password=env("CSM_METRICS_POSTGRES_BI_PASSWORD"),
            swap_wait_seconds=deployment.postgres_swap_wait),
        "salesforce": SalesforceResource(
            instance_url=env("SALESFORCE_INSTANCE_URL"),
            access_token=env("SALESFORCE_ACCESS_TOKEN"),
            username=env("SALESFORCE_USERNAME"), password=env("SALESFORCE_PASSWORD"),
            security_token=env("SALESFORCE_SECURITY_TOKEN"),
            domain=env("SALESFORCE_DOMAIN"), http_timeout=timeout),
        "hubspot": HubSpotResource(access_token=env("HUBSPOT_ACCESS_TOKEN"),
                                   base_url=env("HUBSPOT_BASE_URL"), http_timeout=timeout),
        "toggl": TogglResource(
            api_token=env("TOGGL_API_TOKEN"), workspace_id=env("TOGGL_WORKSPACE_ID"),
            base_url=env("TOGGL_BASE_URL"),
            min_request_interval=deployment.toggl_min_request_interval,
            max_quota_wait=deployment.toggl_max_quota_wait, http_timeout=timeout),
        "clockify": ClockifyResource(
            api_key=env("CLOCKIFY_API_KEY"), workspace_id=env("CLOCKIFY_WORKSPACE_ID"),
            base_url=env("CLOCKIFY_BASE_URL"), page_size=deployment.clockify_page_size,
            http_timeout=timeout),
    }


def freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    """Evaluates the freshness checks. Dagster 1.13 calls this sensor superseded by
    FreshnessPolicy, which shows a state but keeps no check history to alert on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_sensor_for_freshness_checks(freshness_checks=checks, name="freshness_checks")


def build_definitions(deployment: Deployment | None = None) -> Definitions:
    deployment = deployment or Deployment.from_env()
    # Validated now, so hostile settings stop the code location; runs re-read the same file
    # through the `settings` resource, once each.
    settings = SettingsResource(path=deployment.settings_path).get()
    monthly = monthly_partitions(settings)
    streams = [*crm.STREAMS, *time_tracking.STREAMS]
    # The freshness checks are the `freshness_checks` sensor's (docs/scheduling.md): a run
    # that has just written the marts would judge them fresh, at the cost of a step.
    unjudged = AssetSelection.checks(*FRESHNESS_CHECKS)
    sources = AssetSelection.tag("partitioning", "none")
    months = (AssetSelection.tag("partitioning", "monthly") | AssetSelection.assets(
        PUBLISHED, POSTGRES, REPORT)) - unjudged
    refresh = define_asset_job(
        "refresh", selection=AssetSelection.all() - unjudged,
        description="Everything for a month (or a range): incremental CRM pulls, time entries, "
                    "marts, and the published copy. What the schedules run.")
    freshness = FRESHNESS_CHECKS
    return Definitions(
        assets=[*raw_stream_assets(streams, monthly),
                *model_specs(model_graph(), streams),  # views: lineage, no step
                month_marts_asset(streams, monthly),
                published_marts, postgres_marts, report],
        asset_checks=[*CHECKS, published_matches_working,
                      *freshness],
        jobs=[
            define_asset_job("pull_sources", selection=sources,
                             description="Full pulls of every CRM and tracker directory stream."),
            define_asset_job("monthly_metrics", selection=months,
                             description="Time entries and marts for a month or a range, then "
                                         "the published copy and the report."),
            refresh,
        ],
        schedules=refresh_schedules(refresh, monthly, settings),
        sensors=[freshness_sensor(freshness)],
        resources=resources(deployment),
        # Runs free the pool slots of killed runs they wait for (pipelines/stale_runs.py).
        executor=watched(executor(deployment)),
    )


defs = build_definitions()
