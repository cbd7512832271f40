-- grain: one row per owner of a current customer at $as_of, one for `unassigned` (zeros when it
-- holds none), and one `team` row.
-- rule: each owner's current book (accounts and ARR now), the ARR lapsing in renewal events
-- within 90 and 180 days and the accounts renewing within 90, the high-risk accounts and their
-- ARR, the share of them touched by anyone in the 30 days before $as_of (NULL when there are
-- none), and the accounts renewing within 90 days not touched in 30; the `team` row sums the
-- people's, its share recomputed from the summed counts (docs/metrics.md, "Looking ahead").
with risk as (
    select * from marts.account_risk
),

renewals as (
    select * from marts.renewals
),

renewing as (
    select
        account_id,
        sum(arr_lapsing) filter (where days_to_renewal <= 90) as arr_90d,
        sum(arr_lapsing) filter (where days_to_renewal <= 180) as arr_180d,
        bool_or(days_to_renewal <= 90) as renews_90d
    from renewals
    group by all
),

accounts as (
    select
        risk.csm_id,
        risk.account_id,
        risk.arr_now,
        coalesce(renewing.arr_90d, 0) as arr_90d,
        coalesce(renewing.arr_180d, 0) as arr_180d,
        coalesce(renewing.renews_90d, false) as renews_90d,
        risk.risk_band = 'high' as is_high_risk,
        coalesce(risk.last_touch_at >= cast($as_of as timestamptz) - interval 30 day, false)
            as touched_30d
    from risk
    left join renewing on renewing.account_id = risk.account_id
),

owners as (
    select distinct csm_id from accounts
    union
    select 'unassigned'
),

people as (
    select
        owners.csm_id,
        count(accounts.account_id) as accounts_managed,
        cast(coalesce(sum(accounts.arr_now), 0) as decimal(18, 2)) as arr_managed,
        cast(coalesce(sum(accounts.arr_90d), 0) as decimal(18, 2)) as arr_renewing_90d,
        cast(coalesce(sum(accounts.arr_180d), 0) as decimal(18, 2)) as arr_renewing_180d,
        count(*) filter (where accounts.renews_90d) as accounts_renewing_90d,
        count(*) filter (where accounts.is_high_risk) as high_risk_accounts,
        cast(coalesce(sum(accounts.arr_now) filter (where accounts.is_high_risk), 0)
            as decimal(18, 2)) as high_risk_arr,
        count(*) filter (where accounts.is_high_risk and accounts.touched_30d)
            as high_risk_touched,
        count(*) filter (where accounts.renews_90d and not accounts.touched_30d)
            as renewing_90d_untouched_30d
    from owners
    left join accounts on accounts.csm_id = owners.csm_id
    group by all
),

team as (
    select
        'team' as csm_id,
        sum(accounts_managed) as accounts_managed,
        sum(arr_managed) as arr_managed,
        sum(arr_renewing_90d) as arr_renewing_90d,
        sum(arr_renewing_180d) as arr_renewing_180d,
        sum(accounts_renewing_90d) as accounts_renewing_90d,
        sum(high_risk_accounts) as high_risk_accounts,
        sum(high_risk_arr) as high_risk_arr,
        sum(high_risk_touched) as high_risk_touched,
        sum(renewing_90d_untouched_30d) as renewing_90d_untouched_30d
    from people
),

combined as (
    select * from people
    union all by name
    select * from team
),

final as (
    select
        csm_id,
        cast(accounts_managed as bigint) as accounts_managed,
        cast(arr_managed as decimal(18, 2)) as arr_managed,
        cast(arr_renewing_90d as decimal(18, 2)) as arr_renewing_90d,
        cast(arr_renewing_180d as decimal(18, 2)) as arr_renewing_180d,
        cast(accounts_renewing_90d as bigint) as accounts_renewing_90d,
        cast(high_risk_accounts as bigint) as high_risk_accounts,
        cast(high_risk_arr as decimal(18, 2)) as high_risk_arr,
        cast(high_risk_touched as double) / nullif(high_risk_accounts, 0)
            as high_risk_touched_30d,
        cast(renewing_90d_untouched_30d as bigint) as renewing_90d_untouched_30d
    from combined
)

select * from final
order by csm_id = 'team', csm_id
