-- grain: one row per member of the CSM population.
-- rule: the CSM population is everyone who owned an account at any instant the pipeline knows
-- of (METRICS.md 2); tracker users outside it are not CSMs. The name prefers the CRM's.
with ownership as (
    select * from intermediate.int_ownership__intervals
),

identities as (
    select * from intermediate.int_people__identities
),

owners as (
    select distinct csm_id from ownership where csm_id <> 'unassigned'
),

final as (
    select
        owners.csm_id,
        coalesce(
            min(identities.name) filter (where identities.system in ('salesforce', 'hubspot')),
            min(identities.name),
            owners.csm_id
        ) as csm_name
    from owners
    left join identities on identities.csm_id = owners.csm_id
    group by owners.csm_id
)

select * from final
