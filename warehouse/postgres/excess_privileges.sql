-- What a read-only BI role must not hold, one row per privilege it does hold, itself or through
-- a role it is a member of (warehouse/postgres/roles.py). Grain: one row per excess privilege
-- and the role that holds it.
-- `reachable` follows every chain of memberships from %(role)s in pg_auth_members, whatever
-- their INHERIT: a NOINHERIT member still runs SET ROLE, so a role the BI login can become is
-- checked as the login itself, and its rows name the chain (bi → analysts → admin).
with recursive reachable as (
    select oid, array[rolname::text] as chain
    from pg_catalog.pg_roles
    where rolname = %(role)s
    union all
    select members.roleid, reachable.chain || granted.rolname::text
    from reachable
    inner join pg_catalog.pg_auth_members as members on members.member = reachable.oid
    inner join pg_catalog.pg_roles as granted on granted.oid = members.roleid
    where not granted.rolname::text = any(reachable.chain)
),

roles as (
    select distinct on (reachable.oid)
        reachable.oid,
        pg_roles.rolname::text as rolname,
        pg_roles.rolsuper,
        pg_roles.rolcreaterole,
        pg_roles.rolcreatedb,
        pg_roles.rolreplication,
        pg_roles.rolbypassrls,
        -- The built-in pg_* roles (pg_read_server_files, pg_signal_backend, pg_read_all_data,
        -- ...): each gives more than reading the marts. Below FirstNormalObjectId (16384).
        reachable.oid < 16384 and pg_roles.rolname like 'pg\_%%' as predefined,
        case when cardinality(reachable.chain) > 1
            then ' (through membership ' || array_to_string(reachable.chain, ' → ') || ')'
            else '' end as via,
        case when cardinality(reachable.chain) > 2
            then ' (through membership ' || array_to_string(reachable.chain, ' → ') || ')'
            else '' end as member_via
    from reachable
    inner join pg_catalog.pg_roles on pg_roles.oid = reachable.oid
    order by reachable.oid, cardinality(reachable.chain)
),

-- A superuser may do anything: SUPERUSER alone says so (the rows below are left out for it).
served_schemas as (
    select oid, nspname
    from pg_catalog.pg_namespace
    where nspname in ('public', 'marts', %(building)s)
),

held as (
    select 'SUPERUSER' || via as privilege from roles where rolsuper
    union all
    select 'CREATEROLE' || via from roles where rolcreaterole
    union all
    select 'CREATEDB' || via from roles where rolcreatedb
    union all
    select 'REPLICATION' || via from roles where rolreplication
    union all
    select 'BYPASSRLS' || via from roles where rolbypassrls
    union all
    select 'membership in ' || rolname || member_via from roles where predefined
    union all
    select 'membership in the publisher''s role ' || rolname || member_via
    from roles
    where rolname = current_user
    union all
    select 'CREATE on database ' || current_database() || via
    from roles
    where not rolsuper
      and pg_catalog.has_database_privilege(roles.oid, current_database(), 'CREATE')
    union all
    select 'CREATE on schema ' || served_schemas.nspname || via
    from roles, served_schemas
    where not rolsuper and pg_catalog.has_schema_privilege(roles.oid, served_schemas.oid, 'CREATE')
    union all
    select 'write access to ' || tables.schemaname || '.' || tables.tablename || via
    from roles, pg_catalog.pg_tables as tables
    where not rolsuper and tables.schemaname in ('marts', %(building)s)
      and pg_catalog.has_table_privilege(
          roles.oid, pg_catalog.quote_ident(tables.schemaname) || '.'
          || pg_catalog.quote_ident(tables.tablename),
          'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
),

final as (
    select distinct privilege from held
)

select privilege from final order by privilege
