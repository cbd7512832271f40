-- Lengths of time are whole milliseconds (exact integers) until a mart reports them: hours are
-- made from them here, once (docs/metrics.md, Hours).
create or replace macro ms_to_hours(ms) as
    ms / 3600000.0;

-- A sum of doubles depends on the order DuckDB adds them in, which varies between runs: where
-- hours or FTEs that are already doubles are summed, they are summed as decimals (exact, in any
-- order), so a rebuild gives the same bits.
create or replace macro exact_sum(value) as
    cast(sum(cast(value as decimal(38, 10))) as double);
