-- grain: one row per HubSpot meeting, archived (deleted) ones kept and flagged.
-- rule: `hs_timestamp` is the meeting's start; `pulled_at` is when this version was landed, so
-- a meeting that had not started then is told apart (docs/metrics.md, touchpoints).
with source as (
    select * from raw.hubspot__meetings
),

final as (
    select
        _pk,
        _record->>'id' as meeting_id,
        nullif(trim(_record->'properties'->>'hubspot_owner_id'), '') as owner_ref,
        hs_instant(_record->'properties'->>'hs_timestamp') as occurred_at,
        hs_instant(_record->'properties'->>'hs_meeting_start_time') as start_at,
        hs_instant(_record->'properties'->>'hs_meeting_end_time') as end_at,
        upper(nullif(trim(_record->'properties'->>'hs_meeting_outcome'), '')) as outcome,
        hs_linked_ids(_record, 'companies') as company_ids,
        coalesce(try_cast(_record->>'archived' as boolean), false) as is_deleted,
        _loaded_at as pulled_at
    from source
)

select * from final
