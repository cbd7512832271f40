-- grain: one row per Salesforce event (meetings), deleted and archived ones kept and flagged.
-- rule: events are read with queryAll (archived events arrive only there). A timed event
-- starts at `StartDateTime`; an all-day event is dated only, by `ActivityDate`
-- (docs/metrics.md, "Touchpoints and response time").
with source as (
    select * from raw.salesforce__events
),

final as (
    select
        _pk,
        _record->>'Id' as event_id,
        prefixed_id('salesforce', nullif(_record->>'AccountId', '')) as account_id,
        nullif(_record->>'WhatId', '') as what_ref,
        nullif(_record->>'WhoId', '') as who_ref,
        nullif(_record->>'OwnerId', '') as owner_ref,
        _record->>'Subject' as subject,
        try_cast(_record->>'StartDateTime' as timestamptz) as start_at,
        try_cast(_record->>'EndDateTime' as timestamptz) as end_at,
        coalesce(try_cast(_record->>'IsAllDayEvent' as boolean), false) as is_all_day,
        try_cast(_record->>'ActivityDate' as date) as activity_date,
        try_cast(_record->>'CreatedDate' as timestamptz) as created_at,
        try_cast(_record->>'SystemModstamp' as timestamptz) as modified_at,
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        coalesce(try_cast(_record->>'IsArchived' as boolean), false) as is_archived,
        _loaded_at as loaded_at
    from source
)

select * from final
