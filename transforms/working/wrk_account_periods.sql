-- grain: one row per (period, account) for every known account.
-- rule: s and e are the ARR at the period's start and end instants (the end measured to `as_of` in
-- a period not over: a contract that lapses later in it is not churn yet); movements are classified churn
-- and reactivation first, then expansion and contraction, so that a drop to zero is churn and a
-- return from zero is reactivation (docs/metrics.md, ARR movements). Each account carries its owner
-- at both instants and where that ownership came from.
with periods as (
    select * from wrk_periods
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

accounts as (
    select * from intermediate.int_accounts__unified
),

known_accounts as (
    select account_id from accounts
    union
    select account_id from schedules
),

-- Every known account in every period, with its owner at the period's start and end instants.
owned as (
    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.snapshot_date,
        known_accounts.account_id,
        coalesce(at_start.csm_id, 'unassigned') as owner_at_start,
        at_start.ownership_source as ownership_source_at_start,
        coalesce(at_end.csm_id, 'unassigned') as owner_at_end,
        at_end.ownership_source as ownership_source_at_end
    from periods
    cross join known_accounts
    left join ownership as at_start
        on owned_at(at_start, known_accounts.account_id, periods.start_instant)
    left join ownership as at_end
        on owned_at(at_end, known_accounts.account_id, periods.end_instant)
),

-- The ARR of each account at each day a snapshot is taken (every period's start and snapshot
-- date: few, as periods share them), and the day it first was a customer.
snapshot_days as (
    select period_start as day from periods
    union
    select snapshot_date from periods
),

arr_at as (
    select
        snapshot_days.day,
        schedules.account_id,
        sum(schedules.annual_value) as arr
    from schedules
    inner join snapshot_days
        on schedules.service_start <= snapshot_days.day
        and snapshot_days.day < schedules.service_end
    group by all
),

first_served as (
    select account_id, min(service_start) as first_service_start
    from schedules
    group by all
),

arr as (
    select
        owned.*,
        coalesce(at_start.arr, 0) as s,
        coalesce(at_end.arr, 0) as e,
        coalesce(first_served.first_service_start < owned.period_start, false)
            as was_customer_before
    from owned
    left join arr_at as at_start
        on at_start.day = owned.period_start and at_start.account_id = owned.account_id
    left join arr_at as at_end
        on at_end.day = owned.snapshot_date and at_end.account_id = owned.account_id
    left join first_served on first_served.account_id = owned.account_id
),

final as (
    select
        owned.period_grain,
        owned.period_start,
        owned.period_end,
        owned.account_id,
        accounts.account_name,
        coalesce(accounts.source, id_source(owned.account_id)) as source,
        owned.owner_at_start,
        owned.ownership_source_at_start,
        owned.owner_at_end,
        owned.ownership_source_at_end,
        cast(owned.s as decimal(18, 2)) as starting_arr,
        cast(owned.e as decimal(18, 2)) as ending_arr,
        case
            when owned.s = 0 and owned.e = 0 then 'none'
            when owned.s = 0 and not owned.was_customer_before then 'new'
            when owned.s = 0 then 'reactivation'
            when owned.e = 0 then 'churn'
            when owned.e > owned.s then 'expansion'
            when owned.e < owned.s then 'contraction'
            else 'flat'
        end as movement,
        cast(case when owned.s = 0 and not owned.was_customer_before then owned.e else 0 end
            as decimal(18, 2)) as new_arr,
        cast(case when owned.s = 0 and owned.was_customer_before then owned.e else 0 end
            as decimal(18, 2)) as reactivation_arr,
        cast(case when owned.s > 0 and owned.e > owned.s then owned.e - owned.s else 0 end
            as decimal(18, 2)) as expansion_arr,
        cast(case when owned.s > 0 and owned.e > 0 and owned.e < owned.s then owned.s - owned.e
            else 0 end as decimal(18, 2)) as contraction_arr,
        cast(case when owned.s > 0 and owned.e = 0 then owned.s else 0 end
            as decimal(18, 2)) as churned_arr
    from arr as owned
    left join accounts on accounts.account_id = owned.account_id
)

select * from final
