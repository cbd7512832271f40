-- What a read-only BI role must not hold, one row per privilege it does hold
-- (warehouse/postgres/roles.py). Grain: one row per excess privilege of role %(role)s.
-- Memberships are checked through every chain of grants (pg_has_role ... 'MEMBER'), so a role
-- that could SET ROLE to a powerful one is as refused as the powerful one itself.
with role as (
    select oid, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
    from pg_catalog.pg_roles
    where rolname = %(role)s
),

server_roles as (
    select rolname
    from pg_catalog.pg_roles
    where rolname in ('pg_read_server_files', 'pg_write_server_files',
                      'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data')
),

served_schemas as (
    select oid, nspname
    from pg_catalog.pg_namespace
    where nspname in ('public', 'marts', %(building)s)
),

held as (
    select 'SUPERUSER' as privilege from role where rolsuper
    union all
    select 'CREATEROLE' from role where rolcreaterole
    union all
    select 'CREATEDB' from role where rolcreatedb
    union all
    select 'REPLICATION' from role where rolreplication
    union all
    select 'BYPASSRLS' from role where rolbypassrls
    union all
    select 'membership in ' || server_roles.rolname
    from role, server_roles
    where pg_catalog.pg_has_role(role.oid, server_roles.rolname, 'MEMBER')
    union all
    select 'membership in the publisher''s role ' || current_user
    from role
    where pg_catalog.pg_has_role(role.oid, current_user, 'MEMBER')
    union all
    select 'CREATE on database ' || current_database()
    from role
    where pg_catalog.has_database_privilege(role.oid, current_database(), 'CREATE')
    union all
    select 'CREATE on schema ' || served_schemas.nspname
    from role, served_schemas
    where pg_catalog.has_schema_privilege(role.oid, served_schemas.oid, 'CREATE')
    union all
    select 'write access to ' || tables.schemaname || '.' || tables.tablename
    from role, pg_catalog.pg_tables as tables
    where tables.schemaname in ('marts', %(building)s)
      and pg_catalog.has_table_privilege(
          role.oid, pg_catalog.quote_ident(tables.schemaname) || '.'
          || pg_catalog.quote_ident(tables.tablename),
          'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
),

final as (
    select privilege from held
)

select privilege from final
