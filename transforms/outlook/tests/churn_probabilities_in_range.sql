-- fails on: an account whose churn probability is outside [0, 1] or whose risk band disagrees
-- with it, in marts.account_risk or marts.renewals.
with risk as (
    select * from marts.account_risk
),

renewals as (
    select * from marts.renewals
),

final as (
    select 'account_risk', account_id
    from risk
    where not coalesce(churn_probability between 0 and 1, true)
       or (churn_probability is null) <> (risk_band = 'unknown')
    union all
    select 'renewals', account_id
    from renewals
    where not coalesce(churn_probability between 0 and 1, true)
       or (churn_probability is null) <> (risk_band = 'unknown')
)

select * from final
