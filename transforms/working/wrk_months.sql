-- grain: one row per month of this build's periods begun by `as_of`: the periods' own months and
-- those a quarter, year or trailing twelve months reaches before or after the range.
-- rule: a month runs from its first local midnight in the reporting time zone to the next, the
-- month of `as_of` only up to it. Every period's instants are its months' (a period starts at its
-- first month's start and is measured to the earlier of its end and `as_of`), so whatever is
-- counted at an instant is counted in a period as the sum of its months' counts
-- (docs/metrics.md, Periods and snapshots).
with settings as (
    select * from staging.settings
),

periods as (
    select * from wrk_periods
),

measured_to as (
    select max(as_of) as as_of from periods
),

spine as (
    select cast(month_start as date) as month_start
    from range((select cast(min(period_start) as timestamp) from periods),
               (select cast(max(period_end) as timestamp) from periods),
               interval 1 month) as spine(month_start)
),

final as (
    select
        spine.month_start,
        local_midnight(spine.month_start, settings.reporting_timezone) as start_instant,
        least(local_midnight(spine.month_start + interval 1 month, settings.reporting_timezone),
              measured_to.as_of) as end_instant
    from spine
    cross join settings
    cross join measured_to
    where local_midnight(spine.month_start, settings.reporting_timezone) < measured_to.as_of
)

select * from final
