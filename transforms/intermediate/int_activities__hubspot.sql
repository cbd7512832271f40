-- grain: one row per (HubSpot call, meeting or e-mail, company it is on); an activity on no
-- company is one row with a NULL account_id, one on the same company twice is one row.
-- rule: docs/metrics.md, touchpoints: calls count when their status is a configured one
-- (default COMPLETED); meetings unless their outcome is excluded (default CANCELED, NO_SHOW,
-- RESCHEDULED) and only once started when pulled; e-mails in every direction. Deleted
-- (archived) ones never count. An INCOMING_EMAIL is an inbound message; any other direction, or
-- a call or meeting that is a touchpoint, can answer one. An e-mail whose direction HubSpot
-- redacted (no sales-email-read scope) is a touchpoint, but neither inbound nor an answer.
with settings as (
    select * from staging.settings
),

calls as (
    select * from staging.stg_hubspot__calls
),

meetings as (
    select * from staging.stg_hubspot__meetings
),

emails as (
    select * from staging.stg_hubspot__emails
),

call_activities as (
    select
        'hs:call:' || calls.call_id as activity_id,
        'call' as kind,
        case calls.call_direction
            when 'INBOUND' then 'inbound' when 'OUTBOUND' then 'outbound'
        end as direction,
        calls.company_ids,
        calls.owner_ref,
        calls.occurred_at,
        not calls.is_deleted
            and coalesce(list_contains(list_transform(settings.hubspot_touch_call_statuses,
                                                      lambda status: upper(status)),
                                       calls.call_status), false)
            as is_touchpoint,
        false as is_inbound_email,
        calls.is_deleted
    from calls
    cross join settings
),

meeting_activities as (
    select
        'hs:meeting:' || meetings.meeting_id as activity_id,
        'meeting' as kind,
        'outbound' as direction,
        meetings.company_ids,
        meetings.owner_ref,
        meetings.occurred_at,
        not meetings.is_deleted
            and not coalesce(list_contains(
                list_transform(settings.hubspot_excluded_meeting_outcomes,
                               lambda outcome: upper(outcome)),
                meetings.outcome), false)
            and coalesce(meetings.occurred_at <= meetings.pulled_at, false)
            as is_touchpoint,
        false as is_inbound_email,
        meetings.is_deleted
    from meetings
    cross join settings
),

email_activities as (
    select
        'hs:email:' || email_id as activity_id,
        'email' as kind,
        case
            when email_direction = 'INCOMING_EMAIL' then 'inbound'
            when email_direction is not null then 'outbound'
        end as direction,
        company_ids,
        owner_ref,
        occurred_at,
        not is_deleted as is_touchpoint,
        not is_deleted and coalesce(email_direction = 'INCOMING_EMAIL', false)
            as is_inbound_email,
        is_deleted
    from emails
),

activities as (
    select * from call_activities
    union all
    select * from meeting_activities
    union all
    select * from email_activities
),

final as (
    select
        activity_id,
        'hubspot' as source,
        kind,
        direction,
        'hs:' || unnest(case when len(company_ids) = 0 then [null] else company_ids end)
            as account_id,
        owner_ref,
        occurred_at,
        is_touchpoint,
        is_inbound_email,
        not is_deleted
            and (coalesce(kind = 'email' and direction = 'outbound', false)
                 or (kind in ('call', 'meeting') and is_touchpoint))
            as is_outbound,
        is_deleted
    from activities
)

select * from final
