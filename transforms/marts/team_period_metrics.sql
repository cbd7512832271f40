-- grain: one row per (period_grain, period_start).
-- rule: csm_count counts people with a non-empty ending book, `unassigned` excluded; customers are
-- accounts with ARR > 0 at period end; the team's movements satisfy e = s + new + reactivation +
-- expansion - contraction - churn exactly (docs/metrics.md, ARR movements;
-- `marts.team_period_metrics`). The team's cost is the sum of its people's (the rows of
-- marts.csm_period_metrics). Touchpoints are everyone's, coverage the customers touched by
-- anyone, response time the exact median over every answered inbound e-mail; feedback, bookings
-- and onboarding come from the team outcome working model (docs/metrics.md, Engagement; Customer
-- feedback; Expansion sourcing, onboarding). Periods not over and `partial` ones follow the rules
-- of docs/metrics.md, Periods, like the people's rows.
with periods as (
    select * from wrk_periods
),

hours as (
    select * from wrk_csm_hours
),

-- The families' rows for the team: scope `team`, one per period.
book as (
    select * exclude (scope, scope_key) from wrk_retention
    where scope = 'team'
),

engagement as (
    select * exclude (scope, scope_key) from wrk_engagement
    where scope = 'team'
),

outcomes as (
    select * exclude (scope, scope_key) from wrk_outcomes
    where scope = 'team'
),

-- This build's rows of csm_period_metrics: that mart is written before this one, in the same
-- transaction.
people_metrics as (
    select * from marts.csm_period_metrics
    semi join wrk_periods using (period_grain, period_start)
),

costs as (
    select period_grain, period_start, sum(fully_loaded_cost) as fully_loaded_cost
    from people_metrics
    where csm_id <> 'unassigned'
    group by all
),

time_tracked as (
    select
        period_grain,
        period_start,
        ms_to_hours(sum(worked_ms)) as hours_worked,
        ms_to_hours(sum(unattributed_ms)) as hours_unattributed
    from hours
    group by all
),

joined as (
    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_status,
        periods.months_with_hours,
        book.owners_at_end as csm_count,
        book.accounts_at_end as customer_count,
        book.arr_at_end as total_arr,
        if_hours_loaded(periods.period_status, coalesce(time_tracked.hours_worked, 0))
            as hours_worked,
        if_hours_loaded(periods.period_status, coalesce(time_tracked.hours_unattributed, 0))
            as hours_unattributed,
        cast(coalesce(costs.fully_loaded_cost, 0) as decimal(18, 2)) as fully_loaded_cost,
        coalesce(engagement.touchpoints, 0) as touchpoints,
        coalesce(engagement.customers_touched, 0) as customers_touched,
        engagement.median_response_hours
    from periods
    inner join book using (period_grain, period_start)
    left join time_tracked using (period_grain, period_start)
    left join costs using (period_grain, period_start)
    left join engagement using (period_grain, period_start)
),

-- The team's row of each family (wrk_retention, wrk_engagement, wrk_outcomes) exists for every
-- period, so its columns are taken as they are; the team calls its books' accounts customers.
final as (
    select
        joined.period_grain,
        joined.period_start,
        joined.period_end,
        joined.period_status,
        joined.months_with_hours,
        joined.csm_count,
        joined.customer_count,
        cast(joined.customer_count as double) / nullif(joined.csm_count, 0) as csm_ratio,
        joined.total_arr,
        cast(joined.total_arr as double) / nullif(joined.csm_count, 0) as revenue_efficiency,
        joined.customer_count / nullif(joined.hours_worked, 0) as account_efficiency,
        book.accounts_at_start as customers_at_start,
        book.starting_arr,
        book.new_arr,
        book.reactivation_arr,
        book.expansion_arr,
        book.contraction_arr,
        book.churned_arr,
        book.accounts_churned as customers_churned,
        book.net_retained_arr,
        book.nrr,
        book.grr,
        book.logo_retention,
        joined.hours_worked,
        joined.hours_unattributed,
        joined.fully_loaded_cost,
        cast(joined.fully_loaded_cost as double) / nullif(joined.customer_count, 0)
            as cost_per_customer,
        -- the cost annualised for the period over the ARR (docs/metrics.md, "Looking ahead")
        cast(joined.fully_loaded_cost as double) * case joined.period_grain
            when 'month' then 12 when 'quarter' then 4 else 1 end
            / nullif(cast(joined.total_arr as double), 0) as cost_to_serve_ratio,
        joined.touchpoints,
        cast(joined.customers_touched as double) / nullif(joined.customer_count, 0)
            as touch_coverage,
        joined.median_response_hours,
        outcomes.nps_responses,
        outcomes.nps,
        outcomes.csat_responses,
        outcomes.csat,
        outcomes.expansion_bookings_arr,
        outcomes.csm_sourced_bookings_arr,
        outcomes.csm_sourced_share,
        outcomes.csm_sourced_won,
        outcomes.csm_sourced_lost,
        outcomes.csm_sourced_win_rate,
        outcomes.accounts_onboarded,
        if_hours_loaded(joined.period_status, outcomes.onboarding_hours_per_new_account)
            as onboarding_hours_per_new_account,
        outcomes.median_days_to_value
    from joined
    inner join book using (period_grain, period_start)
    inner join outcomes using (period_grain, period_start)
)

select * from final
