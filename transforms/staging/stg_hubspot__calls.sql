-- grain: one row per HubSpot call, archived (deleted) ones kept and flagged.
-- rule: every property arrives as a string; the companies are the v4 associations the
-- connector attached, each once (docs/metrics.md, touchpoints).
with source as (
    select * from raw.hubspot__calls
),

final as (
    select
        _pk,
        _record->>'id' as call_id,
        nullif(trim(_record->'properties'->>'hubspot_owner_id'), '') as owner_ref,
        hs_instant(_record->'properties'->>'hs_timestamp') as occurred_at,
        upper(nullif(trim(_record->'properties'->>'hs_call_status'), '')) as call_status,
        upper(nullif(trim(_record->'properties'->>'hs_call_direction'), '')) as call_direction,
        try_cast(_record->'properties'->>'hs_call_duration' as bigint) as duration_ms,
        hs_linked_ids(_record, 'companies') as company_ids,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_deleted,
        _loaded_at as pulled_at
    from source
)

select * from final
