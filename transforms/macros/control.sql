-- The XmR chart of docs/metrics.md (`marts.kpi_control`), written once over any series: the
-- relation named by `series` has columns (kpi, scope, period_start, value, lower_bound,
-- upper_bound), one row per point, months as the points; the bounds are what the KPI can take
-- (NULL: unbounded on that side). A point's limits come only from the months before it: `centre`
-- and `mr_bar` are the mean and the mean moving range of the series' non-NULL values in the
-- `baseline_months` months before the point (moving ranges between consecutive non-NULL values
-- both inside that window); fewer than `min_points` such values give NULL limits. `unpl` and
-- `lnpl` are clipped to the bounds, since a limit past what the KPI can take means nothing.
-- Signals (Western Electric rules, over the series' non-NULL values in order, each against its
-- own centre and sigma = mr_bar / 1.128): `beyond_limits`; `run_of_8` (this and the 7 values
-- before it on the same side of their centres, none on it); `two_of_three_beyond_2sigma` and
-- `four_of_five_beyond_1sigma` (this value beyond 2 or 1 sigma, and with it at least 2 of the
-- last 3, or 4 of the last 5, values beyond 2 or 1 sigma on the same side). A signal is NULL
-- where the limits are or the value is, else TRUE or FALSE.
create or replace macro control_chart(series, baseline_months, min_points) as table
with points as (
    select
        kpi,
        scope,
        cast(period_start as date) as period_start,
        cast(value as double) as value,
        cast(lower_bound as double) as lower_bound,
        cast(upper_bound as double) as upper_bound
    from query_table(series)
),

valued as (
    select
        kpi,
        scope,
        period_start,
        value,
        lag(period_start) over ordered as previous_start,
        abs(value - lag(value) over ordered) as moving_range
    from points
    where value is not null
    window ordered as (partition by kpi, scope order by period_start)
),

baselines as (
    select
        points.kpi,
        points.scope,
        points.period_start,
        count(valued.value) as baseline_points,
        -- Means of doubles as decimals: exact in any order, so a rebuild gives the same bits.
        cast(avg(cast(valued.value as decimal(38, 10))) as double) as centre,
        cast(avg(cast(valued.moving_range as decimal(38, 10))) filter (
            where valued.previous_start >= points.period_start - to_months(baseline_months))
            as double) as mr_bar
    from points
    left join valued
        on valued.kpi = points.kpi and valued.scope = points.scope
        and valued.period_start < points.period_start
        and valued.period_start >= points.period_start - to_months(baseline_months)
    group by all
),

limits as (
    select
        points.kpi,
        points.scope,
        points.period_start,
        points.value,
        points.lower_bound,
        points.upper_bound,
        baselines.baseline_points,
        if(baselines.baseline_points >= min_points, baselines.centre, null) as centre,
        if(baselines.baseline_points >= min_points, baselines.mr_bar, null) as mr_bar
    from points
    inner join baselines using (kpi, scope, period_start)
),

zoned as (
    select
        *,
        mr_bar / 1.128 as sigma,
        sign(value - centre) as side,
        value > centre + 2 * mr_bar / 1.128 as above_2sigma,
        value < centre - 2 * mr_bar / 1.128 as below_2sigma,
        value > centre + mr_bar / 1.128 as above_1sigma,
        value < centre - mr_bar / 1.128 as below_1sigma
    from limits
),

-- The natural process limits, clipped to the KPI's bounds (a comparison with a NULL bound is
-- NULL, so an unbounded side keeps its limit).
clipped as (
    select
        *,
        case when centre + 2.66 * mr_bar > upper_bound then upper_bound
             else centre + 2.66 * mr_bar end as unpl,
        case when centre - 2.66 * mr_bar < lower_bound then lower_bound
             else centre - 2.66 * mr_bar end as lnpl
    from zoned
),

runs as (
    select
        kpi,
        scope,
        period_start,
        count(*) over last_8 = 8 and (min(coalesce(side, 0)) over last_8 = 1
                                      or max(coalesce(side, 0)) over last_8 = -1) as run_of_8,
        (above_2sigma and sum(coalesce(above_2sigma, false)::int) over last_3 >= 2)
            or (below_2sigma and sum(coalesce(below_2sigma, false)::int) over last_3 >= 2)
            as two_of_three_beyond_2sigma,
        (above_1sigma and sum(coalesce(above_1sigma, false)::int) over last_5 >= 4)
            or (below_1sigma and sum(coalesce(below_1sigma, false)::int) over last_5 >= 4)
            as four_of_five_beyond_1sigma
    from zoned
    where value is not null
    window
        last_8 as (partition by kpi, scope order by period_start
                   rows between 7 preceding and current row),
        last_3 as (partition by kpi, scope order by period_start
                   rows between 2 preceding and current row),
        last_5 as (partition by kpi, scope order by period_start
                   rows between 4 preceding and current row)
)

select
    clipped.kpi,
    clipped.scope,
    clipped.period_start,
    clipped.value,
    clipped.baseline_points,
    clipped.centre,
    clipped.mr_bar,
    clipped.sigma,
    clipped.unpl,
    clipped.lnpl,
    if(clipped.centre is null or clipped.value is null, null,
       clipped.value > clipped.unpl or clipped.value < clipped.lnpl) as beyond_limits,
    if(clipped.centre is null or clipped.value is null, null, coalesce(runs.run_of_8, false))
        as run_of_8,
    if(clipped.centre is null or clipped.value is null, null,
       coalesce(runs.two_of_three_beyond_2sigma, false)) as two_of_three_beyond_2sigma,
    if(clipped.centre is null or clipped.value is null, null,
       coalesce(runs.four_of_five_beyond_1sigma, false)) as four_of_five_beyond_1sigma
from clipped
left join runs using (kpi, scope, period_start);
