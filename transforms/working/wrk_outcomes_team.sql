-- grain: one row per period.
-- rule: the team's figures come from the period's own items (unassigned included), not from the
-- CSMs' ratios: the same formulas as wrk_outcomes_csm, plus the share of expansion bookings that
-- were CSM-sourced, NULL when there were none (docs/metrics.md, "Expansion sourcing").
with periods as (
    select * from wrk_periods
),

items as (
    select * from wrk_outcomes_items
),

counted as (
    select
        periods.period_grain,
        periods.period_start,
        count(items.kind) filter (where items.kind = 'response' and items.survey_type = 'NPS')
            as nps_responses,
        count(items.kind) filter (where items.kind = 'response' and items.is_promoter)
            as promoters,
        count(items.kind) filter (where items.kind = 'response' and items.is_detractor)
            as detractors,
        count(items.kind) filter (where items.kind = 'response' and items.survey_type = 'CSAT')
            as csat_responses,
        count(items.kind) filter (where items.kind = 'response' and items.is_satisfied)
            as satisfied,
        coalesce(sum(items.annual_value) filter (
            where items.kind = 'booking' and items.is_expansion), 0) as expansion_bookings_arr,
        coalesce(sum(items.annual_value) filter (
            where items.kind = 'booking' and items.is_expansion and items.is_csm_sourced), 0)
            as csm_sourced_bookings_arr,
        count(items.kind) filter (where items.kind = 'sourced_deal' and items.is_won)
            as csm_sourced_won,
        count(items.kind) filter (where items.kind = 'sourced_deal' and not items.is_won)
            as csm_sourced_lost,
        count(items.kind) filter (where items.kind = 'onboarding') as accounts_onboarded,
        cast(avg(cast(items.onboarding_hours as decimal(38, 10)))
            filter (where items.kind = 'onboarding') as double)
            as onboarding_hours_per_new_account,
        median(items.days_to_value) filter (where items.kind = 'onboarding')
            as median_days_to_value
    from periods
    left join items using (period_grain, period_start)
    group by all
),

final as (
    select
        period_grain,
        period_start,
        nps_responses,
        nps_score(promoters, detractors, nps_responses) as nps,
        csat_responses,
        safe_share(satisfied, csat_responses) as csat,
        cast(expansion_bookings_arr as decimal(18, 2)) as expansion_bookings_arr,
        cast(csm_sourced_bookings_arr as decimal(18, 2)) as csm_sourced_bookings_arr,
        csm_sourced_won,
        csm_sourced_lost,
        safe_share(csm_sourced_won, csm_sourced_won + csm_sourced_lost) as csm_sourced_win_rate,
        accounts_onboarded,
        cast(onboarding_hours_per_new_account as double) as onboarding_hours_per_new_account,
        cast(median_days_to_value as double) as median_days_to_value,
        safe_share(csm_sourced_bookings_arr, expansion_bookings_arr) as csm_sourced_share
    from counted
)

select * from final
