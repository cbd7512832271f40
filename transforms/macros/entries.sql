-- The longest time entry that counts: a longer one is rejected (docs/metrics.md, Hours). A
-- marts build widens its window of entries by it (below).
create or replace macro max_entry_length() as
    interval 24 hour;

-- The entry window of a marts build (docs/performance.md, Incremental marts): while its working
-- models run, warehouse/marts.py sets `entry_window_from` and `entry_window_to` (the earliest
-- period start less max_entry_length(), the latest period end), so the time-entry models read
-- from the typed staging tables only the entries that can overlap the periods rebuilt. Unset
-- (every other reader), every entry is in. The variables are constants when a query is bound,
-- so the filter reaches the staging scans.
create or replace macro in_entry_window(start_at) as
    getvariable('entry_window_from') is null
    or (start_at >= getvariable('entry_window_from') and start_at < getvariable('entry_window_to'));

-- Why a time entry cannot be hours, or null when it can (docs/metrics.md, Hours): the one rule,
-- read by int_time_entries__unified and by the quarantine (which needs no account or activity).
-- The length is the time elapsed, in microseconds: subtracting two instants would give a
-- calendar interval in the session's time zone (a day across a DST change, 3 million times per
-- quarantine, twenty times slower).
create or replace macro entry_reject_reason(start_at, stop_at) as
    case
        when start_at is null then 'no readable start'
        when stop_at is null then null
        when stop_at <= start_at then 'zero or negative length'
        when epoch_us(stop_at) - epoch_us(start_at) > epoch_us(max_entry_length())
            then 'longer than 24 hours'
    end;

-- A time entry's resolution key (docs/architecture.md, Hours as a cube): every rule that places
-- its hours reads only these fields. Typed staging carries its hash (`key_hash`, computed when a
-- record is typed); int_time_entries__keyed builds the key itself beside it.
create or replace macro entry_key(source, user_id, project_id, tag_ids, description,
                                  entry_type) as
    {'source': source, 'user_id': user_id, 'project_id': project_id, 'tag_ids': tag_ids,
     'description': description, 'entry_type': entry_type};

-- Whether two rows carry the same resolution key (docs/architecture.md, Hours as a cube): the
-- hash finds the candidates, the key itself decides, so two keys whose hashes collide never
-- merge. Used as a join condition between rows passed by their aliases.
create or replace macro same_key(a, b) as
    a.key_hash = b.key_hash and a.entry_key = b.entry_key;

-- Whether an entry [start_at, stop_at) overlaps the interval [from_instant, to_instant), and
-- the milliseconds it spends inside it: an entry across an edge counts only its part inside
-- (docs/metrics.md, Hours). Milliseconds add up, so months sum to quarters and years.
create or replace macro overlaps_interval(start_at, stop_at, from_instant, to_instant) as
    start_at < to_instant and stop_at > from_instant;

create or replace macro ms_inside(start_at, stop_at, from_instant, to_instant) as
    date_diff('millisecond', greatest(start_at, from_instant), least(stop_at, to_instant));
