-- grain: one row per period with any touchpoint or inbound e-mail.
-- rule: the team's touchpoints are everyone's (so they equal the sum of its people's); its
-- coverage counts the customers at period end touched by anyone in the period; its response time
-- is the exact median over every answered inbound e-mail of the period, whoever owned the
-- account (docs/metrics.md, Engagement).
with account_periods as (
    select * from wrk_account_periods
),

touchpoints as (
    select * from wrk_touchpoint_periods
),

messages as (
    select * from wrk_inbound_message_periods
),

customers as (
    select period_grain, period_start, account_id
    from account_periods
    where ending_arr > 0
),

touched as (
    select
        touchpoints.period_grain,
        touchpoints.period_start,
        count(*) as touchpoints,
        count(distinct customers.account_id) as customers_touched
    from touchpoints
    left join customers
        on customers.period_grain = touchpoints.period_grain
        and customers.period_start = touchpoints.period_start
        and customers.account_id = touchpoints.account_id
    group by all
),

received as (
    select
        messages.period_grain,
        messages.period_start,
        median(messages.response_hours) as median_response_hours
    from messages
    group by all
),

final as (
    select
        period_grain,
        period_start,
        coalesce(touched.touchpoints, 0) as touchpoints,
        coalesce(touched.customers_touched, 0) as customers_touched,
        received.median_response_hours
    from touched
    full join received using (period_grain, period_start)
)

select * from final
