-- grain: one row per (period, scope, scope_key): scope `csm`, scope_key the person, for each
-- person with any counted response, booking, closed CSM-sourced deal or onboarding (`unassigned`
-- for items whose account had no owner); scope `team`, scope_key NULL, for every period; scope
-- `account`, scope_key the account, for each account with any item.
-- rule: one set of formulas for every scope, grouped once (grouping sets): NPS = 100 x
-- (promoters - detractors) / responses; CSAT = satisfied / responses; the bookings' expansion ARR,
-- its CSM-sourced part and that part's share; CSM-sourced deals won and lost and the win rate;
-- accounts onboarded, their mean onboarding hours and median days to value (the marts blank the
-- hours in a `partial` period). A scope's figures come from its own items, never from other
-- scopes' ratios (the team's include `unassigned`); ratios and medians are NULL when there is
-- nothing to take them over (docs/metrics.md, "NPS and CSAT", "Expansion sourcing",
-- "Onboarding"). The scope column, not a NULL key, says which grouping a row is: `unassigned` is
-- a person like any other.
with periods as (
    select * from wrk_periods
),

items as (
    select * from wrk_outcomes_items
),

counted as (
    select
        period_grain,
        period_start,
        case
            when grouping(items.csm_id) = 0 then 'csm'
            when grouping(items.account_id) = 0 then 'account'
            else 'team'
        end as scope,
        case
            when grouping(items.csm_id) = 0 then items.csm_id
            when grouping(items.account_id) = 0 then items.account_id
        end as scope_key,
        count(items.kind) as items,
        count(*) filter (where items.kind = 'response' and items.survey_type = 'NPS')
            as nps_responses,
        count(*) filter (where items.kind = 'response' and items.is_promoter) as promoters,
        count(*) filter (where items.kind = 'response' and items.is_detractor) as detractors,
        count(*) filter (where items.kind = 'response' and items.survey_type = 'CSAT')
            as csat_responses,
        count(*) filter (where items.kind = 'response' and items.is_satisfied) as satisfied,
        coalesce(sum(items.annual_value) filter (
            where items.kind = 'booking' and items.is_expansion), 0) as expansion_bookings_arr,
        coalesce(sum(items.annual_value) filter (
            where items.kind = 'booking' and items.is_expansion and items.is_csm_sourced), 0)
            as csm_sourced_bookings_arr,
        count(*) filter (where items.kind = 'sourced_deal' and items.is_won) as csm_sourced_won,
        count(*) filter (where items.kind = 'sourced_deal' and not items.is_won)
            as csm_sourced_lost,
        count(*) filter (where items.kind = 'onboarding') as accounts_onboarded,
        -- A mean of doubles as decimals: exact in any order, so a rebuild gives the same bits.
        cast(avg(cast(items.onboarding_hours as decimal(38, 10)))
            filter (where items.kind = 'onboarding') as double)
            as onboarding_hours_per_new_account,
        median(items.days_to_value) filter (where items.kind = 'onboarding')
            as median_days_to_value
    from periods
    left join items using (period_grain, period_start)
    group by grouping sets (
        (period_grain, period_start, items.csm_id),
        (period_grain, period_start),
        (period_grain, period_start, items.account_id))
),

final as (
    select
        counted.period_grain,
        counted.period_start,
        counted.scope,
        counted.scope_key,
        counted.nps_responses,
        nps_score(counted.promoters, counted.detractors, counted.nps_responses) as nps,
        counted.csat_responses,
        safe_share(counted.satisfied, counted.csat_responses) as csat,
        cast(counted.expansion_bookings_arr as decimal(18, 2)) as expansion_bookings_arr,
        cast(counted.csm_sourced_bookings_arr as decimal(18, 2)) as csm_sourced_bookings_arr,
        safe_share(counted.csm_sourced_bookings_arr, counted.expansion_bookings_arr)
            as csm_sourced_share,
        counted.csm_sourced_won,
        counted.csm_sourced_lost,
        safe_share(counted.csm_sourced_won, counted.csm_sourced_won + counted.csm_sourced_lost)
            as csm_sourced_win_rate,
        counted.accounts_onboarded,
        counted.onboarding_hours_per_new_account,
        cast(counted.median_days_to_value as double) as median_days_to_value
    from counted
    -- A person or account has a row only where it has items; the ungrouped key of a period
    -- without items, and the items on no account, are not a scope.
    where counted.scope = 'team' or (counted.items > 0 and counted.scope_key is not null)
)

select * from final
