-- grain: one row per (period, CSM) who tracked any time in the period.
-- rule: worked hours exclude leave; leave is kept apart, to reduce capacity (docs/metrics.md,
-- Hours).
with entry_periods as (
    select * from wrk_entry_periods
),

final as (
    select
        period_grain,
        period_start,
        csm_id,
        coalesce(sum(milliseconds) filter (where not is_leave), 0) as worked_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and account_id is not null), 0)
            as on_accounts_ms,
        coalesce(sum(milliseconds) filter (where not is_leave and account_id is null), 0)
            as unattributed_ms,
        coalesce(sum(milliseconds) filter (where is_leave), 0) as leave_ms
    from entry_periods
    group by all
)

select * from final
