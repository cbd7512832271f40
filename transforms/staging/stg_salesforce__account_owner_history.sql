-- grain: one row per change of a Salesforce account's owner.
-- rule: Salesforce writes two AccountHistory rows per owner change, one with user ids and one
-- with names; only the id rows (values that are User ids, prefix 005) name an owner. The
-- standard owner field is `Owner` in history; a custom lookup keeps its API name.
with source as (
    select * from raw.salesforce__account_history
),

settings as (
    select * from staging.settings
),

final as (
    select
        _pk,
        prefixed_id('salesforce', _record->>'AccountId') as account_id,
        try_cast(_record->>'CreatedDate' as timestamptz) as changed_at,
        nullif(_record->>'OldValue', '') as old_owner_ref,
        nullif(_record->>'NewValue', '') as new_owner_ref
    from source
    cross join settings
    where (_record->>'Field') = case settings.salesforce_owner_field
            when 'OwnerId' then 'Owner' else settings.salesforce_owner_field end
      and (coalesce(_record->>'NewValue', '') like '005%'
           or coalesce(_record->>'OldValue', '') like '005%')
      and not coalesce(try_cast(_record->>'IsDeleted' as boolean), false)
)

select * from final
