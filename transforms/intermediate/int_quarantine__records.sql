-- grain: one row per record rejected anywhere in the pipeline, with its reason.
-- rule: nothing is dropped silently: records the loader could not key, deals that cannot be
-- revenue, time entries that cannot be hours, and survey responses whose score is not one
-- (docs/metrics.md, `marts.quarantine`, "NPS and CSAT"). Ids carry the source's prefix, as every
-- id in the marts does (sf:, hs:, toggl:, clockify:); a record with no id at all has a null
-- record_id and is kept whole in raw.quarantine.
with landed as (
    select * from raw.quarantine
),

deals as (
    select * from intermediate.int_revenue__won_deals where reject_reason is not null
),

-- The reject rule needs only an entry's instants, so they are read straight from the typed
-- staging tables, every entry of history (int_time_entries__named would first copy every
-- entry's every column, since it reads them twice).
time_entries as (
    select source, entry_id, start_at, stop_at from staging.stg_toggl__time_entries
    union all
    select source, entry_id, start_at, stop_at from staging.stg_clockify__time_entries
),

entries as (
    select source, entry_id, entry_reject_reason(start_at, stop_at) as reject_reason
    from time_entries
    where entry_reject_reason(start_at, stop_at) is not null
),

feedback as (
    select * from intermediate.int_feedback__responses where reject_reason is not null
),

final as (
    select
        source, stream,
        prefixed_id(source, record_id) as record_id,
        reason, seen_at
    from landed
    union all
    select source, 'deals', deal_id, reject_reason, null from deals
    union all
    select source, 'time_entries', entry_id, reject_reason, null from entries
    union all
    select source, 'feedback', response_id, reject_reason, null from feedback
)

select * from final
