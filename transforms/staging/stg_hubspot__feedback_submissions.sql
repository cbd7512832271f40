-- grain: one row per HubSpot feedback submission (a survey response).
-- rule: its company is the associated one (the lowest id when several), else the submitting
-- contact's primary company (HubSpot's `Primary` association), else that contact's lowest
-- company id (docs/metrics.md, NPS and CSAT).
with source as (
    select * from raw.hubspot__feedback_submissions
),

contact_companies as (
    select
        _pk,
        link.id as company_id,
        coalesce(link."primary", false) as is_primary
    from (
        select
            _pk,
            unnest(from_json(
                json_extract(_record, '$.associations.contact_companies.results'),
                '[{"id": "VARCHAR", "primary": "BOOLEAN"}]')) as link
        from source
    )
),

contact_company as (
    select
        _pk,
        arg_min(company_id, (not is_primary, try_cast(company_id as bigint), company_id))
            as company_id
    from contact_companies
    group by _pk
),

final as (
    select
        source._pk,
        source._record->>'id' as submission_id,
        upper(nullif(trim(source._record->'properties'->>'hs_survey_type'), '')) as survey_type,
        source._record->'properties'->>'hs_value' as score_raw,
        try_cast(source._record->'properties'->>'hs_value' as double) as score,
        hs_instant(source._record->'properties'->>'hs_submission_timestamp') as submitted_at,
        hs_instant(source._record->'properties'->>'hs_createdate') as created_at,
        nullif(trim(source._record->'properties'->>'hs_contact_id'), '') as contact_id,
        hs_linked_ids(source._record, 'companies')[1] as company_id,
        contact_company.company_id as contact_company_id,
        coalesce(try_cast(source._record->>'archived' as boolean), false) as is_deleted
    from source
    left join contact_company on contact_company._pk = source._pk
)

select * from final
