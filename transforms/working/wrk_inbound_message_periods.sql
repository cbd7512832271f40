-- grain: one row per (period, inbound e-mail, account it is on) for the periods of this build.
-- rule: a period's inbound e-mails are those received in [start_instant, end_instant), at every
-- grain, placed here once for the person's and the team's response times (docs/metrics.md,
-- Engagement).
with periods as (
    select * from wrk_periods
),

messages as (
    select * from wrk_inbound_messages
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        messages.*
    from messages
    inner join periods on in_period(periods, messages.received_at)
)

select * from final
