-- grain: one row per account that ever had a revenue schedule: its onboarding.
-- rule: onboarding starts at the service_start of the account's first schedule (its `new`
-- movement), at 00:00 in the reporting time zone. onboarding_hours are the hours any CSM tracked
-- on the account in activity `onboarding` within `onboarding_window_days` of that start, up to
-- `as_of` (an entry across the window's edges counts only its part inside; the entries of a window
-- that runs past the months built are read too, docs/metrics.md "Onboarding"); days_to_value is the days from
-- the start to the configured value-milestone date, NULL when there is none. Both count for the
-- owner at the start instant (docs/metrics.md, "Onboarding"). The windows do not align with
-- months, so they read entries, not the hours cube: only the build's entries (its entry window:
-- an account onboarded in a period rebuilt has its whole window in them) whose resolved key
-- (wrk_entry_keys) is onboarding work on an account, joined on the key's hash and the key.
with settings as (
    select * from staging.settings
),

periods as (
    select * from wrk_periods
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

accounts as (
    select * from intermediate.int_accounts__unified
),

keys as (
    select * from wrk_entry_keys
    where in_population and not is_leave and activity = 'onboarding' and account_id is not null
),

keyed as (
    select * from intermediate.int_time_entries__keyed
    where stop_at is not null and entry_reject_reason(start_at, stop_at) is null
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

entries as (
    select keys.account_id, keyed.start_at, keyed.stop_at
    from keyed
    inner join keys on same_key(keys, keyed)
),

starts as (
    select
        schedules.account_id,
        min(schedules.service_start) as onboarding_start
    from schedules
    group by schedules.account_id
),

windows as (
    select
        starts.account_id,
        starts.onboarding_start,
        local_midnight(starts.onboarding_start, settings.reporting_timezone)
            as start_instant,
        least(local_midnight(starts.onboarding_start + to_days(settings.onboarding_window_days),
                             settings.reporting_timezone),
            (select max(periods.as_of) from periods)) as window_end
    from starts
    cross join settings
),

hours as (
    select
        windows.account_id,
        sum(ms_inside(entries.start_at, entries.stop_at, windows.start_instant,
                      windows.window_end)) as onboarding_ms
    from windows
    inner join entries
        on entries.account_id = windows.account_id
        and overlaps_interval(entries.start_at, entries.stop_at, windows.start_instant,
                              windows.window_end)
    group by windows.account_id
),

final as (
    select
        windows.account_id,
        windows.onboarding_start,
        windows.start_instant,
        coalesce(ownership.csm_id, 'unassigned') as csm_id,
        ms_to_hours(coalesce(hours.onboarding_ms, 0)) as onboarding_hours,
        date_diff('day', windows.onboarding_start, accounts.value_milestone_date)
            as days_to_value
    from windows
    left join hours on hours.account_id = windows.account_id
    left join accounts on accounts.account_id = windows.account_id
    left join ownership on owned_at(ownership, windows.account_id, windows.start_instant)
)

select * from final
