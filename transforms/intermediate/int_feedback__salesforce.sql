-- grain: one row per Salesforce survey response (a record of the configured custom object);
-- no rows when `salesforce_feedback_object` is unset.
-- rule: docs/metrics.md, "NPS and CSAT": the type is the configured type field's value, or the
-- fixed `salesforce_feedback_type`, upper-cased; the score is kept as sent (`score_raw`, for
-- the quarantine's reasons) and as a number when it is one; the account is the configured
-- account field.
with responses as (
    select * from staging.stg_salesforce__feedback
),

final as (
    select
        prefixed_id('salesforce', record_id) as response_id,
        'salesforce' as source,
        upper(survey_type_raw) as survey_type,
        score_raw,
        try_cast(score_raw as double) as score,
        responded_at,
        account_id,
        is_deleted
    from responses
)

select * from final
