-- grain: one row per month (its first day, in the reporting time zone) whose time entries were
-- pulled.
-- rule: a month counts as pulled once every time-entry stream that ever landed a window landed a
-- window covering the whole month; a period with a month up to `as_of` that is not here is
-- `partial` (docs/metrics.md, Complete, open and partial periods).
with settings as (
    select * from staging.settings
),

windows as (
    select * from staging.stg_pipeline__time_entry_windows
),

months as (
    select distinct
        windows.source,
        windows.stream,
        cast(month_start as date) as month_start
    from windows
    cross join settings
    cross join unnest(generate_series(
        date_trunc('month', timezone(settings.reporting_timezone, windows.window_start)),
        timezone(settings.reporting_timezone, windows.window_end) - interval 1 microsecond,
        interval 1 month)) as months(month_start)
    -- whole months only: a window that starts after the month's first instant does not cover it
    where local_midnight(month_start, settings.reporting_timezone)
          >= windows.window_start
      and local_midnight(month_start + interval 1 month, settings.reporting_timezone)
          <= windows.window_end
),

final as (
    select month_start
    from months
    group by month_start
    having count(distinct (source, stream)) = (select count(distinct (source, stream)) from windows)
)

select * from final
