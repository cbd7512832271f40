-- grain: one row per (account_id, renewal_date) of a current customer, renewal_date within 365
-- days after $as_of.
-- rule: each renewal event (a day a schedule ends and the account's ARR drops; `arr_lapsing` is
-- the drop) with the account's owner now, segment, ARR now, churn probability and risk band
-- from marts.account_risk (docs/metrics.md, "Looking ahead").
with renewal_events as (
    select * from outlook_renewal_events
    where days_to_renewal <= 365
),

risk as (
    select * from marts.account_risk
),

final as (
    select
        renewal_events.account_id,
        risk.account_name,
        risk.source,
        risk.segment,
        risk.csm_id,
        renewal_events.renewal_date,
        renewal_events.days_to_renewal,
        renewal_events.arr_lapsing,
        risk.arr_now,
        risk.churn_probability,
        risk.risk_band
    from renewal_events
    inner join risk on risk.account_id = renewal_events.account_id
)

select * from final
order by renewal_date, account_id
