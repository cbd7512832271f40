-- grain: one row per current customer at $as_of.
-- rule: the account's owner now, segment and ARR now, the retention-driver model's inputs over
-- the three months before $as_of, its churn probability from the model fitted over every
-- complete quarter (warehouse/outlook.py), its risk band (`high` at least `risk_high_ratio`
-- times the fit's churn rate, `low` at most half of it, else `medium`; `unknown` with the reason
-- in `risk_note` when there is no probability), its latest touchpoint before $as_of and its next
-- renewal event (docs/metrics.md, "Looking ahead"). Association, not cause.
with customers as (
    select * from outlook_accounts
),

scores as (
    select * from outlook_scores
),

renewal_events as (
    select * from outlook_renewal_events
),

settings as (
    select * from staging.settings
),

next_renewal as (
    select account_id, min(renewal_date) as next_renewal_date
    from renewal_events
    group by all
),

final as (
    select
        customers.account_id,
        customers.account_name,
        customers.source,
        customers.segment,
        customers.csm_id,
        customers.arr_now,
        customers.hours_per_month,
        customers.touchpoints,
        customers.days_since_last_touch,
        customers.nps_score,
        customers.onboarding_hours,
        customers.owner_accounts_managed,
        customers.owner_utilization,
        scores.churn_probability,
        case
            when scores.churn_probability is null then 'unknown'
            when scores.churn_probability >= settings.risk_high_ratio * scores.fit_churn_rate
                then 'high'
            when scores.churn_probability <= scores.fit_churn_rate / 2 then 'low'
            else 'medium'
        end as risk_band,
        scores.fit_churn_rate,
        scores.risk_note,
        customers.last_touch_at,
        next_renewal.next_renewal_date
    from customers
    cross join settings
    left join scores on scores.account_id = customers.account_id
    left join next_renewal on next_renewal.account_id = customers.account_id
)

select * from final
order by account_id
