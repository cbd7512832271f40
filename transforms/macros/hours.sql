-- Lengths of time are whole milliseconds (exact integers) until a mart reports them: hours are
-- made from them here, once (docs/metrics.md, Hours).
create or replace macro ms_to_hours(ms) as
    ms / 3600000.0;

-- A sum of doubles depends on the order DuckDB adds them in, which varies between runs: where
-- hours or FTEs that are already doubles are summed, they are summed as decimals (exact, in any
-- order), so a rebuild gives the same bits.
create or replace macro exact_sum(value) as
    cast(sum(cast(value as decimal(38, 10))) as double);

-- A period whose time entries were not all pulled (`partial`, docs/metrics.md, Periods) has no
-- hours: every column made from hours is NULL there, never a fraction shown as the whole.
create or replace macro if_hours_loaded(period_status, value) as
    case when period_status = 'partial' then null else value end;
