-- grain: one row per Salesforce activity (task, event, e-mail message) and the account it is
-- on; an activity on no account is one row with account_id NULL (a Salesforce activity is on
-- one account at most).
-- rule: docs/metrics.md, "Touchpoints and response time". A task is a touchpoint when it is
-- closed, its TaskSubtype is one of `salesforce_touch_task_subtypes` and its CallType is not one
-- of `salesforce_excluded_call_types`; its instant is CompletedDateTime, else ActivityDate at
-- 00:00 UTC. An event is a touchpoint once it has started (StartDateTime; all-day: ActivityDate
-- at 00:00 UTC) as of the stream's latest pull: the latest landing of the events stream, not
-- the row's own, since a meeting booked ahead is never edited after it happens and so never
-- re-read by an incremental pull. Archived activities count; deleted ones never do. An
-- e-mail message (Enhanced Email) is no touchpoint itself (its e-mail task is): it is an
-- inbound e-mail, or an outbound one that can answer it. Its account is RelatedToId when that
-- is an account (prefix 001), else the account of the task that logs it (ActivityId).
with settings as (
    select * from staging.settings
),

tasks as (
    select * from staging.stg_salesforce__tasks
),

events as (
    select * from staging.stg_salesforce__events
),

email_messages as (
    select * from staging.stg_salesforce__email_messages
),

events_pulled as (
    select max(loaded_at) as pulled_at from events
),

-- The tasks that log an incoming e-mail: touchpoints, but no answer to anything.
inbound_tasks as (
    select distinct task_id
    from email_messages
    where is_incoming and task_id is not null
),

task_rows as (
    select
        prefixed_id('salesforce', tasks.task_id) as activity_id,
        case
            when lower(tasks.task_subtype) = 'call' then 'call'
            when lower(tasks.task_subtype) in ('email', 'listemail') then 'email'
            else 'todo'
        end as kind,
        inbound_tasks.task_id is not null as logs_inbound,
        tasks.call_type,
        tasks.account_id,
        tasks.owner_ref,
        coalesce(tasks.completed_at, timezone('UTC', tasks.activity_date::timestamp))
            as occurred_at,
        -- Setting values are matched in any case, as docs/configuration.md says.
        not tasks.is_deleted
            and tasks.is_closed
            and coalesce(list_contains(
                list_transform(settings.salesforce_touch_task_subtypes,
                               lambda v: lower(trim(v))),
                lower(trim(tasks.task_subtype))), false)
            and not coalesce(list_contains(
                list_transform(settings.salesforce_excluded_call_types,
                               lambda v: lower(trim(v))),
                lower(trim(tasks.call_type))), false)
            as is_touchpoint,
        tasks.is_deleted
    from tasks
    cross join settings
    left join inbound_tasks on inbound_tasks.task_id = tasks.task_id
),

tasks_typed as (
    select
        activity_id,
        kind,
        case
            when kind = 'call' and lower(call_type) = 'inbound' then 'inbound'
            when kind = 'call' and lower(call_type) = 'outbound' then 'outbound'
            when kind = 'email' and logs_inbound then 'inbound'
            when kind = 'email' then 'outbound'
        end as direction,
        account_id,
        owner_ref,
        occurred_at,
        is_touchpoint,
        false as is_inbound_email,
        not is_deleted
            and ((kind = 'email' and not logs_inbound) or (kind = 'call' and is_touchpoint))
            as is_outbound,
        is_deleted
    from task_rows
),

event_rows as (
    select
        prefixed_id('salesforce', events.event_id) as activity_id,
        'meeting' as kind,
        'outbound' as direction,
        events.account_id,
        events.owner_ref,
        case
            when events.is_all_day
                then timezone('UTC', events.activity_date::timestamp)
            else events.start_at
        end as occurred_at,
        events.is_deleted
    from events
),

events_typed as (
    select
        event_rows.activity_id,
        event_rows.kind,
        event_rows.direction,
        event_rows.account_id,
        event_rows.owner_ref,
        event_rows.occurred_at,
        coalesce(not event_rows.is_deleted
                 and event_rows.occurred_at <= events_pulled.pulled_at, false) as is_touchpoint,
        false as is_inbound_email,
        coalesce(not event_rows.is_deleted
                 and event_rows.occurred_at <= events_pulled.pulled_at, false) as is_outbound,
        event_rows.is_deleted
    from event_rows
    cross join events_pulled
),

messages_typed as (
    select
        prefixed_id('salesforce', email_messages.email_message_id) as activity_id,
        'email' as kind,
        case when email_messages.is_incoming then 'inbound' else 'outbound' end as direction,
        case
            when email_messages.related_to_ref like '001%'
                then prefixed_id('salesforce', email_messages.related_to_ref)
            else tasks.account_id
        end as account_id,
        tasks.owner_ref,
        coalesce(email_messages.message_at, email_messages.created_at) as occurred_at,
        false as is_touchpoint,
        email_messages.is_incoming and not email_messages.is_deleted as is_inbound_email,
        not email_messages.is_incoming and not email_messages.is_deleted as is_outbound,
        email_messages.is_deleted
    from email_messages
    left join tasks on tasks.task_id = email_messages.task_id
),

final as (
    select
        activity_id, 'salesforce' as source, kind, direction, account_id, owner_ref,
        occurred_at, is_touchpoint, is_inbound_email, is_outbound, is_deleted
    from tasks_typed
    union all
    select
        activity_id, 'salesforce', kind, direction, account_id, owner_ref,
        occurred_at, is_touchpoint, is_inbound_email, is_outbound, is_deleted
    from events_typed
    union all
    select
        activity_id, 'salesforce', kind, direction, account_id, owner_ref,
        occurred_at, is_touchpoint, is_inbound_email, is_outbound, is_deleted
    from messages_typed
)

select * from final
