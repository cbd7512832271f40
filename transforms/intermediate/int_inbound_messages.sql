-- grain: one row per (inbound e-mail, account it is on), for e-mails with an account and an
-- instant.
-- rule: an inbound e-mail belongs to the owner of its account at the instant it arrived
-- (point-in-time, `unassigned` when none); it is answered by the first outbound activity (an
-- outbound e-mail, or a call or meeting that is a touchpoint) on the same account at or after
-- that instant, by anyone the CRM owner resolves to (in the CSM population or not); unanswered
-- when there is none in the data. An activity with no resolvable person answers nothing, except
-- a Salesforce outbound EmailMessage, which has no owner of its own and needs none
-- (docs/metrics.md, Engagement: response time).
-- A marts build reads only the e-mails received in the window of the periods it replaces, and the
-- answers from the window's start on, however late (in_period_window, macros/instants.sql); every
-- other reader, all of them.
with activities as (
    select * from intermediate.int_touchpoints__activities
    where not_before_period_window(occurred_at)
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

inbound as (
    select activity_id, source, account_id, occurred_at as received_at
    from activities
    where is_inbound_email and not is_deleted
      and account_id is not null and occurred_at is not null
      and in_period_window(occurred_at)
),

-- One row per (account, instant) with the smallest id at that instant, so ties pick the same
-- answer on every run. An EmailMessage is known by its id: Salesforce's key prefix of the
-- object, `02s`, the same in every org.
outbound as (
    select account_id, occurred_at, min(activity_id) as activity_id
    from activities
    where is_outbound and not is_deleted
      and account_id is not null and occurred_at is not null
      and (csm_id is not null
           or (source = 'salesforce'
               and starts_with(activity_id, prefixed_id('salesforce', '02s'))))
    group by all
),

answered as (
    select
        inbound.activity_id,
        inbound.source,
        inbound.account_id,
        inbound.received_at,
        outbound.activity_id as answer_id,
        outbound.occurred_at as answered_at
    from inbound
    asof left join outbound
        on outbound.account_id = inbound.account_id
        and outbound.occurred_at >= inbound.received_at
),

final as (
    select
        answered.activity_id as message_id,
        answered.source,
        answered.account_id,
        answered.received_at,
        coalesce(ownership.csm_id, 'unassigned') as owner_csm_id,
        answered.answer_id,
        answered.answered_at,
        ms_to_hours(date_diff('millisecond', answered.received_at, answered.answered_at))
            as response_hours
    from answered
    left join ownership on owned_at(ownership, answered.account_id, answered.received_at)
)

select * from final
