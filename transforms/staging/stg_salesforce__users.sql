-- grain: one row per Salesforce user.
-- rule: a person is their e-mail, trimmed and lower-cased (docs/metrics.md, Who is a CSM).
with source as (
    select * from raw.salesforce__users
),

final as (
    select
        _pk,
        _record->>'Id' as user_id,
        _record->>'Name' as name,
        fold_email(_record->>'Email') as email,
        coalesce(try_cast(_record->>'IsActive' as boolean), true) as is_active
    from source
)

select * from final
