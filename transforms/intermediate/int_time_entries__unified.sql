-- grain: one row per time entry from either tracker.
-- rule: an entry is its person's (the tracker user's identity), for its account
-- (int_time_entries__accounts) and activity (int_time_entries__activities). Leave (a
-- non-REGULAR Clockify type, or a configured leave project or tag) is not work. Running timers
-- are not counted; zero, negative or >24 h entries are rejected with a reason (docs/metrics.md,
-- Hours).
with settings as (
    select * from staging.settings
),

identities as (
    select * from intermediate.int_people__identities
),

entries as (
    select * from intermediate.int_time_entries__activities
),

final as (
    select
        entries.entry_id,
        entries.source,
        identities.csm_id,
        entries.start_at,
        entries.stop_at,
        entries.description,
        entries.project_name,
        entries.client_name,
        entries.tags,
        entries.entry_type <> 'REGULAR'
            or coalesce(lower(entries.project_name) in (select unnest(leave_projects)
                                                          from settings), false)
            or list_has_any(list_transform(entries.tags, lambda t: lower(t)),
                            (select leave_tags from settings))
            as is_leave,
        entries.account_id,
        entries.account_match,
        entries.activity,
        entry_reject_reason(entries.start_at, entries.stop_at) as reject_reason,
        entries.stop_at is null as is_running
    from entries
    left join identities
        on identities.system = entries.source and identities.ref = entries.user_id
)

select * from final
