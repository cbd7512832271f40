-- grain: one row per (quarter, account) in the quarter's starting book, for every complete
-- quarter (ended by as_of) whose three months and the three before are all built.
-- rule: the units of the retention-drivers regression (docs/metrics.md,
-- `marts.retention_drivers`): the outcome is churn by the quarter's end; every input is known
-- at the quarter's start, measured over the quarter before: the account's hours per month and
-- touchpoints in that quarter, its days since last touch at the quarter start, the mean score
-- of its NPS responses in the 12 months before, the onboarding hours of an account onboarded in
-- the 12 months before (activity `onboarding`, within `onboarding_window_days` of its first
-- revenue, before the quarter start; NULL for an account onboarded earlier), and the accounts
-- managed and utilization of its owner at the quarter start in the quarter before (NULL for
-- `unassigned`). NULL where an input has no value; a mart column not written yet
-- (touchpoints) gives no column at all. Read by warehouse/drivers.py after the marts are built.
with account_metrics as (
    select * from marts.account_period_metrics
    where period_grain = 'quarter'
),

people_metrics as (
    select * from marts.csm_period_metrics
    where period_grain = 'quarter'
),

team_metrics as (
    select * from marts.team_period_metrics
),

nps_responses as (
    select * from intermediate.int_feedback__nps_scores
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

-- Onboarding windows do not align with months: the entries of onboarding keys only, found
-- through their resolved keys (never every entry through the per-entry models).
keys as (
    select * from intermediate.int_time_entries__resolved
    where in_population and not is_leave and activity = 'onboarding' and account_id is not null
),

keyed as (
    select * from intermediate.int_time_entries__keyed
    where stop_at is not null and entry_reject_reason(start_at, stop_at) is null
),

settings as (
    select * from staging.settings
),

built_months as (
    select period_start from team_metrics where period_grain = 'month'
),

quarters as (
    select
        quarter.period_start,
        previous.period_start as previous_start,
        local_midnight(quarter.period_start, settings.reporting_timezone)
            as start_instant
    from team_metrics as quarter
    inner join team_metrics as previous
        on previous.period_grain = 'quarter' and previous.period_end = quarter.period_start
    inner join built_months
        on built_months.period_start >= previous.period_start
        and built_months.period_start < quarter.period_end
    cross join settings
    where quarter.period_grain = 'quarter' and quarter.period_status = 'complete'
    group by all
    having count(*) = 6
),

units as (
    select
        quarters.period_start as quarter_start,
        quarters.previous_start,
        quarters.start_instant,
        account_metrics.account_id,
        account_metrics.owner_at_start,
        account_metrics.movement = 'churn' as churned
    from account_metrics
    inner join quarters using (period_start)
    where account_metrics.starting_arr > 0
),

before as (
    select
        period_start as previous_start,
        account_id,
        hours_all_csms / 3.0 as hours_per_month,
        -- hours_all_csms is named only so that the set is never empty.
        columns(lambda c: c in ('hours_all_csms', 'touchpoints', 'days_since_last_touch'))
            ::double
    from account_metrics
),

nps as (
    select units.quarter_start, units.account_id, avg(nps_responses.score) as nps_score
    from units
    inner join nps_responses
        on nps_responses.account_id = units.account_id
        and nps_responses.responded_at >= units.start_instant - interval 12 month
        and nps_responses.responded_at < units.start_instant
    group by all
),

first_schedules as (
    select account_id, min(service_start) as service_start
    from schedules
    group by all
),

first_revenue as (
    select
        first_schedules.account_id,
        local_midnight(first_schedules.service_start, settings.reporting_timezone)
            as onboarding_start
    from first_schedules
    cross join settings
),

entries as (
    select keys.account_id, keyed.start_at, keyed.stop_at
    from keyed
    inner join keys on same_key(keys, keyed)
),

onboarding as (
    select
        units.quarter_start,
        units.account_id,
        coalesce(sum(date_diff('millisecond', entries.start_at, entries.stop_at)), 0)
            / 3600000.0 as onboarding_hours
    from units
    inner join first_revenue using (account_id)
    cross join settings
    left join entries
        on entries.account_id = units.account_id
        and entries.start_at >= first_revenue.onboarding_start
        and entries.start_at < least(
            first_revenue.onboarding_start + to_days(settings.onboarding_window_days),
            units.start_instant)
    where first_revenue.onboarding_start >= units.start_instant - interval 12 month
      and first_revenue.onboarding_start < units.start_instant
    group by all
),

owners as (
    select
        period_start as previous_start,
        csm_id as owner_at_start,
        cast(accounts_managed as double) as owner_accounts_managed,
        utilization as owner_utilization
    from people_metrics
    where csm_id <> 'unassigned'
),

final as (
    select
        units.quarter_start,
        units.account_id,
        units.churned,
        columns(lambda c: c in ('hours_per_month', 'touchpoints', 'days_since_last_touch')),
        nps.nps_score,
        onboarding.onboarding_hours,
        owners.owner_accounts_managed,
        owners.owner_utilization
    from units
    left join before using (previous_start, account_id)
    left join nps using (quarter_start, account_id)
    left join onboarding using (quarter_start, account_id)
    left join owners using (previous_start, owner_at_start)
)

select * from final
order by quarter_start, account_id
