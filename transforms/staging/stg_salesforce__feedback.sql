-- grain: one row per record of the Salesforce survey-response object the settings name
-- (`salesforce_feedback_object`); no rows when they name none.
-- rule: Salesforce has no standard survey object (docs/metrics.md, "NPS and CSAT"): the
-- settings name its account, score, type and date fields, or a fixed type. The date field may
-- be a date (its day at 00:00 UTC) or a datetime.
with source as (
    select * from raw.salesforce__feedback
),

settings as (
    select * from staging.settings
),

fields as (
    select
        source._pk,
        source._record->>'Id' as record_id,
        nullif(json_extract_string(
            source._record, '$.' || settings.salesforce_feedback_account_field), '')
            as account_ref,
        case
            when settings.salesforce_feedback_type_field is null
                then settings.salesforce_feedback_type
            else nullif(trim(json_extract_string(
                source._record, '$.' || settings.salesforce_feedback_type_field)), '')
        end as survey_type_raw,
        json_extract_string(source._record, '$.' || settings.salesforce_feedback_score_field)
            as score_raw,
        json_extract_string(source._record, '$.' || settings.salesforce_feedback_date_field)
            as responded_raw,
        coalesce(try_cast(source._record->>'IsDeleted' as boolean), false) as is_deleted
    from source
    cross join settings
    where settings.salesforce_feedback_object is not null
),

final as (
    select
        _pk,
        record_id,
        prefixed_id('salesforce', account_ref) as account_id,
        survey_type_raw,
        score_raw,
        case
            when regexp_full_match(trim(responded_raw), '\d{4}-\d{2}-\d{2}')
                then timezone('UTC', try_cast(trim(responded_raw) as date)::timestamp)
            else try_cast(responded_raw as timestamptz)
        end as responded_at,
        is_deleted
    from fields
)

select * from final
