-- Every id in the marts carries its source's prefix (docs/metrics.md, `marts.quarantine`):
-- `sf:` for Salesforce, `hs:` for HubSpot, the source's own name for the trackers (`toggl:`,
-- `clockify:`). The mapping is written here once, both ways.
create or replace macro id_prefix(source) as
    case source when 'salesforce' then 'sf:' when 'hubspot' then 'hs:' else source || ':' end;

create or replace macro prefixed_id(source, id) as
    id_prefix(source) || id;

create or replace macro id_source(prefixed) as
    case split_part(prefixed, ':', 1)
        when 'sf' then 'salesforce' when 'hs' then 'hubspot' else split_part(prefixed, ':', 1)
    end;
