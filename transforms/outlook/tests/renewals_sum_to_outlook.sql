-- fails on: an outlook row whose ARR or accounts renewing within 90 days differ from
-- marts.renewals'.
with soon as (
    select * from marts.renewals where days_to_renewal <= 90
),

outlook as (
    select * from marts.csm_outlook
),

by_owner as (
    select csm_id, sum(arr_lapsing) as arr, count(distinct account_id) as accounts
    from soon
    group by all
    union all
    select 'team', sum(arr_lapsing), count(distinct account_id) from soon
),

final as (
    select outlook.csm_id, outlook.arr_renewing_90d, by_owner.arr
    from outlook
    full join by_owner using (csm_id)
    where coalesce(outlook.arr_renewing_90d, -1) <> coalesce(by_owner.arr, 0)
       or coalesce(outlook.accounts_renewing_90d, -1) <> coalesce(by_owner.accounts, 0)
)

select * from final
