-- grain: one row per Salesforce user.
-- rule: a person is their e-mail, trimmed and lower-cased (METRICS.md 2).
with source as (
    select * from raw.salesforce__users
),

final as (
    select
        _record->>'Id' as user_id,
        _record->>'Name' as name,
        nullif(lower(trim(_record->>'Email')), '') as email,
        coalesce(try_cast(_record->>'IsActive' as boolean), true) as is_active
    from source
)

select * from final
