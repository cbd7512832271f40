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

account_periods as (
    select * from wrk_account_periods
),

hours as (
    select * from wrk_csm_hours
),

engagement as (
    select * from wrk_engagement_team
),

outcomes as (
    select * from wrk_outcomes_team
),

-- This build's rows of csm_period_metrics: that mart is written before this one, in the same
-- transaction.
people_metrics as (
    select * from marts.csm_period_metrics
    semi join wrk_periods using (period_grain, period_start)
),

revenue as (
    select
        period_grain,
        period_start,
        count(distinct owner_at_end) filter (
            where ending_arr > 0 and owner_at_end <> 'unassigned') as csm_count,
        count(*) filter (where ending_arr > 0) as customer_count,
        coalesce(sum(ending_arr), 0) as total_arr,
        count(*) filter (where starting_arr > 0) as customers_at_start,
        coalesce(sum(starting_arr), 0) as starting_arr,
        coalesce(sum(new_arr), 0) as new_arr,
        coalesce(sum(reactivation_arr), 0) as reactivation_arr,
        coalesce(sum(expansion_arr), 0) as expansion_arr,
        coalesce(sum(contraction_arr), 0) as contraction_arr,
        coalesce(sum(churned_arr), 0) as churned_arr,
        count(*) filter (where movement = 'churn') as customers_churned,
        count(*) filter (where starting_arr > 0 and ending_arr > 0) as customers_retained
    from account_periods
    group by all
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
        coalesce(revenue.csm_count, 0) as csm_count,
        coalesce(revenue.customer_count, 0) as customer_count,
        cast(coalesce(revenue.total_arr, 0) as decimal(18, 2)) as total_arr,
        coalesce(revenue.customers_at_start, 0) as customers_at_start,
        cast(coalesce(revenue.starting_arr, 0) as decimal(18, 2)) as starting_arr,
        cast(coalesce(revenue.new_arr, 0) as decimal(18, 2)) as new_arr,
        cast(coalesce(revenue.reactivation_arr, 0) as decimal(18, 2)) as reactivation_arr,
        cast(coalesce(revenue.expansion_arr, 0) as decimal(18, 2)) as expansion_arr,
        cast(coalesce(revenue.contraction_arr, 0) as decimal(18, 2)) as contraction_arr,
        cast(coalesce(revenue.churned_arr, 0) as decimal(18, 2)) as churned_arr,
        coalesce(revenue.customers_churned, 0) as customers_churned,
        coalesce(revenue.customers_retained, 0) as customers_retained,
        if_hours_loaded(periods.period_status, coalesce(time_tracked.hours_worked, 0))
            as hours_worked,
        if_hours_loaded(periods.period_status, coalesce(time_tracked.hours_unattributed, 0))
            as hours_unattributed,
        cast(coalesce(costs.fully_loaded_cost, 0) as decimal(18, 2)) as fully_loaded_cost,
        coalesce(engagement.touchpoints, 0) as touchpoints,
        coalesce(engagement.customers_touched, 0) as customers_touched,
        engagement.median_response_hours,
        coalesce(outcomes.nps_responses, 0) as nps_responses,
        outcomes.nps,
        coalesce(outcomes.csat_responses, 0) as csat_responses,
        outcomes.csat,
        cast(coalesce(outcomes.expansion_bookings_arr, 0) as decimal(18, 2))
            as expansion_bookings_arr,
        cast(coalesce(outcomes.csm_sourced_bookings_arr, 0) as decimal(18, 2))
            as csm_sourced_bookings_arr,
        outcomes.csm_sourced_share,
        coalesce(outcomes.csm_sourced_won, 0) as csm_sourced_won,
        coalesce(outcomes.csm_sourced_lost, 0) as csm_sourced_lost,
        outcomes.csm_sourced_win_rate,
        coalesce(outcomes.accounts_onboarded, 0) as accounts_onboarded,
        if_hours_loaded(periods.period_status, outcomes.onboarding_hours_per_new_account)
            as onboarding_hours_per_new_account,
        outcomes.median_days_to_value
    from periods
    left join revenue using (period_grain, period_start)
    left join time_tracked using (period_grain, period_start)
    left join costs using (period_grain, period_start)
    left join engagement using (period_grain, period_start)
    left join outcomes using (period_grain, period_start)
),

final as (
    select
        period_grain,
        period_start,
        period_end,
        period_status,
        months_with_hours,
        csm_count,
        customer_count,
        cast(customer_count as double) / nullif(csm_count, 0) as csm_ratio,
        total_arr,
        cast(total_arr as double) / nullif(csm_count, 0) as revenue_efficiency,
        customer_count / nullif(hours_worked, 0) as account_efficiency,
        customers_at_start,
        starting_arr,
        new_arr,
        reactivation_arr,
        expansion_arr,
        contraction_arr,
        churned_arr,
        customers_churned,
        net_retained_arr(starting_arr, expansion_arr, contraction_arr, churned_arr)
            as net_retained_arr,
        nrr(starting_arr, expansion_arr, contraction_arr, churned_arr) as nrr,
        grr(starting_arr, contraction_arr, churned_arr) as grr,
        logo_retention(customers_retained, customers_at_start) as logo_retention,
        hours_worked,
        hours_unattributed,
        fully_loaded_cost,
        cast(fully_loaded_cost as double) / nullif(customer_count, 0) as cost_per_customer,
        -- the cost annualised for the period over the ARR (docs/metrics.md, "Looking ahead")
        cast(fully_loaded_cost as double) * case period_grain
            when 'month' then 12 when 'quarter' then 4 else 1 end
            / nullif(cast(total_arr as double), 0) as cost_to_serve_ratio,
        touchpoints,
        cast(customers_touched as double) / nullif(customer_count, 0) as touch_coverage,
        median_response_hours,
        nps_responses,
        nps,
        csat_responses,
        csat,
        expansion_bookings_arr,
        csm_sourced_bookings_arr,
        csm_sourced_share,
        csm_sourced_won,
        csm_sourced_lost,
        csm_sourced_win_rate,
        accounts_onboarded,
        onboarding_hours_per_new_account,
        median_days_to_value
    from joined
)

select * from final
