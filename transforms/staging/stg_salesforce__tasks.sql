-- grain: one row per Salesforce task (calls, e-mails, to-dos), deleted and archived ones kept
-- and flagged.
-- rule: tasks are read with queryAll, so archived tasks (which query drops) arrive and deleted
-- ones arrive flagged (docs/metrics.md, "Touchpoints and response time"). `ActivityDate` is a
-- plain date (a due date), `CompletedDateTime` an instant; `AccountId` is Salesforce's own
-- derivation from WhatId / WhoId and may be null.
with source as (
    select * from raw.salesforce__tasks
),

final as (
    select
        _pk,
        _record->>'Id' as task_id,
        prefixed_id('salesforce', nullif(_record->>'AccountId', '')) as account_id,
        nullif(_record->>'WhatId', '') as what_ref,
        nullif(_record->>'WhoId', '') as who_ref,
        nullif(_record->>'OwnerId', '') as owner_ref,
        _record->>'Subject' as subject,
        _record->>'Status' as status,
        coalesce(try_cast(_record->>'IsClosed' as boolean), false) as is_closed,
        nullif(trim(_record->>'TaskSubtype'), '') as task_subtype,
        nullif(trim(_record->>'Type'), '') as task_type,
        nullif(trim(_record->>'CallType'), '') as call_type,
        try_cast(_record->>'ActivityDate' as date) as activity_date,
        try_cast(_record->>'CompletedDateTime' as timestamptz) as completed_at,
        try_cast(_record->>'CreatedDate' as timestamptz) as created_at,
        try_cast(_record->>'SystemModstamp' as timestamptz) as modified_at,
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        coalesce(try_cast(_record->>'IsArchived' as boolean), false) as is_archived,
        _loaded_at as loaded_at
    from source
)

select * from final
