-- grain: one row per HubSpot deal.
-- rule: a deal belongs to its associated company; the association list repeats one company
-- under several labels, so the lowest company id is taken once. Closed or not is the stage's
-- metadata (stg_hubspot__deal_stages), so `is_closed` is NULL here. The source and loss reason
-- are the configured properties, trimmed, NULL when empty; the creator is a HubSpot *user* id
-- (stg_hubspot__owners.user_id maps it to an owner).
with source as (
    select * from raw.hubspot__deals
),

settings as (
    select * from staging.settings
),

companies as (
    select
        _pk,
        min(association.id) as company_id
    from (
        select
            _pk,
            unnest(from_json(
                _record->'associations'->'companies'->'results', '[{"id": "VARCHAR"}]'
            )) as association
        from source
    )
    group by _pk
),

final as (
    select
        source._pk,
        'hs:' || (source._record->>'id') as deal_id,
        'hubspot' as source,
        'hs:' || companies.company_id as account_id,
        source._record->'properties'->>'dealname' as deal_name,
        try_cast(source._record->'properties'->>'amount' as decimal(18, 2)) as amount,
        source._record->'properties'->>'amount' as amount_raw,
        cast(timezone('UTC', try_cast(source._record->'properties'->>'closedate' as timestamptz))
            as date) as close_date,
        source._record->'properties'->>'pipeline' as pipeline_id,
        source._record->'properties'->>'dealstage' as stage_id,
        coalesce(try_cast(source._record->>'archived' as boolean), false) as is_deleted,
        upper(nullif(source._record->'properties'->>'deal_currency_code', '')) as currency,
        json_extract_string(source._record, '$.properties.' || settings.hubspot_term_property)
            as term_raw,
        try_cast(json_extract_string(
            source._record, '$.properties.' || settings.hubspot_term_property) as integer)
            as term_months,
        cast(timezone('UTC', try_cast(json_extract_string(
            source._record, '$.properties.' || settings.hubspot_start_property) as timestamptz))
            as date) as service_start,
        cast(null as boolean) as is_closed,
        nullif(trim(json_extract_string(
            source._record, '$.properties.' || settings.hubspot_source_property)), '')
            as source_value,
        nullif(trim(source._record->'properties'->>'hs_created_by_user_id'), '')
            as created_by_ref,
        hs_instant(source._record->'properties'->>'createdate') as created_at,
        nullif(trim(json_extract_string(
            source._record, '$.properties.' || settings.hubspot_loss_reason_property)), '')
            as loss_reason
    from source
    cross join settings
    left join companies on companies._pk = source._pk
)

select * from final
