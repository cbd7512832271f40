-- fails on: a period where the team's touchpoints differ from the sum of its people's.
with people as (
    select period_grain, period_start, sum(touchpoints) as touchpoints
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
    where coalesce(people.touchpoints, 0) <> team.touchpoints
)

select * from final
