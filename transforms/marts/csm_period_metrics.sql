-- grain: one row per (period_grain, period_start, csm_id).
-- rule: the starting book is the accounts a person owned at period start that were customers then;
-- the ending book those they own at period end that are customers then. Expansion, contraction and
-- churn belong to the starting book's owner; new and reactivation to the ending book's, so per-CSM
-- movements (unassigned included) add up to the team's (docs/metrics.md,
-- `marts.csm_period_metrics`). Capacity is the person's base capacity less leave, never below zero;
-- cost is the period's share of the fully-loaded cost; `unassigned` has neither. Touchpoints are
-- the person's own, on any account; inbound e-mails and response times belong to the account's
-- owner when each arrived; feedback, bookings and onboarding come from the outcome working models
-- (docs/metrics.md, Engagement; Customer feedback; Expansion sourcing, onboarding). A person with
-- any of these has a row, so the team's figures are the sum of its people's. Ratios are NULL, not
-- errors, when their denominator is zero. A period not over is measured to `as_of`; a `partial`
-- one (time entries of a month never pulled) has NULL in every column made from hours
-- (docs/metrics.md, Periods). `ttm` rows are the trailing twelve months, from their own snapshots.
with periods as (
    select * from wrk_periods
),

hours as (
    select * from wrk_csm_hours
),

people as (
    select * from intermediate.int_people__csms
),

capacity as (
    select * from wrk_csm_capacity
),

-- The families' rows for people: scope `csm`, keyed by the person.
book as (
    select scope_key as csm_id, * exclude (scope, scope_key) from wrk_retention
    where scope = 'csm'
),

engagement as (
    select scope_key as csm_id, * exclude (scope, scope_key) from wrk_engagement
    where scope = 'csm'
),

outcomes as (
    select scope_key as csm_id, * exclude (scope, scope_key) from wrk_outcomes
    where scope = 'csm'
),

settings as (
    select * from staging.settings
),

members as (
    select period_grain, period_start, csm_id from book
    union
    select period_grain, period_start, csm_id from hours
    union
    select period_grain, period_start, csm_id from engagement
    union
    select period_grain, period_start, csm_id from outcomes
),

-- A person without a family's row has zeros in its counts and sums, NULL in its ratios.
joined as (
    select
        period_grain,
        period_start,
        periods.period_end,
        periods.period_status,
        periods.months_with_hours,
        csm_id,
        case when csm_id = 'unassigned' then 'Unassigned'
            else coalesce(people.csm_name, csm_id) end as csm_name,
        coalesce(book.accounts_at_end, 0) as accounts_managed,
        cast(coalesce(book.arr_at_end, 0) as decimal(18, 2)) as arr_managed,
        coalesce(book.accounts_at_start, 0) as accounts_at_start,
        cast(coalesce(book.starting_arr, 0) as decimal(18, 2)) as starting_arr,
        cast(coalesce(book.new_arr, 0) as decimal(18, 2)) as new_arr,
        cast(coalesce(book.reactivation_arr, 0) as decimal(18, 2)) as reactivation_arr,
        cast(coalesce(book.expansion_arr, 0) as decimal(18, 2)) as expansion_arr,
        cast(coalesce(book.contraction_arr, 0) as decimal(18, 2)) as contraction_arr,
        cast(coalesce(book.churned_arr, 0) as decimal(18, 2)) as churned_arr,
        coalesce(book.accounts_churned, 0) as accounts_churned,
        cast(coalesce(book.net_retained_arr, 0) as decimal(18, 2)) as net_retained_arr,
        book.nrr,
        book.grr,
        book.logo_retention,
        if_hours_loaded(periods.period_status, ms_to_hours(coalesce(hours.worked_ms, 0)))
            as hours_worked,
        if_hours_loaded(periods.period_status, ms_to_hours(coalesce(hours.on_accounts_ms, 0)))
            as hours_on_accounts,
        if_hours_loaded(periods.period_status, ms_to_hours(coalesce(hours.unattributed_ms, 0)))
            as hours_unattributed,
        case when csm_id <> 'unassigned' then if_hours_loaded(periods.period_status, greatest(
            capacity.base_capacity_hours - ms_to_hours(coalesce(hours.leave_ms, 0)), 0))
        end as capacity_hours,
        cast(round(capacity.fully_loaded_cost, 2) as decimal(18, 2)) as fully_loaded_cost,
        coalesce(engagement.touchpoints, 0) as touchpoints,
        coalesce(engagement.accounts_touched, 0) as accounts_touched,
        coalesce(engagement.touchpoints_on_book, 0) as touchpoints_on_book,
        coalesce(engagement.inbound_messages, 0) as inbound_messages,
        engagement.median_response_hours,
        coalesce(engagement.answered_within_24h, 0) as answered_within_24h,
        coalesce(engagement.unanswered_messages, 0) as unanswered_messages,
        coalesce(outcomes.nps_responses, 0) as nps_responses,
        outcomes.nps,
        coalesce(outcomes.csat_responses, 0) as csat_responses,
        outcomes.csat,
        cast(coalesce(outcomes.expansion_bookings_arr, 0) as decimal(18, 2))
            as expansion_bookings_arr,
        cast(coalesce(outcomes.csm_sourced_bookings_arr, 0) as decimal(18, 2))
            as csm_sourced_bookings_arr,
        coalesce(outcomes.csm_sourced_won, 0) as csm_sourced_won,
        coalesce(outcomes.csm_sourced_lost, 0) as csm_sourced_lost,
        outcomes.csm_sourced_win_rate,
        coalesce(outcomes.accounts_onboarded, 0) as accounts_onboarded,
        if_hours_loaded(periods.period_status, outcomes.onboarding_hours_per_new_account)
            as onboarding_hours_per_new_account,
        outcomes.median_days_to_value
    from members
    inner join periods using (period_grain, period_start)
    left join people using (csm_id)
    left join book using (period_grain, period_start, csm_id)
    left join hours using (period_grain, period_start, csm_id)
    left join capacity using (period_grain, period_start, csm_id)
    left join engagement using (period_grain, period_start, csm_id)
    left join outcomes using (period_grain, period_start, csm_id)
),

