-- fails on: a period and movement whose ranks by ARR are not 1..n.
with reasons as (
    select * from marts.churn_reasons
),

final as (
    select period_grain, period_start, movement
    from reasons
    group by all
    having min(rank_by_arr) <> 1 or max(rank_by_arr) <> count(*)
        or count(distinct rank_by_arr) <> count(*)
)

select * from final
