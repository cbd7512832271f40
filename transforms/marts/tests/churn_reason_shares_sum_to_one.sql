-- fails on: a period and movement whose reasons' shares do not sum to 1.
with reasons as (
    select * from marts.churn_reasons
),

final as (
    select period_grain, period_start, movement
    from reasons
    group by all
    having abs(sum(share_of_accounts) - 1) > 1e-9 or abs(sum(share_of_arr) - 1) > 1e-9
)

select * from final
