-- grain: one row per revenue schedule (one per accepted won deal).
-- rule: a schedule covers [service_start, service_end) with
-- annual_value = amount * 12 / term_months, in the reporting currency (docs/metrics.md, "ARR").
with deals as (
    select * from intermediate.int_revenue__won_deals
    where reject_reason is null
),

final as (
    select
        deal_id,
        account_id,
        schedule_start as service_start,
        cast(schedule_start + to_months(term) as date) as service_end,
        cast(round(amount * rate * 12 / term, 2) as decimal(18, 2)) as annual_value
    from deals
)

select * from final
