-- HubSpot sends instants as strings, ISO-8601 text or epoch milliseconds (`hs_timestamp` may be
-- either, docs/connectors.md); both read as one instant here, anything else as NULL.
create or replace macro hs_instant(text) as
    coalesce(
        try_cast(text as timestamptz),
        case when regexp_full_match(trim(text), '[0-9]{10,16}')
            then to_timestamp(cast(trim(text) as bigint) / 1000.0) end);

-- The distinct ids of a HubSpot record's `associations.<name>.results` (the list repeats one
-- company under several association types), lowest (numerically: HubSpot ids are numbers) first.
create or replace macro hs_linked_ids(record, name) as
    list_transform(
        list_sort(list_distinct(list_transform(
            coalesce(from_json(json_extract(record, '$.associations.' || name || '.results'),
                               '[{"id": "VARCHAR"}]'), []),
            lambda link: try_cast(link.id as hugeint)))),
        lambda id: cast(id as varchar));
