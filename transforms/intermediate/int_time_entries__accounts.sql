-- grain: one row per resolution key of the time entries (int_time_entries__keys), with the account
-- its hours are for.
-- rule: the account is, in order, a CRM account id written in the entry's tags, description,
-- project or client (`id`: `sf:...`, `hs:...` or a bare Salesforce id `001...`); the client's
-- name equal to an account's (`client_name`); the project's name equal to an account's
-- (`project_name`); the alias table, client name first (`alias`); else none (docs/metrics.md,
-- Hours). Names are compared folded.
-- Resolved once per key, not once per entry. Materialized: the keys are read twice (ids, then
-- joined back), and numbered once.
with entries as materialized (
    select * from intermediate.int_time_entries__keys
),

accounts as (
    select * from intermediate.int_accounts__unified
),

names as (
    select * from intermediate.int_accounts__by_name
),

id_refs as (
    select
        key_id,
        unnest(regexp_extract_all(
            concat_ws(' ', description, project_name, client_name, array_to_string(tags, ' ')),
            '(?i)\b(?:sf:[a-z0-9]{15,18}|hs:[0-9]+|001[a-z0-9]{15})\b'
        )) as ref
    from entries
),

id_matches as (
    select id_refs.key_id, min(accounts.account_id) as account_id
    from id_refs
    inner join accounts
        on lower(accounts.account_id) = lower(
            case when id_refs.ref ilike '001%' then prefixed_id('salesforce', id_refs.ref)
                else id_refs.ref end)
    group by id_refs.key_id
),

final as (
    select
        entries.*,
        coalesce(id_matches.account_id, by_client.named_account_id,
                 by_project.named_account_id, by_client.aliased_account_id,
                 by_project.aliased_account_id) as account_id,
        case
            when id_matches.account_id is not null then 'id'
            when by_client.named_account_id is not null then 'client_name'
            when by_project.named_account_id is not null then 'project_name'
            when coalesce(by_client.aliased_account_id, by_project.aliased_account_id)
                is not null then 'alias'
        end as account_match
    from entries
    left join id_matches on id_matches.key_id = entries.key_id
    left join names as by_client on by_client.name_key = entries.client_key
    left join names as by_project on by_project.name_key = entries.project_key
)

select * from final
