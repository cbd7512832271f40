-- fails on: a period where the team's ARR movements, starting ARR or total ARR differ from the
-- sum of its people's rows (`unassigned` included).
with people as (
    select period_grain, period_start,
           sum(new_arr) as new_arr, sum(reactivation_arr) as reactivation_arr,
           sum(expansion_arr) as expansion_arr, sum(contraction_arr) as contraction_arr,
           sum(churned_arr) as churned_arr, sum(starting_arr) as starting_arr,
           sum(arr_managed) as arr_managed
    from marts.csm_period_metrics
    group by all
),

team as (
    select * from marts.team_period_metrics
),

final as (
    select team.period_grain, team.period_start
    from team
    left join people using (period_grain, period_start)
    where coalesce(people.new_arr, 0) <> team.new_arr
       or coalesce(people.reactivation_arr, 0) <> team.reactivation_arr
       or coalesce(people.expansion_arr, 0) <> team.expansion_arr
       or coalesce(people.contraction_arr, 0) <> team.contraction_arr
       or coalesce(people.churned_arr, 0) <> team.churned_arr
       or coalesce(people.starting_arr, 0) <> team.starting_arr
       or coalesce(people.arr_managed, 0) <> team.total_arr
)

select * from final
