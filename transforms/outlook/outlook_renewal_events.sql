-- grain: one row per (current customer, renewal_date): every day after $as_of on which one of
-- the account's schedules ends and its ARR drops.
-- rule: a renewal event is an instant t after $as_of at which a schedule of a current customer
-- ends (`service_end`, exclusive) and the account's ARR just before t is greater than its ARR
-- at t; `arr_lapsing` is the drop, revenue that stops unless a renewal is booked. A schedule
-- ending on the day of $as_of has lapsed already (it is not in `arr_now`); one renewed by a
-- schedule starting the day the other ends is no drop (docs/metrics.md, "Looking ahead").
-- A temporary table of the outlook build (warehouse/outlook.py); no horizon: marts.renewals
-- keeps the next 365 days, marts.account_risk the first.
with settings as (
    select * from staging.settings
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

customers as (
    select * from outlook_accounts
),

today as (
    select
        cast(timezone(settings.reporting_timezone, cast($as_of as timestamptz)) as date)
            as snapshot_date
    from settings
),

ends as (
    select distinct schedules.account_id, schedules.service_end as renewal_date
    from schedules
    semi join customers on customers.account_id = schedules.account_id
    cross join today
    where schedules.service_end > today.snapshot_date
),

arr_around as (
    select
        ends.account_id,
        ends.renewal_date,
        coalesce(sum(schedules.annual_value) filter (
            where schedules.service_start <= ends.renewal_date - 1
              and ends.renewal_date - 1 < schedules.service_end), 0) as arr_before,
        coalesce(sum(schedules.annual_value) filter (
            where schedules.service_start <= ends.renewal_date
              and ends.renewal_date < schedules.service_end), 0) as arr_after
    from ends
    left join schedules on schedules.account_id = ends.account_id
    group by all
),

final as (
    select
        arr_around.account_id,
        arr_around.renewal_date,
        date_diff('day', today.snapshot_date, arr_around.renewal_date) as days_to_renewal,
        cast(arr_around.arr_before - arr_around.arr_after as decimal(18, 2)) as arr_lapsing
    from arr_around
    cross join today
    where arr_around.arr_before > arr_around.arr_after
)

select * from final
order by account_id, renewal_date
