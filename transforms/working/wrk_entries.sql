-- grain: one row per time entry of the build's entry window, resolved and counted as
-- `intermediate.int_time_entries__counted` gives it (person, account, activity, leave,
-- population).
-- rule: the time-entry models run once per build, here, and their readers in the build (the
-- entry periods, the onboardings) read this table; each used to run them again, about 12 s a
-- time at 3 million entries (docs/performance.md). The build sets its entry window before any
-- other working model runs (warehouse/marts.py), so only the entries its periods can hold are
-- read.
with entries as (
    select * from intermediate.int_time_entries__counted
),

final as (
    select * from entries
)

select * from final
