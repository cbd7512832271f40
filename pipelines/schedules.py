"""Production cadence: refresh the open month every day, close the previous month once a month.

Both schedules target `refresh`, the partitioned job over every asset, so one run pulls the CRMs
incrementally, re-reads the month's time entries, rebuilds its marts and publishes them for BI.
Their cron strings are settings, read in the reporting time zone.
"""

from __future__ import annotations

from dagster import (
    JobDefinition,
    MonthlyPartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # what define_asset_job returns; not exported by name
)

from pipelines.settings import Settings


def open_month(partitions: MonthlyPartitionsDefinition, context: ScheduleEvaluationContext
               ) -> str | None:
    """The month the tick falls in (the last partition: the definition has end_offset=1)."""
    keys = partitions.get_partition_keys(current_time=context.scheduled_execution_time)
    return keys[-1] if keys else None


def previous_month(partitions: MonthlyPartitionsDefinition, context: ScheduleEvaluationContext
                   ) -> str | None:
    keys = partitions.get_partition_keys(current_time=context.scheduled_execution_time)
    return keys[-2] if len(keys) >= 2 else None


def refresh_schedules(job: JobDefinition | UnresolvedAssetJobDefinition,
                      partitions: MonthlyPartitionsDefinition, settings: Settings
                      ) -> list[ScheduleDefinition]:
    @schedule(name="daily_refresh", job=job, cron_schedule=settings.daily_refresh_cron,
              execution_timezone=settings.reporting_timezone,
              description="Every day: incremental CRM pulls, the open month's time entries, "
                          "its marts, and a fresh published copy for BI.")
    def daily_refresh(context: ScheduleEvaluationContext):
        month = open_month(partitions, context)
        if month is not None:
            yield RunRequest(run_key=f"daily-{context.scheduled_execution_time:%Y-%m-%d}",
                             partition_key=month, tags={"csm_metrics/cadence": "daily"})

    @schedule(name="monthly_close", job=job, cron_schedule=settings.monthly_close_cron,
              execution_timezone=settings.reporting_timezone,
              description="Once a month: rebuild the previous month with its late time entries, "
                          "so the closed month's numbers are final.")
    def monthly_close(context: ScheduleEvaluationContext):
        month = previous_month(partitions, context)
        if month is not None:
            yield RunRequest(run_key=f"close-{month}", partition_key=month,
                             tags={"csm_metrics/cadence": "monthly_close"})

    return [daily_refresh, monthly_close]
