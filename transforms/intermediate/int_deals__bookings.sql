-- grain: one row per won deal with a valid revenue schedule.
-- rule: a booking is an expansion when its account was a customer at the schedule's
-- service_start from its other schedules (their ARR there above zero), else new business. Its
-- value is its annual_value, in the period of its close date, for the account's owner at the
-- close date's 00:00 in the reporting time zone (docs/metrics.md, "Expansion sourcing").
with settings as (
    select * from staging.settings
),

schedules as (
    select * from intermediate.int_revenue__schedules
),

won as (
    select * from intermediate.int_revenue__won_deals
    where reject_reason is null
),

closed as (
    select * from intermediate.int_deals__closed
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

others as (
    select
        schedules.deal_id,
        coalesce(sum(other.annual_value), 0) as other_arr
    from schedules
    left join schedules as other
        on other.account_id = schedules.account_id
        and other.deal_id <> schedules.deal_id
        and other.service_start <= schedules.service_start
        and schedules.service_start < other.service_end
    group by schedules.deal_id
),

bookings as (
    select
        schedules.deal_id,
        schedules.account_id,
        won.close_date,
        local_midnight(won.close_date, settings.reporting_timezone) as close_instant,
        schedules.annual_value,
        others.other_arr > 0 as is_expansion,
        coalesce(closed.is_csm_sourced, false) as is_csm_sourced
    from schedules
    cross join settings
    inner join won on won.deal_id = schedules.deal_id
    inner join others on others.deal_id = schedules.deal_id
    left join closed on closed.deal_id = schedules.deal_id
),

final as (
    select
        bookings.*,
        coalesce(ownership.csm_id, 'unassigned') as csm_id
    from bookings
    left join ownership on owned_at(ownership, bookings.account_id, bookings.close_instant)
)

select * from final
