-- grain: one row per (inbound e-mail, account it is on), as intermediate.int_inbound_messages.
-- rule: the inbound e-mails with their owner and answer made once per build, for the engagement
-- models that each read them (docs/metrics.md, Engagement): only those received in the window of
-- the build's periods (its earliest start_instant to its latest end_instant), each with its
-- answer wherever it falls, since the build sets the period window (warehouse/marts.py).
with messages as (
    select * from intermediate.int_inbound_messages
),

final as (
    select * from messages
)

select * from final
