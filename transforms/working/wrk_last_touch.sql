-- grain: one row per (period, account) for every account of wrk_account_periods, at every grain
-- but `ttm` (its one reader, account_period_metrics, has no `ttm` rows).
-- rule: last_touch_at is the latest touchpoint (by anyone in the CSM population) before the
-- period's end instant, in this period or any earlier one; days_since_last_touch is the time from
-- it to the end instant, in days (docs/metrics.md, Engagement). An account's touchpoints in the
-- period are wrk_engagement's, scope `account`.
with periods as (
    select * from wrk_periods
),

account_periods as (
    select * from wrk_account_periods
),

touchpoints as (
    select * from wrk_touchpoints
),

instants as (
    select distinct account_id, occurred_at from touchpoints
),

ends as (
    select
        account_periods.period_grain,
        account_periods.period_start,
        account_periods.account_id,
        periods.end_instant
    from account_periods
    inner join periods using (period_grain, period_start)
    where account_periods.period_grain <> 'ttm'
),

last_touch as (
    select
        ends.period_grain,
        ends.period_start,
        ends.account_id,
        ends.end_instant,
        instants.occurred_at as last_touch_at
    from ends
    asof left join instants
        on instants.account_id = ends.account_id
        and instants.occurred_at < ends.end_instant
),

final as (
    select
        last_touch.period_grain,
        last_touch.period_start,
        last_touch.account_id,
        last_touch.last_touch_at,
        date_diff('millisecond', last_touch.last_touch_at, last_touch.end_instant) / 86400000.0
            as days_since_last_touch
    from last_touch
)

select * from final
