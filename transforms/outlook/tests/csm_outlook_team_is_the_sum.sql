-- fails on: the outlook's `team` row when it is not the sum of the other rows, or is missing.
with people as (
    select sum(accounts_managed) as accounts_managed, sum(arr_managed) as arr_managed,
           sum(arr_renewing_90d) as arr_renewing_90d,
           sum(arr_renewing_180d) as arr_renewing_180d,
           sum(accounts_renewing_90d) as accounts_renewing_90d,
           sum(high_risk_accounts) as high_risk_accounts, sum(high_risk_arr) as high_risk_arr,
           sum(renewing_90d_untouched_30d) as renewing_90d_untouched_30d,
           sum(high_risk_touched_30d * high_risk_accounts) as touched
    from marts.csm_outlook
    where csm_id <> 'team'
),

team as (
    select * from marts.csm_outlook where csm_id = 'team'
),

final as (
    -- no team row at all is a failure too
    select 'team'
    from people
    left join team on true
    where team.csm_id is null
       or team.accounts_managed is distinct from coalesce(people.accounts_managed, 0)
       or team.arr_managed is distinct from coalesce(people.arr_managed, 0)
       or team.arr_renewing_90d is distinct from coalesce(people.arr_renewing_90d, 0)
       or team.arr_renewing_180d is distinct from coalesce(people.arr_renewing_180d, 0)
       or team.accounts_renewing_90d is distinct from coalesce(people.accounts_renewing_90d, 0)
       or team.high_risk_accounts is distinct from coalesce(people.high_risk_accounts, 0)
       or team.high_risk_arr is distinct from coalesce(people.high_risk_arr, 0)
       or team.renewing_90d_untouched_30d
          is distinct from coalesce(people.renewing_90d_untouched_30d, 0)
       or abs(coalesce(team.high_risk_touched_30d, -1)
              - coalesce(people.touched / nullif(people.high_risk_accounts, 0), -1)) > 1e-9
)

select * from final
