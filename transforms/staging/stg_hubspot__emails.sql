-- grain: one row per HubSpot e-mail engagement, archived (deleted) ones kept and flagged.
-- rule: without the sales-email-read scope HubSpot redacts e-mail metadata, so the direction
-- may be missing: then NULL (unknown), never guessed (docs/connectors.md).
with source as (
    select * from raw.hubspot__emails
),

final as (
    select
        _pk,
        _record->>'id' as email_id,
        nullif(trim(_record->'properties'->>'hubspot_owner_id'), '') as owner_ref,
        hs_instant(_record->'properties'->>'hs_timestamp') as occurred_at,
        upper(nullif(trim(_record->'properties'->>'hs_email_direction'), '')) as email_direction,
        nullif(_record->'properties'->>'hs_email_thread_id', '') as thread_id,
        hs_linked_ids(_record, 'companies') as company_ids,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_deleted,
        _loaded_at as pulled_at
    from source
)

select * from final
