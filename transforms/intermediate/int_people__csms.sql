-- grain: one row per member of the CSM population.
-- rule: the CSM population is everyone who owned an account at any instant the pipeline knows
-- of, plus the roster (docs/metrics.md, "Who is a CSM"); tracker users outside it are not CSMs. The
-- name is the roster's, else the CRM's, else the tracker's. Per-person cost, FTE and dates come
-- from the roster, else the settings' defaults.
with ownership as (
    select * from intermediate.int_ownership__intervals
),

identities as (
    select * from intermediate.int_people__identities
),

roster as (
    select * from staging.roster
),

settings as (
    select * from staging.settings
),

members as (
    select csm_id from ownership where csm_id <> 'unassigned'
    union
    select email from roster
),

names as (
    select
        csm_id,
        coalesce(
            min(name) filter (where system in ('salesforce', 'hubspot')),
            min(name)
        ) as identity_name
    from identities
    group by csm_id
),

final as (
    select
        members.csm_id,
        coalesce(roster.name, names.identity_name, members.csm_id) as csm_name,
        coalesce(roster.annual_cost, settings.default_annual_cost) as annual_cost,
        coalesce(roster.fte, settings.default_fte) as fte,
        roster.start_date,
        roster.end_date
    from members
    cross join settings
    left join names on names.csm_id = members.csm_id
    left join roster on roster.email = members.csm_id
)

select * from final
