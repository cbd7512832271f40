-- grain: one row per NPS or CSAT survey response from either CRM, deleted ones left out, with
-- the reason it cannot count (or null).
-- rule: other survey types (CES, custom) are ignored, not rejected. A score that is not a number,
-- or is outside its scale (NPS 0-10, CSAT 1-5), and a response with no instant are quarantined.
-- A response belongs to the owner of its account at the response instant (point-in-time), else
-- `unassigned`. Promoters score 9-10, detractors 0-6; a CSAT response is satisfied at or above
-- `csat_satisfied_min` (docs/metrics.md, "NPS and CSAT").
with settings as (
    select * from staging.settings
),

salesforce as (
    select * from intermediate.int_feedback__salesforce
),

hubspot as (
    select * from intermediate.int_feedback__hubspot
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

responses as (
    select response_id, source, survey_type, score_raw, score, responded_at, account_id
    from salesforce
    where not is_deleted and survey_type in ('NPS', 'CSAT')
    union all
    select response_id, source, survey_type, score_raw, score, responded_at, account_id
    from hubspot
    where not is_deleted and survey_type in ('NPS', 'CSAT')
),

checked as (
    select
        responses.*,
        case
            when responses.score_raw is null then 'no score'
            when responses.score is null then 'score is not a number'
            when responses.survey_type = 'NPS' and not (responses.score between 0 and 10)
                then 'NPS score outside 0-10'
            when responses.survey_type = 'CSAT' and not (responses.score between 1 and 5)
                then 'CSAT score outside 1-5'
            when responses.responded_at is null then 'no response instant'
        end as reject_reason
    from responses
),

final as (
    select
        checked.response_id,
        checked.source,
        checked.survey_type,
        checked.score_raw,
        checked.score,
        checked.responded_at,
        checked.account_id,
        coalesce(ownership.csm_id, 'unassigned') as csm_id,
        checked.survey_type = 'NPS' and checked.score >= 9 as is_promoter,
        checked.survey_type = 'NPS' and checked.score <= 6 as is_detractor,
        checked.survey_type = 'CSAT' and checked.score >= settings.csat_satisfied_min
            as is_satisfied,
        checked.reject_reason
    from checked
    cross join settings
    left join ownership on owned_at(ownership, checked.account_id, checked.responded_at)
)

select * from final
