-- grain: one row per closed deal (won or lost) from either CRM, deleted ones left out.
-- rule: won is as for revenue (Salesforce IsWon; HubSpot a stage whose metadata says closed and
-- won); lost is closed and not won (HubSpot: a closed stage that is not won). A deal is
-- CSM-sourced, under `csm_sourced_rule = 'source_field'`, when its source value, trimmed, is one
-- of `csm_sourced_values` in any case; under `creator_is_owner`, when the person who created it
-- (Salesforce CreatedById; HubSpot hs_created_by_user_id, a user id mapped to an owner through
-- the owners' userId) owned its account at the instant it was created. The loss reason is
-- trimmed, NULL when empty (docs/metrics.md, "Expansion sourcing", "Churn reasons").
with settings as (
    select * from staging.settings
),

salesforce as (
    select * from staging.stg_salesforce__opportunities
),

hubspot as (
    select * from staging.stg_hubspot__deals
),

stages as (
    select * from staging.stg_hubspot__deal_stages
),

owners as (
    select * from staging.stg_hubspot__owners
),

-- One owner per user id (an archived duplicate of the same user is the same person).
owner_users as (
    select user_id, min(owner_id) as owner_id
    from owners
    where user_id is not null
    group by user_id
),

identities as (
    select * from intermediate.int_people__identities
),

ownership as (
    select * from intermediate.int_ownership__intervals
),

deals as (
    select
        deal_id, source, account_id, close_date, created_at, is_won,
        coalesce(is_closed, false) and not is_won as is_lost,
        source_value, created_by_ref as creator_ref, loss_reason
    from salesforce
    where not is_deleted and (is_won or coalesce(is_closed, false))
    union all
    select
        hubspot.deal_id, hubspot.source, hubspot.account_id, hubspot.close_date,
        hubspot.created_at, stages.is_closed_won,
        not stages.is_closed_won,
        hubspot.source_value,
        -- hs_created_by_user_id is a user id; identities know owners by their owner id.
        owner_users.owner_id, hubspot.loss_reason
    from hubspot
    inner join stages
        on stages.pipeline_id = hubspot.pipeline_id and stages.stage_id = hubspot.stage_id
    left join owner_users on owner_users.user_id = hubspot.created_by_ref
    where not hubspot.is_deleted and stages.is_closed
),

creators as (
    select
        deals.deal_id,
        identities.csm_id as creator_id,
        ownership.csm_id as owner_at_creation
    from deals
    left join identities
        on identities.system = deals.source and identities.ref = deals.creator_ref
    left join ownership on owned_at(ownership, deals.account_id, deals.created_at)
),

final as (
    select
        deals.deal_id,
        deals.source,
        deals.account_id,
        deals.close_date,
        deals.created_at,
        deals.is_won,
        deals.is_lost,
        nullif(trim(deals.source_value), '') as source_value,
        creators.creator_id,
        coalesce(case settings.csm_sourced_rule
            when 'creator_is_owner' then creators.creator_id = creators.owner_at_creation
            else list_contains(list_transform(settings.csm_sourced_values,
                                              lambda v: lower(trim(v))),
                               lower(trim(deals.source_value)))
        end, false) as is_csm_sourced,
        nullif(trim(deals.loss_reason), '') as loss_reason
    from deals
    cross join settings
    left join creators on creators.deal_id = deals.deal_id
)

select * from final
