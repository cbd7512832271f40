-- The joins on time that many models make, written once (docs/architecture.md, Transform layer).

-- The instant a reporting-calendar day begins: its 00:00 in the reporting time zone
-- (docs/metrics.md, Periods). A date column becomes an instant only through this.
create or replace macro local_midnight(day, time_zone) as
    timezone(time_zone, cast(day as timestamp));

-- Whether an ownership interval (a row of intermediate.int_ownership__intervals, passed by its
-- alias) holds `account` at `instant`: intervals are half-open, [valid_from, valid_to), so one
-- owner at most answers (docs/metrics.md, "Ownership at an instant"). Used as the condition of a left join; the
-- owner is then `coalesce(<alias>.csm_id, 'unassigned')`. DuckDB expands it into the same
-- equality-plus-range hash join as the three conditions written out.
create or replace macro owned_at(interval_row, account, instant) as
    interval_row.account_id = account
    and interval_row.valid_from <= instant
    and instant < interval_row.valid_to;

-- Whether `instant` falls in a period (a row of wrk_periods, passed by its alias): in
-- [start_instant, end_instant), at every grain, so a quarter counts its own instants, not its
-- months' figures (docs/metrics.md, Periods).
create or replace macro in_period(period_row, instant) as
    period_row.start_instant <= instant and instant < period_row.end_instant;

-- Whether the month starting `month` is one of a period's months (a row of wrk_periods, passed by
-- its alias): every period is whole months, [period_start, period_end), so what is counted per
-- month adds up to the period by this join (docs/metrics.md, Periods).
create or replace macro month_of(period_row, month) as
    period_row.period_start <= month and month < period_row.period_end;

-- The window of the periods a marts build replaces (docs/performance.md, Incremental marts):
-- while its working models run, warehouse/marts.py sets `period_window_from` and
-- `period_window_to` to the earliest start_instant and the latest end_instant of wrk_periods, so
-- a model whose rows count in the period holding one of their instants reads only the rows some
-- period of the build can hold. Unset (every other reader), every instant is in. The variables
-- are constants when a query is bound, so the filter reaches the scans.
create or replace macro in_period_window(instant) as
    getvariable('period_window_from') is null
    or (instant >= getvariable('period_window_from')
        and instant < getvariable('period_window_to'));

-- Whether `instant` can follow one of the window's instants (an answer to an e-mail received in
-- it may come after the window ends): at or after the window's start; every instant when unset.
create or replace macro not_before_period_window(instant) as
    getvariable('period_window_from') is null or instant >= getvariable('period_window_from');
