-- What dropping the served schema %(schema)s takes with it besides the marts the publish
-- replaces (warehouse/postgres/publishing.py): users' views over the marts (in looker_scratch
-- or anywhere, and views over those), other objects that depend on a mart (a foreign key, a
-- function body), and anything else created in the schema. Grain: one row per object.
with recursive served as (
    select oid
    from pg_catalog.pg_namespace
    where nspname = %(schema)s
),

marts as (
    select tables.oid
    from pg_catalog.pg_class as tables
    inner join served on served.oid = tables.relnamespace
    where tables.relkind = 'r' and tables.relname = any(%(tables)s)
),

-- Relations that go: every one in the schema, and every view over one that goes.
going (oid) as (
    select relations.oid
    from pg_catalog.pg_class as relations
    inner join served on served.oid = relations.relnamespace
    union
    select rules.ev_class
    from going
    inner join pg_catalog.pg_depend as depends
        on depends.refclassid = 'pg_catalog.pg_class'::regclass
        and depends.refobjid = going.oid
        and depends.classid = 'pg_catalog.pg_rewrite'::regclass
        and depends.deptype = 'n'
    inner join pg_catalog.pg_rewrite as rules on rules.oid = depends.objid
),

relations as (
    select
        case relations.relkind
            when 'v' then 'view ' when 'm' then 'materialized view '
            when 'f' then 'foreign table ' when 'S' then 'sequence ' else 'table '
        end || relations.oid::regclass::text
        || ' (owner ' || pg_catalog.pg_get_userbyid(relations.relowner) || ')' as dropped
    from going
    inner join pg_catalog.pg_class as relations on relations.oid = going.oid
    where relations.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
      and relations.oid not in (select oid from marts)
),

-- Other objects that depend on a mart and go with it: a foreign key, a function's body.
others as (
    select pg_catalog.pg_describe_object(depends.classid, depends.objid, depends.objsubid)
        as dropped
    from pg_catalog.pg_depend as depends
    inner join marts on marts.oid = depends.refobjid
    where depends.refclassid = 'pg_catalog.pg_class'::regclass
      and depends.classid <> 'pg_catalog.pg_rewrite'::regclass
      and depends.deptype = 'n'
),

final as (
    select dropped from relations
    union
    select dropped from others
)

select dropped from final order by dropped
