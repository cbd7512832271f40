-- grain: one row per (period_grain, period_start, account_id) for accounts with ARR at period
-- start or end, or with hours, touchpoints or feedback responses in the period.
-- rule: the account's ARR at both instants, its movement, its owners at both instants with
-- where that ownership came from, its segment by ARR (the highest segment whose lower bound its
-- ARR reaches, ending ARR else starting ARR), and the hours all CSMs and its owner at period
-- end spent on it (docs/metrics.md, `marts.account_period_metrics`); its touchpoints by anyone,
-- its latest touchpoint before period end (in any period) and its feedback (docs/metrics.md,
-- Engagement; Customer feedback). Month, quarter and year rows (no `ttm`); a `partial` period's
-- hours are NULL (docs/metrics.md, Periods).
with periods as (
    select * from wrk_periods
    where period_grain <> 'ttm'
),

account_periods as (
    select * from wrk_account_periods
    semi join periods using (period_grain, period_start)
),

entry_periods as (
    select * from wrk_entry_periods
),

segments as (
    select * from staging.segments
),

last_touch as (
    select * from wrk_last_touch
),

-- The families' rows for accounts: scope `account`, keyed by the account.
engagement as (
    select period_grain, period_start, scope_key as account_id, touchpoints from wrk_engagement
    where scope = 'account'
),

feedback as (
    select
        period_grain, period_start, scope_key as account_id,
        nps_responses, nps, csat_responses, csat
    from wrk_outcomes
    where scope = 'account'
),

hours as (
    select
        entry_periods.period_grain,
        entry_periods.period_start,
        entry_periods.account_id,
        sum(entry_periods.milliseconds) as all_ms,
        coalesce(sum(entry_periods.milliseconds) filter (
            where entry_periods.csm_id = account_periods.owner_at_end), 0) as owner_ms
    from entry_periods
    inner join account_periods using (period_grain, period_start, account_id)
    where not entry_periods.is_leave and entry_periods.account_id is not null
    group by all
),

-- The segments as one list, highest lower bound first (ties by name): an account's segment is the
-- first its ARR reaches, read per row with no join (a join of every row to every segment, then
-- grouped, cost a third of this model at scale).
segment_list as (
    select list(struct_pack(lower_bound, segment) order by lower_bound desc, segment)
        as segments
    from segments
),

final as (
    select
        account_periods.period_grain,
        account_periods.period_start,
        account_periods.period_end,
        periods.period_status,
        periods.months_with_hours,
        account_periods.account_id,
        account_periods.account_name,
        account_periods.source,
        case when account_periods.starting_arr > 0 or account_periods.ending_arr > 0 then
            list_filter(segment_list.segments, lambda s: s.lower_bound <= case
                when account_periods.ending_arr > 0 then account_periods.ending_arr
                else account_periods.starting_arr end)[1].segment
        end as segment,
        account_periods.owner_at_start,
        account_periods.ownership_source_at_start,
        account_periods.owner_at_end,
        account_periods.ownership_source_at_end,
        account_periods.starting_arr,
        account_periods.ending_arr,
        account_periods.movement,
        account_periods.new_arr,
        account_periods.reactivation_arr,
        account_periods.expansion_arr,
        account_periods.contraction_arr,
        account_periods.churned_arr,
        if_hours_loaded(periods.period_status, ms_to_hours(coalesce(hours.all_ms, 0)))
            as hours_all_csms,
        if_hours_loaded(periods.period_status, ms_to_hours(coalesce(hours.owner_ms, 0)))
            as hours_by_owner,
        coalesce(engagement.touchpoints, 0) as touchpoints,
        last_touch.last_touch_at,
        last_touch.days_since_last_touch,
        coalesce(feedback.nps_responses, 0) as nps_responses,
        feedback.nps,
        coalesce(feedback.csat_responses, 0) as csat_responses,
        feedback.csat
    from account_periods
    inner join periods using (period_grain, period_start)
    left join hours using (period_grain, period_start, account_id)
    cross join segment_list
    left join engagement using (period_grain, period_start, account_id)
    left join last_touch using (period_grain, period_start, account_id)
    left join feedback using (period_grain, period_start, account_id)
    where account_periods.starting_arr > 0 or account_periods.ending_arr > 0
        or hours.all_ms > 0 or engagement.touchpoints > 0
        or feedback.nps_responses > 0 or feedback.csat_responses > 0
)

select * from final
