-- fails on: a CSM row whose touch ratios are null while it has a book, or set while it has none.
-- Rows written before the engagement columns existed (touchpoints null) are not judged.
with people as (
    select * from marts.csm_period_metrics
),

final as (
    select period_grain, period_start, csm_id
    from people
    where touchpoints is not null
      and ((touch_coverage is null) <> (accounts_managed = 0)
           or (touchpoints_per_account is null) <> (accounts_managed = 0))
)

select * from final
