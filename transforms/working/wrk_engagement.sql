-- grain: one row per (period, scope, scope_key) with any touchpoint or inbound e-mail: scope
-- `csm` per person (scope_key the person), `team` per period (scope_key NULL), `account` per
-- account (scope_key the account), this one at every grain but `ttm` (account_period_metrics
-- has no `ttm` rows).
-- rule: a period's touchpoints and inbound e-mails are those whose instants fall in
-- [start_instant, end_instant), at every grain (a quarter's own instants, not its months'
-- figures). A touchpoint counts for the person who did it, on any account, for the team and for
-- the account it touched; an inbound e-mail for its account's owner at the instant it arrived,
-- for the team and for the account. One set of formulas for every scope, grouped once over one
-- stream of events in which a scope sees each account at most once: touchpoints; customers
-- touched (accounts with ARR > 0 at period end), and of them those on the person's ending book
-- (owned at period end) with the touchpoints on that book; inbound e-mails, the exact median
-- response time over those answered, those answered within 24 h and those unanswered
-- (docs/metrics.md, Engagement). The scope column, not a NULL key, says which grouping a row is.
with account_periods as (
    select * from wrk_account_periods
),

touched as (
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

-- Each (period, person, account) touched: whether the account is a customer at period end, and
-- on that person's ending book.
touches as (
    select
        touched.period_grain,
        touched.period_start,
        touched.csm_id,
        touched.account_id,
        touched.touchpoints,
        customers.account_id is not null as is_customer,
        coalesce(customers.owner_at_end = touched.csm_id, false) as is_book
    from touched
    left join customers
        on customers.period_grain = touched.period_grain
        and customers.period_start = touched.period_start
        and customers.account_id = touched.account_id
),

-- Each account's touches by anyone, as one row: the team and the account count an account once.
accounts_touched as (
    select
        period_grain,
        period_start,
        account_id,
        sum(touchpoints) as touchpoints,
        sum(case when is_book then touchpoints else 0 end) as book_touchpoints,
        bool_or(is_customer) as is_customer,
        bool_or(is_book) as is_book
    from touches
    group by all
),

-- What each scope counts, an account at most once per scope (so no count needs `distinct`): a
-- person's touches, the team's and each account's touched accounts, and every inbound e-mail
-- once for each scope.
events as (
    select
        period_grain, period_start, 'csm' as scope, csm_id as scope_key, touchpoints,
        case when is_book then touchpoints else 0 end as book_touchpoints,
        is_customer, is_book, false as is_message,
        null::double as response_hours, null::timestamptz as answered_at
    from touches
    union all
    select
        period_grain, period_start, scopes.scope,
        case when scopes.scope = 'account' then account_id end,
        touchpoints, book_touchpoints, is_customer, is_book, false, null, null
    from accounts_touched
    cross join (values ('team'), ('account')) as scopes(scope)
    where scopes.scope = 'team' or period_grain <> 'ttm'
    union all
    select
        period_grain, period_start, scopes.scope,
        case scopes.scope when 'csm' then owner_csm_id when 'account' then account_id end,
        0, 0, false, false, true, response_hours, answered_at
    from messages
    cross join (values ('csm'), ('team'), ('account')) as scopes(scope)
    where scopes.scope <> 'account' or period_grain <> 'ttm'
),

counted as (
    select
        period_grain,
        period_start,
        scope,
        scope_key,
        cast(sum(touchpoints) as bigint) as touchpoints,
        count(*) filter (where is_customer) as customers_touched,
        count(*) filter (where is_book) as accounts_touched,
        cast(sum(book_touchpoints) as bigint) as touchpoints_on_book,
        count(*) filter (where is_message) as inbound_messages,
        median(response_hours) filter (where is_message) as median_response_hours,
        count(*) filter (where is_message and response_hours <= 24) as answered_within_24h,
        count(*) filter (where is_message and answered_at is null) as unanswered_messages
    from events
    group by all
),

final as (
    select * from counted
    where scope = 'team' or scope_key is not null
)

select * from final
