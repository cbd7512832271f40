-- grain: one row per current customer at $as_of (ARR > 0 on the day of $as_of).
-- rule: the account's ARR now (`arr_now`, the schedules covering the day of $as_of), its owner
-- now (`csm_id`, `unassigned` when none), its segment by `arr_now`, its latest touchpoint before
-- $as_of, and the retention-driver model's inputs measured as the units' are, over the three
-- months before $as_of instead of the quarter before a quarter's start (docs/metrics.md,
-- "Looking ahead"; "Retention drivers"): hours by all CSMs on it per month, touchpoints, days
-- since the last touch at $as_of, the mean NPS score of the 12 months before, the onboarding
-- hours of an account onboarded in the 12 months before, and its owner's current accounts
-- managed and utilization over the three months (NULL for `unassigned`). The hour inputs are
-- NULL when a month of the three has no time entries pulled (int_time_entries__months_pulled), as a
-- partial quarter's are. A temporary table of the outlook build (warehouse/outlook.py), read by
-- the churn-risk fit and the outlook marts.
with settings as (
    select * from staging.settings
),

segments as (
    select * from staging.segments
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

accounts as (
    select * from intermediate.int_accounts__unified
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

touchpoints as (
    select * from intermediate.int_touchpoints
),

people as (
    select * from intermediate.int_people__csms
),

-- The counted entries of the CSM population, read through their resolution keys (resolved once
-- per key), and only those of the year before $as_of: warehouse/outlook.py sets the entry window
-- to it, so neither the keys nor the entries of all history are read (docs/architecture.md,
-- Hours as a cube). Only the onboarding hours need the year, and only the entries of onboarding
-- keys: the hours of the three months read the entries that can overlap them (starting at most
-- max_entry_length() before them), a quarter of the year's.
keys as (
    select * from intermediate.int_time_entries__resolved
    where in_population
),

onboarding_keys as (
    select * from keys
    where not is_leave and activity = 'onboarding' and account_id is not null
),

keyed as (
    select * from intermediate.int_time_entries__keyed
    where start_at >= cast($as_of as timestamptz) - interval 3 month - max_entry_length()
      and stop_at is not null and entry_reject_reason(start_at, stop_at) is null
),

year_keyed as (
    select * from intermediate.int_time_entries__keyed
),

entries as (
    select
        keys.csm_id,
        keys.account_id,
        keys.is_leave,
        keyed.start_at,
        keyed.stop_at
    from keyed
    inner join keys on same_key(keys, keyed)
),

onboarding_entries as (
    select onboarding_keys.account_id, year_keyed.start_at, year_keyed.stop_at
    from year_keyed
    inner join onboarding_keys on same_key(onboarding_keys, year_keyed)
    where year_keyed.stop_at is not null
      and entry_reject_reason(year_keyed.start_at, year_keyed.stop_at) is null
),

nps_responses as (
    select * from intermediate.int_feedback__nps_scores
),

pulled as (
    select * from intermediate.int_time_entries__months_pulled
),

window_bounds as (
    select
        cast($as_of as timestamptz) as as_of,
        cast($as_of as timestamptz) - interval 3 month as window_start,
        cast(timezone(settings.reporting_timezone, cast($as_of as timestamptz)) as date)
            as snapshot_date,
        cast(timezone(settings.reporting_timezone, cast($as_of as timestamptz) - interval 3 month)
            as date) as first_day,
        -- the day after the last day begun by $as_of, as a period measured to it counts
        cast(timezone(settings.reporting_timezone, cast($as_of as timestamptz))
            - interval 1 microsecond as date) + 1 as elapsed_end
    from settings
),

-- The months the window overlaps, each with its time entries pulled: else the hours are not
-- known (docs/metrics.md, Periods).
window_months as (
    select cast(month_start as date) as month_start
    from range(
        (select cast(date_trunc('month', first_day) as timestamp) from window_bounds),
        (select cast(elapsed_end as timestamp) from window_bounds),
        interval 1 month) as months(month_start)
),

hours_loaded as (
    select bool_and(pulled.month_start is not null) as loaded
    from window_months
    left join pulled on pulled.month_start = window_months.month_start
),

arr_now as (
    select schedules.account_id, sum(schedules.annual_value) as arr_now
    from schedules
    cross join window_bounds
    where schedules.service_start <= window_bounds.snapshot_date
      and window_bounds.snapshot_date < schedules.service_end
    group by all
    having sum(schedules.annual_value) > 0
),

owned as (
    select
        arr_now.account_id,
        arr_now.arr_now,
        coalesce(ownership.csm_id, 'unassigned') as csm_id
    from arr_now
    cross join window_bounds
    left join ownership on owned_at(ownership, arr_now.account_id, window_bounds.as_of)
),

segmented as (
    select owned.account_id, arg_max(segments.segment, segments.lower_bound) as segment
    from owned
    inner join segments on owned.arr_now >= segments.lower_bound
    group by all
),

clipped_entries as (
    select
        entries.csm_id,
        entries.account_id,
        entries.is_leave,
        ms_inside(entries.start_at, entries.stop_at, window_bounds.window_start,
                  window_bounds.as_of) as milliseconds
    from entries
    cross join window_bounds
    where overlaps_interval(entries.start_at, entries.stop_at, window_bounds.window_start,
                   window_bounds.as_of)
),

account_hours as (
    select account_id, sum(milliseconds) as all_ms
    from clipped_entries
    where not is_leave and account_id is not null
    group by all
),

touches as (
    select
        touchpoints.account_id,
        count(*) filter (where touchpoints.occurred_at >= window_bounds.window_start)
            as touchpoints,
        max(touchpoints.occurred_at) as last_touch_at
    from touchpoints
    cross join window_bounds
    where touchpoints.occurred_at < window_bounds.as_of
    group by all
),

nps as (
    select nps_responses.account_id, avg(nps_responses.score) as nps_score
    from nps_responses
    cross join window_bounds
    where nps_responses.responded_at >= window_bounds.as_of - interval 12 month
      and nps_responses.responded_at < window_bounds.as_of
    group by all
),

first_revenue as (
    select
        schedules.account_id,
        local_midnight(min(schedules.service_start), settings.reporting_timezone)
            as onboarding_start
    from schedules
    cross join settings
    group by schedules.account_id, settings.reporting_timezone
),

onboarding as (
    select
        first_revenue.account_id,
        coalesce(sum(date_diff('millisecond', entries.start_at, entries.stop_at)), 0)
            / 3600000.0 as onboarding_hours
    from first_revenue
    cross join window_bounds
    cross join settings
    left join onboarding_entries as entries
        on entries.account_id = first_revenue.account_id
        and entries.start_at >= first_revenue.onboarding_start
        and entries.start_at < least(
            first_revenue.onboarding_start + to_days(settings.onboarding_window_days),
            window_bounds.as_of)
    where first_revenue.onboarding_start >= window_bounds.as_of - interval 12 month
      and first_revenue.onboarding_start < window_bounds.as_of
    group by all
),

books as (
    select csm_id, count(*) as accounts_managed
    from owned
    where csm_id <> 'unassigned'
    group by all
),

days as (
    select cast(day as date) as day, isodow(day) <= 5 as is_weekday
    from range(
        (select cast(first_day as timestamp) from window_bounds),
        (select cast(elapsed_end as timestamp) from window_bounds),
        interval 1 day) as days(day)
),

employment as (
    select
        people.csm_id,
        people.fte,
        count(days.day) filter (where days.is_weekday) as weekdays_employed
    from people
    left join days
        on days.day >= coalesce(people.start_date, days.day)
        and days.day <= coalesce(people.end_date, days.day)
    group by all
),

capacity as (
    select
        employment.csm_id,
        employment.fte * settings.working_hours_per_weekday * employment.weekdays_employed
            as base_capacity_hours
    from employment
    cross join settings
),

owner_hours as (
    select
        csm_id,
        coalesce(sum(milliseconds) filter (where not is_leave), 0) as worked_ms,
        coalesce(sum(milliseconds) filter (where is_leave), 0) as leave_ms
    from clipped_entries
    group by all
),

owner_inputs as (
    select
        books.csm_id,
        cast(books.accounts_managed as double) as owner_accounts_managed,
        case when hours_loaded.loaded then
            ms_to_hours(coalesce(owner_hours.worked_ms, 0)) / nullif(greatest(
                coalesce(capacity.base_capacity_hours, 0)
                - ms_to_hours(coalesce(owner_hours.leave_ms, 0)), 0), 0)
        end as owner_utilization
    from books
    cross join hours_loaded
    left join capacity using (csm_id)
    left join owner_hours using (csm_id)
),

final as (
    select
        owned.account_id,
        accounts.account_name,
        coalesce(accounts.source, id_source(owned.account_id)) as source,
        segmented.segment,
        owned.csm_id,
        cast(owned.arr_now as decimal(18, 2)) as arr_now,
        case when hours_loaded.loaded
            then ms_to_hours(coalesce(account_hours.all_ms, 0)) / 3.0
        end as hours_per_month,
        cast(coalesce(touches.touchpoints, 0) as double) as touchpoints,
        date_diff('millisecond', touches.last_touch_at, window_bounds.as_of) / 86400000.0
            as days_since_last_touch,
        nps.nps_score,
        onboarding.onboarding_hours,
        owner_inputs.owner_accounts_managed,
        owner_inputs.owner_utilization,
        touches.last_touch_at
    from owned
    cross join window_bounds
    cross join hours_loaded
    left join accounts on accounts.account_id = owned.account_id
    left join segmented on segmented.account_id = owned.account_id
    left join account_hours on account_hours.account_id = owned.account_id
    left join touches on touches.account_id = owned.account_id
    left join nps on nps.account_id = owned.account_id
    left join onboarding on onboarding.account_id = owned.account_id
    left join owner_inputs on owner_inputs.csm_id = owned.csm_id
)

select * from final
order by account_id
