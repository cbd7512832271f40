-- grain: one row per HubSpot feedback submission (survey response).
-- rule: docs/metrics.md, NPS and CSAT: the instant is the submission's, else its creation;
-- the account is the associated company, else the submitting contact's primary company. The
-- score stays as sent (score_raw) beside its number, for the quarantine's reasons.
with submissions as (
    select * from staging.stg_hubspot__feedback_submissions
),

final as (
    select
        'hs:' || submission_id as response_id,
        'hubspot' as source,
        survey_type,
        score_raw,
        try_cast(score_raw as double) as score,
        coalesce(submitted_at, created_at) as responded_at,
        'hs:' || coalesce(company_id, contact_company_id) as account_id,
        is_deleted
    from submissions
)

select * from final
