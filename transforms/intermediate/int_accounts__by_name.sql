-- grain: one row per folded name that names an account.
-- rule: a name names the account whose own folded name it is (deleted accounts excepted; the
-- lowest id when several share it), and separately the account the alias table maps it to
-- (docs/metrics.md, Hours). Time entries look their client's and project's names up here.
with accounts as (
    select * from intermediate.int_accounts__unified
),

aliases as (
    select * from staging.account_aliases
),

by_name as (
    select name_key, min(account_id) as account_id
    from accounts
    where not is_deleted
    group by name_key
),

by_alias as (
    select fold_name(aliases.name) as name_key, min(accounts.account_id) as account_id
    from aliases
    inner join accounts on accounts.account_id = aliases.account_id
    group by 1
),

final as (
    select
        name_key,
        by_name.account_id as named_account_id,
        by_alias.account_id as aliased_account_id
    from by_name
    full outer join by_alias using (name_key)
    where name_key is not null
)

select * from final
