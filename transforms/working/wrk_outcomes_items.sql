-- grain: one row per (period, outcome item): a counted survey response, a booking, a closed
-- CSM-sourced deal or an onboarding, with the person it counts for.
-- rule: responses count in the period of their instant; bookings and closed deals in the period
-- of their close date; onboardings in the period of their start (docs/metrics.md, "NPS and
-- CSAT", "Expansion sourcing", "Onboarding"). Quarters and years hold their own items, so their
-- ratios and medians are computed from them, never from months'.
with periods as (
    select * from wrk_periods
),

responses as (
    select * from intermediate.int_feedback__responses
    where reject_reason is null
),

bookings as (
    select * from intermediate.int_deals__bookings
),

closed as (
    select * from intermediate.int_deals__closed
    where is_csm_sourced and close_date is not null
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

onboardings as (
    select * from wrk_onboardings
),

settings as (
    select * from staging.settings
),

-- A closed CSM-sourced deal counts for its account's owner at its close date's 00:00.
closed_owned as (
    select
        closed.deal_id,
        closed.account_id,
        closed.close_date,
        closed.is_won,
        coalesce(ownership.csm_id, 'unassigned') as csm_id
    from closed
    cross join settings
    left join ownership
        on owned_at(ownership, closed.account_id,
                    local_midnight(closed.close_date, settings.reporting_timezone))
),

items as (
    select
        'response' as kind, response_id as item_id, csm_id, account_id,
        cast(null as date) as on_date, responded_at as at_instant,
        survey_type, is_promoter, is_detractor, is_satisfied,
        cast(null as decimal(18, 2)) as annual_value, null::boolean as is_expansion,
        null::boolean as is_csm_sourced, null::boolean as is_won,
        null::double as onboarding_hours, null::bigint as days_to_value
    from responses
    union all
    select
        'booking', deal_id, csm_id, account_id, close_date, null,
        null, null, null, null,
        annual_value, is_expansion, is_csm_sourced, null,
        null, null
    from bookings
    union all
    select
        'sourced_deal', deal_id, csm_id, account_id, close_date, null,
        null, null, null, null,
        null, null, true, is_won,
        null, null
    from closed_owned
    union all
    select
        'onboarding', account_id, csm_id, account_id, onboarding_start, null,
        null, null, null, null,
        null, null, null, null,
        onboarding_hours, days_to_value
    from onboardings
),

final as (
    select periods.period_grain, periods.period_start, items.*
    from items
    inner join periods on in_period(periods, items.at_instant)
    union all
    select periods.period_grain, periods.period_start, items.*
    from items
    inner join periods
        on periods.period_start <= items.on_date and items.on_date < periods.elapsed_end
)

select * from final
