-- grain: one row per (period_grain, period_start, movement, reason): the churn and contraction
-- movements of the period by reason.
-- rule: each churn or contraction movement takes the loss reason of its account's latest
-- closed-lost deal closed in [period_start - loss_reason_window_days, period_end); reasons are
-- trimmed and grouped case-insensitively, shown in their most common spelling among all lost
-- deals (ties: the first in byte order); none is `unknown`. Shares are of the movement in the
-- period; rank_by_arr 1 is the most ARR, ties broken by more accounts, then the reason
-- (docs/metrics.md, "Churn reasons"). `ttm` rows too; a period not over counts the movements to
-- `as_of` (docs/metrics.md, Periods).
with settings as (
    select * from staging.settings
),

periods as (
    select * from wrk_periods
),

account_periods as (
    select * from wrk_account_periods
    where movement in ('churn', 'contraction')
),

lost as (
    select * from intermediate.int_deals__closed
    where is_lost and close_date is not null
),

spellings as (
    select lower(loss_reason) as reason_key, loss_reason, count(*) as deals
    from lost
    where loss_reason is not null
    group by all
),

labels as (
    select reason_key, arg_min(loss_reason, (-deals, loss_reason)) as label
    from spellings
    group by reason_key
),

reasoned as (
    select
        account_periods.period_grain,
        account_periods.period_start,
        account_periods.period_end,
        account_periods.account_id,
        account_periods.movement,
        case account_periods.movement
            when 'churn' then account_periods.churned_arr
            else account_periods.contraction_arr
        end as arr,
        lower(lost.loss_reason) as reason_key
    from account_periods
    cross join settings
    left join lost
        on lost.account_id = account_periods.account_id
        and lost.close_date
            >= account_periods.period_start - to_days(settings.loss_reason_window_days)
        and lost.close_date < account_periods.period_end
    qualify row_number() over (
        partition by account_periods.period_grain, account_periods.period_start,
            account_periods.account_id
        order by lost.close_date desc nulls last, lost.loss_reason is null, lost.deal_id) = 1
),

grouped as (
    select
        reasoned.period_grain,
        reasoned.period_start,
        reasoned.period_end,
        reasoned.movement,
        coalesce(labels.label, 'unknown') as reason,
        count(*) as accounts,
        cast(sum(reasoned.arr) as decimal(18, 2)) as arr
    from reasoned
    left join labels on labels.reason_key = reasoned.reason_key
    group by all
),

final as (
    select
        grouped.period_grain,
        grouped.period_start,
        grouped.period_end,
        periods.period_status,
        periods.months_with_hours,
        grouped.movement,
        grouped.reason,
        grouped.accounts,
        grouped.arr,
        grouped.accounts / sum(grouped.accounts) over movement_in_period as share_of_accounts,
        cast(grouped.arr as double)
            / nullif(cast(sum(grouped.arr) over movement_in_period as double), 0)
            as share_of_arr,
        row_number() over (
            partition by grouped.period_grain, grouped.period_start, grouped.movement
            order by grouped.arr desc, grouped.accounts desc, grouped.reason
        ) as rank_by_arr
    from grouped
    inner join periods using (period_grain, period_start)
    window movement_in_period as (
        partition by grouped.period_grain, grouped.period_start, grouped.movement)
)

select * from final
