"""The Dagster code location: `dagster dev -m pipelines.definitions`, or `workspace.yaml`.

Secrets reach resources as `EnvVar`s, so the UI and run storage show the variable's name, never
its value. A variable that is not set leaves its source unconfigured (skipped), rather than
failing every run.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import AssetSelection, Definitions, EnvVar, define_asset_job, in_process_executor

from pipelines.crm import assets as crm
from pipelines.crm.resources import HubSpotResource, SalesforceResource
from pipelines.metrics.assets import month_marts_asset
from pipelines.metrics.checks import CHECKS
from pipelines.partitions import monthly_partitions
from pipelines.raw import raw_stream_assets, raw_stream_checks
from pipelines.resources import WarehouseResource
from pipelines.settings import load_settings
from pipelines.time_tracking import assets as time_tracking
from pipelines.time_tracking.resources import ClockifyResource, TogglResource

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"


def _env(name: str) -> EnvVar | None:
    return EnvVar(name) if os.environ.get(name) else None


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name) or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(f"{name} must be a number of seconds (0 or more), not {raw!r}")
    return value


def warehouse_path() -> str:
    path = Path(os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def build_definitions() -> Definitions:
    settings = load_settings()
    monthly = monthly_partitions(settings)
    streams = [*crm.STREAMS, *time_tracking.STREAMS]
    sources = AssetSelection.tag("partitioning", "none")
    months = AssetSelection.tag("partitioning", "monthly")
    return Definitions(
        assets=[*raw_stream_assets(streams, monthly), month_marts_asset(streams, monthly)],
        asset_checks=[*raw_stream_checks(streams), *CHECKS],
        jobs=[
            define_asset_job("pull_sources", selection=sources,
                             description="Full pulls of every CRM and tracker directory stream."),
            define_asset_job("monthly_metrics", selection=months, partitions_def=monthly,
                             description="Time entries and marts for a month or a range."),
        ],
        resources={
            "warehouse": WarehouseResource(
                database=warehouse_path(),
                lock_wait_seconds=_seconds("CSM_METRICS_WAREHOUSE_LOCK_WAIT", 60.0)),
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
                base_url=_env("CLOCKIFY_BASE_URL")),
        },
        # DuckDB lets one process write a database file: steps run in the run's own process.
        executor=in_process_executor,
    )


defs = build_definitions()
