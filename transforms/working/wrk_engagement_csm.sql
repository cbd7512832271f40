-- grain: one row per (period, person) with any touchpoint or inbound e-mail in the period.
-- rule: a period's touchpoints and inbound e-mails are those whose instants fall in
-- [start_instant, end_instant), at every grain (a quarter's own instants, not its months'
-- figures). Touchpoints belong to the person who did them, on any account; the ending book
-- (owned at period end, a customer then) decides accounts_touched and the touchpoints on the
-- book. An inbound e-mail belongs to its account's owner at the instant it arrived; its
-- response time is the exact median over those answered (docs/metrics.md, Engagement).
with account_periods as (
    select * from wrk_account_periods
),

touchpoints as (
    select * from wrk_touchpoint_periods
),

messages as (
    select * from wrk_inbound_message_periods
),

ending_book as (
    select period_grain, period_start, owner_at_end as csm_id, account_id
    from account_periods
    where ending_arr > 0
),

touched as (
    select
        touchpoints.period_grain,
        touchpoints.period_start,
        touchpoints.csm_id,
        count(*) as touchpoints,
        count(distinct ending_book.account_id) as accounts_touched,
        count(ending_book.account_id) as touchpoints_on_book
    from touchpoints
    left join ending_book
        on ending_book.period_grain = touchpoints.period_grain
        and ending_book.period_start = touchpoints.period_start
        and ending_book.csm_id = touchpoints.csm_id
        and ending_book.account_id = touchpoints.account_id
    group by all
),

received as (
    select
        messages.period_grain,
        messages.period_start,
        messages.owner_csm_id as csm_id,
        count(*) as inbound_messages,
        median(messages.response_hours) as median_response_hours,
        count(*) filter (where messages.response_hours <= 24) as answered_within_24h,
        count(*) filter (where messages.answered_at is null) as unanswered_messages
    from messages
    group by all
),

final as (
    select
        period_grain,
        period_start,
        csm_id,
        coalesce(touched.touchpoints, 0) as touchpoints,
        coalesce(touched.accounts_touched, 0) as accounts_touched,
        coalesce(touched.touchpoints_on_book, 0) as touchpoints_on_book,
        coalesce(received.inbound_messages, 0) as inbound_messages,
        received.median_response_hours,
        coalesce(received.answered_within_24h, 0) as answered_within_24h,
        coalesce(received.unanswered_messages, 0) as unanswered_messages
    from touched
    full join received using (period_grain, period_start, csm_id)
)

select * from final
