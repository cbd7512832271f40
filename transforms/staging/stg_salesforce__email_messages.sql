-- grain: one row per Salesforce e-mail message (orgs with Enhanced Email), deleted ones kept
-- and flagged.
-- rule: `Incoming` tells an inbound e-mail from an outbound one; `RelatedToId` is the record
-- the e-mail is on (an account, an opportunity...), `ActivityId` the task that logs it
-- (docs/metrics.md, "Touchpoints and response time"). An org without Enhanced Email has no
-- rows here.
with source as (
    select * from raw.salesforce__email_messages
),

final as (
    select
        _pk,
        _record->>'Id' as email_message_id,
        nullif(_record->>'ActivityId', '') as task_id,
        nullif(_record->>'ParentId', '') as parent_ref,
        nullif(_record->>'RelatedToId', '') as related_to_ref,
        coalesce(try_cast(_record->>'Incoming' as boolean), false) as is_incoming,
        try_cast(_record->>'MessageDate' as timestamptz) as message_at,
        _record->>'Status' as status,
        nullif(_record->>'ReplyToEmailMessageId', '') as reply_to_ref,
        try_cast(_record->>'CreatedDate' as timestamptz) as created_at,
        try_cast(_record->>'SystemModstamp' as timestamptz) as modified_at,
        coalesce(try_cast(_record->>'IsDeleted' as boolean), false) as is_deleted,
        _loaded_at as loaded_at
    from source
)

select * from final
