-- fails on: a control row with a limit or signal where there should be none, or none where
-- there should be one.
with control as (
    select * from marts.kpi_control
),

final as (
    select kpi, scope, period_start
    from control
    where (beyond_limits is null) <> (centre is null or value is null)
       or (run_of_8 is null) <> (centre is null or value is null)
       or (two_of_three_beyond_2sigma is null) <> (centre is null or value is null)
       or (four_of_five_beyond_1sigma is null) <> (centre is null or value is null)
       or (unpl is null) <> (centre is null)
       or (lnpl is null) <> (centre is null)
       or (mr_bar is null) <> (centre is null)
       or (sigma is null) <> (centre is null)
)

select * from final
