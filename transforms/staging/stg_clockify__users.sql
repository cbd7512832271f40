-- grain: one row per Clockify workspace user.
with source as (
    select * from raw.clockify__users
),

final as (
    select
        _pk,
        _record->>'id' as user_id,
        _record->>'name' as name,
        fold_email(_record->>'email') as email
    from source
)

select * from final
