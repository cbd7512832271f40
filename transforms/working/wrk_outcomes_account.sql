-- grain: one row per (period, account) with any counted survey response.
-- rule: the account's NPS and CSAT over its own responses in the period (docs/metrics.md, "NPS
-- and CSAT"); responses on no account count only for the team.
with items as (
    select * from wrk_outcomes_items
    where kind = 'response' and account_id is not null
),

counted as (
    select
        period_grain,
        period_start,
        account_id,
        count(*) filter (where survey_type = 'NPS') as nps_responses,
        count(*) filter (where is_promoter) as promoters,
        count(*) filter (where is_detractor) as detractors,
        count(*) filter (where survey_type = 'CSAT') as csat_responses,
        count(*) filter (where is_satisfied) as satisfied
    from items
    group by all
),

final as (
    select
        period_grain,
        period_start,
        account_id,
        nps_responses,
        nps_score(promoters, detractors, nps_responses) as nps,
        csat_responses,
        safe_share(satisfied, csat_responses) as csat
    from counted
)

select * from final
