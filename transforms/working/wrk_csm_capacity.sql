-- grain: one row per (period, member of the CSM population).
-- rule: base capacity is FTE x working hours x the period's weekdays while employed (roster start
-- and end dates, inclusive); cost is the annual fully-loaded cost / 12 for a month, / 4 for a
-- quarter, whole for a year, prorated by the days employed when a roster date falls inside the
-- period (docs/metrics.md, `marts.csm_period_metrics`). A period not over counts only the days
-- begun by `as_of` (its `elapsed_end`), so capacity and cost are prorated to date (docs/metrics.md,
-- Periods). Leave is subtracted from capacity by the mart.
with periods as (
    select * from wrk_periods
),

people as (
    select * from intermediate.int_people__csms
),

settings as (
    select * from staging.settings
),

days as (
    select cast(day as date) as day, isodow(day) <= 5 as is_weekday
    from range(
        (select cast(min(period_start) as timestamp) from periods),
        (select cast(max(period_end) as timestamp) from periods),
        interval 1 day) as days(day)
),

employment as (
    select
        periods.period_grain,
        periods.period_start,
        periods.days,
        date_diff('day', periods.period_start, periods.elapsed_end) as days_begun,
        periods.months,
        people.csm_id,
        people.fte,
        people.annual_cost,
        count(days.day) as days_employed,
        count(days.day) filter (where days.is_weekday) as weekdays_employed
    from periods
    cross join people
    left join days
        on days.day >= periods.period_start and days.day < periods.elapsed_end
        and days.day >= coalesce(people.start_date, periods.period_start)
        and days.day <= coalesce(people.end_date, periods.period_end)
    group by all
),

final as (
    select
        employment.period_grain,
        employment.period_start,
        employment.csm_id,
        employment.fte * settings.working_hours_per_weekday * employment.weekdays_employed
            as base_capacity_hours,
        employment.annual_cost * employment.months / 12.0
            * employment.days_employed / employment.days as fully_loaded_cost,
        -- FTE prorated by the days employed among the days begun, for the capacity plan's
        -- `fte_available`: a person employed all along is one FTE, also in a period not over.
        coalesce(employment.fte * employment.days_employed / nullif(employment.days_begun, 0), 0)
            as fte_employed
    from employment
    cross join settings
)

select * from final
