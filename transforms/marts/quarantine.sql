-- grain: one row per record rejected anywhere in the pipeline.
-- rule: every rejected record is kept aside with its source, id, reason and the time it was
-- seen (docs/metrics.md, `marts.quarantine`); nothing is dropped silently.
with records as (
    select * from intermediate.int_quarantine__records
),

final as (
    select source, stream, record_id, reason, coalesce(seen_at, now()) as seen_at
    from records
)

select * from final