final as (
    select
        period_grain,
        period_start,
        period_end,
        period_status,
        months_with_hours,
        csm_id,
        csm_name,
        accounts_managed,
        arr_managed,
        accounts_at_start,
        starting_arr,
        new_arr,
        reactivation_arr,
        expansion_arr,
        contraction_arr,
        churned_arr,
        accounts_churned,
        net_retained_arr,
        nrr,
        grr,
        logo_retention,
        hours_worked,
        hours_on_accounts,
        hours_unattributed,
        hours_on_accounts / nullif(accounts_managed, 0) as hours_per_account,
        accounts_managed / nullif(hours_worked, 0) as accounts_per_hour,
        cast(arr_managed as double) / nullif(hours_worked, 0) as arr_per_hour,
        capacity_hours,
        hours_worked / nullif(capacity_hours, 0) as utilization,
        fully_loaded_cost,
        cast(fully_loaded_cost as double) / nullif(accounts_managed, 0) as cost_per_account,
        cast(fully_loaded_cost as double) / nullif(cast(arr_managed as double), 0)
            as cost_per_arr,
        cast(net_retained_arr as double) / nullif(hours_worked, 0) as outcome_per_hour,
        case
            when csm_id = 'unassigned' then null
            when arr_managed < settings.arr_band_low then 'below'
            when arr_managed > settings.arr_band_high then 'above'
            else 'within'
        end as arr_band,
        case
            when csm_id = 'unassigned' then null
            when accounts_managed < settings.accounts_band_low then 'below'
            when accounts_managed > settings.accounts_band_high then 'above'
            else 'within'
        end as accounts_band,
        touchpoints,
        accounts_touched,
        cast(accounts_touched as double) / nullif(accounts_managed, 0) as touch_coverage,
        cast(touchpoints_on_book as double) / nullif(accounts_managed, 0)
            as touchpoints_per_account,
        hours_on_accounts / nullif(touchpoints, 0) as hours_per_touchpoint,
        inbound_messages,
        median_response_hours,
        cast(answered_within_24h as double) / nullif(inbound_messages, 0)
            as responses_within_24h,
        unanswered_messages,
        nps_responses,
        nps,
        csat_responses,
        csat,
        expansion_bookings_arr,
        csm_sourced_bookings_arr,
        csm_sourced_won,
        csm_sourced_lost,
        csm_sourced_win_rate,
        accounts_onboarded,
        onboarding_hours_per_new_account,
        median_days_to_value
    from joined
    cross join settings
)

select * from final
