"""Production cadence: refresh the open month every day, close the previous month once a month.

Both schedules target `refresh`, the partitioned job over every asset, so one run pulls the CRMs
incrementally, re-reads the month's time entries, rebuilds its marts and publishes them for BI.
Their cron strings are settings, read in the reporting time zone.
"""

from __future__ import annotations

from datetime import UTC

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


def month_back(partitions: MonthlyPartitionsDefinition, context: ScheduleEvaluationContext,
               back: int) -> str | None:
    """The month `back` months before the one the tick falls in (0: the open month, the last
    partition, since the definition has end_offset=1); None before the first month."""
    keys = partitions.get_partition_keys(current_time=context.scheduled_execution_time)
    return keys[-1 - back] if len(keys) > back else None


def month_schedule(name: str, cron: str, months_back: int, description: str,
                   job: JobDefinition | UnresolvedAssetJobDefinition,
                   partitions: MonthlyPartitionsDefinition, timezone: str) -> ScheduleDefinition:
    """A schedule that runs `job` for one month; keyed by its tick's instant (in UTC), so a tick
    runs once and every tick of a cron that fires several times a day runs."""

    @schedule(name=name, job=job, cron_schedule=cron, execution_timezone=timezone,
              description=description)
    def _tick(context: ScheduleEvaluationContext):
        month = month_back(partitions, context, months_back)
        if month is not None:
            instant = context.scheduled_execution_time.astimezone(UTC)
            yield RunRequest(run_key=f"{name}-{instant:%Y-%m-%dT%H:%M:%SZ}",
                             partition_key=month, tags={"csm_metrics/cadence": name})

    return _tick


def refresh_schedules(job: JobDefinition | UnresolvedAssetJobDefinition,
                      partitions: MonthlyPartitionsDefinition, settings: Settings
                      ) -> list[ScheduleDefinition]:
    timezone = settings.reporting_timezone
    return [
        month_schedule("daily_refresh", settings.daily_refresh_cron, 0,
                       "Every day: incremental CRM pulls, the open month's time entries, its "
                       "marts, and a fresh published copy for BI.", job, partitions, timezone),
        month_schedule("monthly_close", settings.monthly_close_cron, 1,
                       "Once a month: rebuild the previous month with its late time entries, so "
                       "the closed month's numbers are final.", job, partitions, timezone),
    ]
