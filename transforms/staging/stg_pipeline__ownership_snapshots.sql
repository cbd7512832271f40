-- grain: one row per (source, account, day) the pipeline pulled the account.
-- rule: the pipeline's own daily ownership snapshots, used for accounts whose CRM keeps no owner
-- history (docs/metrics.md, "Ownership at an instant"); a snapshot holds from midnight UTC of its
-- day.
with source as (
    select * from raw.ownership_snapshots
),

final as (
    select
        prefixed_id(source, account_ref) as account_id,
        timezone('UTC', cast(snapshot_date as timestamp)) as snapshot_at,
        owner_ref
    from source
)

select * from final
