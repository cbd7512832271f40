-- grain: one row per window of time entries a pull landed (a stream may land a month many times).
-- rule: a month whose entries were landed, by every time-entry stream that ever landed any, has
-- its hours; a period with a month up to `as_of` that was never landed is `partial`
-- (docs/metrics.md, Periods).
with source as (
    select * from raw._windows
),

final as (
    select
        source,
        stream,
        window_start,
        window_end,
        landed_at
    from source
)

select * from final
