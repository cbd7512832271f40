-- grain: one row per (period, CSM) with any counted response, booking, closed CSM-sourced deal
-- or onboarding; `unassigned` for items whose account had no owner in the population.
-- rule: NPS = 100 x (promoters - detractors) / responses; CSAT = satisfied / responses; the
-- bookings' expansion ARR and its CSM-sourced part; CSM-sourced deals won and lost and the win
-- rate; accounts onboarded, their mean onboarding hours and median days to value. Ratios and
-- medians are NULL when there is nothing to take them over (docs/metrics.md, "NPS and CSAT",
-- "Expansion sourcing", "Onboarding").
with items as (
    select * from wrk_outcomes_items
),

counted as (
    select
        period_grain,
        period_start,
        csm_id,
        count(*) filter (where kind = 'response' and survey_type = 'NPS') as nps_responses,
        count(*) filter (where kind = 'response' and is_promoter) as promoters,
        count(*) filter (where kind = 'response' and is_detractor) as detractors,
        count(*) filter (where kind = 'response' and survey_type = 'CSAT') as csat_responses,
        count(*) filter (where kind = 'response' and is_satisfied) as satisfied,
        coalesce(sum(annual_value) filter (where kind = 'booking' and is_expansion), 0)
            as expansion_bookings_arr,
        coalesce(sum(annual_value) filter (
            where kind = 'booking' and is_expansion and is_csm_sourced), 0)
            as csm_sourced_bookings_arr,
        count(*) filter (where kind = 'sourced_deal' and is_won) as csm_sourced_won,
        count(*) filter (where kind = 'sourced_deal' and not is_won) as csm_sourced_lost,
        count(*) filter (where kind = 'onboarding') as accounts_onboarded,
        -- A mean of doubles as decimals: exact in any order, so a rebuild gives the same bits.
        cast(avg(cast(onboarding_hours as decimal(38, 10))) filter (where kind = 'onboarding')
            as double) as onboarding_hours_per_new_account,
        median(days_to_value) filter (where kind = 'onboarding') as median_days_to_value
    from items
    group by all
),

final as (
    select
        period_grain,
        period_start,
        csm_id,
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
        cast(median_days_to_value as double) as median_days_to_value
    from counted
)

select * from final
