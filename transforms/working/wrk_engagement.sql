-- grain: one row per (period, scope, scope_key) with any touchpoint or inbound e-mail: scope
-- `csm` per person (scope_key the person), `team` per period (scope_key NULL), `account` per
-- account (scope_key the account).
-- rule: a period's touchpoints and inbound e-mails are those whose instants fall in
-- [start_instant, end_instant), at every grain (a quarter's own instants, not its months'
-- figures). A touchpoint counts for the person who did it, on any account, for the team and for
-- the account it touched; an inbound e-mail for its account's owner at the instant it arrived,
-- for the team and for the account. One set of formulas for every scope, grouped once (grouping
-- sets): touchpoints; customers touched (accounts with ARR > 0 at period end), and of them those
-- on the person's ending book (owned at period end) with the touchpoints on that book; inbound
-- e-mails, the exact median response time over those answered, those answered within 24 h and
-- those unanswered (docs/metrics.md, Engagement). The scope column, not a NULL key, says which
-- grouping a row is.
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
    select period_grain, period_start, account_id, owner_at_end
    from account_periods
    where ending_arr > 0
),

-- The touchpoints per (period, person, account) they touched, then each inbound e-mail once:
-- with the person it counts for and, for touchpoints on a customer at period end, that customer
-- (on the person's book or not).
touched as (
    select period_grain, period_start, csm_id, account_id, count(*) as touchpoints
    from touchpoints
    group by all
),

events as (
    select
        touched.period_grain,
        touched.period_start,
        touched.csm_id,
        touched.account_id,
        touched.touchpoints,
        customers.account_id as customer_id,
        case when customers.owner_at_end = touched.csm_id then customers.account_id end
            as book_account_id,
        null::double as response_hours,
        null::timestamptz as answered_at
    from touched
    left join customers
        on customers.period_grain = touched.period_grain
        and customers.period_start = touched.period_start
        and customers.account_id = touched.account_id
    union all
    select
        period_grain, period_start, owner_csm_id, account_id, 0,
        null, null,
        response_hours, answered_at
    from messages
),

counted as (
    select
        period_grain,
        period_start,
        case
            when grouping(csm_id) = 0 then 'csm'
            when grouping(account_id) = 0 then 'account'
            else 'team'
        end as scope,
        case
            when grouping(csm_id) = 0 then csm_id
            when grouping(account_id) = 0 then account_id
        end as scope_key,
        cast(sum(touchpoints) as bigint) as touchpoints,
        count(distinct customer_id) as customers_touched,
        count(distinct book_account_id) as accounts_touched,
        cast(coalesce(sum(touchpoints) filter (where book_account_id is not null), 0) as bigint)
            as touchpoints_on_book,
        count(*) filter (where touchpoints = 0) as inbound_messages,
        median(response_hours) filter (where touchpoints = 0) as median_response_hours,
        count(*) filter (where touchpoints = 0 and response_hours <= 24) as answered_within_24h,
        count(*) filter (where touchpoints = 0 and answered_at is null) as unanswered_messages
    from events
    group by grouping sets (
        (period_grain, period_start, csm_id),
        (period_grain, period_start),
        (period_grain, period_start, account_id))
),

final as (
    select * from counted
    where scope = 'team' or scope_key is not null
)

select * from final
