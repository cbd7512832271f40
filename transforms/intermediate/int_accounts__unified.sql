-- grain: one row per account across both CRMs.
-- rule: account names are compared case-insensitively with whitespace and punctuation folded
-- (docs/metrics.md, "Hours"), so the folded key is computed once here. value_milestone_date is
-- the configured value milestone (go-live), for days_to_value (docs/metrics.md, "Onboarding").
with salesforce as (
    select * from staging.stg_salesforce__accounts
),

hubspot as (
    select * from staging.stg_hubspot__companies
),

unioned as (
    select account_id, source, account_name, owner_ref, is_deleted, created_at,
        value_milestone_date
    from salesforce
    union all
    select account_id, source, account_name, owner_ref, is_deleted, created_at,
        value_milestone_date
    from hubspot
),

final as (
    select
        *,
        fold_name(account_name) as name_key
    from unioned
)

select * from final
