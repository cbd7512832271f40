-- Lengths of time are whole milliseconds (exact integers) until a mart reports them: hours are
-- made from them here, once (docs/metrics.md, Hours).
create or replace macro ms_to_hours(ms) as
    ms / 3600000.0;
