-- grain: one row per NPS response with a score on the scale, from either CRM.
-- rule: the NPS scores the retention drivers and the churn risk read as an account's mean score
-- (docs/metrics.md, Retention drivers; Looking ahead): deleted responses and scores outside 0-10
-- are left out, as in the NPS itself (docs/metrics.md, Customer feedback).
with salesforce_feedback as (
    select * from intermediate.int_feedback__salesforce
),

hubspot_feedback as (
    select * from intermediate.int_feedback__hubspot
),

final as (
    select account_id, responded_at, score
    from salesforce_feedback
    where survey_type = 'NPS' and not is_deleted and score between 0 and 10
    union all
    select account_id, responded_at, score
    from hubspot_feedback
    where survey_type = 'NPS' and not is_deleted and score between 0 and 10
)

select * from final
