-- grain: one row per Toggl workspace user.
with source as (
    select * from raw.toggl__users
),

final as (
    select
        _pk,
        _record->>'id' as user_id,
        _record->>'fullname' as name,
        fold_email(_record->>'email') as email
    from source
)

select * from final
