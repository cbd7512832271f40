-- grain: one row per (period_grain, period_start, segment) for every configured segment, every
-- segment of the planned book and `unsegmented` when a customer falls below every segment's
-- lower bound, plus the row `segment = 'all'`.
-- rule: customers are the accounts with ARR at period end, in their segment at period end
-- (marts.account_period_metrics); account_hours are all CSMs' hours on them in the period;
-- hours_per_customer is the service level delivered. fte_needed = account_hours /
-- (one FTE's working hours in the period x target_account_share). On `all` only: the team's
-- capacity_hours and fte_available, over the team: everyone on the roster, and every other
-- member of the CSM population with a row in marts.csm_period_metrics for the period (a book
-- or hours; the CRM gives no dates for them). FTE and capacity come from the same model as
-- csm_period_metrics (wrk_csm_capacity): FTE prorated by the days employed where a roster
-- start or end date falls inside the period, capacity less leave. With a planned book,
-- fte_needed_planned = planned customers x hours_per_customer_12m / (one FTE's working hours
-- x target_account_share), hours_per_customer_12m being the segment's account hours over the
-- customer-months of the 12 month rows ending at period end, times the period's months
-- (docs/metrics.md, `marts.capacity_plan`). Months not built yet count as no history. A period
-- not over counts one FTE's weekdays up to `as_of`; a `partial` one has no hours, so no FTE
-- needed (docs/metrics.md, Periods). Month, quarter and year rows (no `ttm`).
with periods as (
    select * from wrk_periods
    where period_grain <> 'ttm'
),

capacity as (
    select * from wrk_csm_capacity
),

account_metrics as (
    select * from marts.account_period_metrics
),

people_metrics as (
    select * from marts.csm_period_metrics
    semi join wrk_periods using (period_grain, period_start)
),

roster as (
    select * from staging.roster
),

segments as (
    select * from staging.segments
),

planned_book as (
    select * from staging.planned_book
),

settings as (
    select * from staging.settings
),

-- This build's customers at period end, by their segment then.
customers as (
    select
        period_grain,
        period_start,
        coalesce(segment, 'unsegmented') as segment,
        count(*) as customers,
        exact_sum(hours_all_csms) as account_hours
    from account_metrics
    semi join wrk_periods using (period_grain, period_start)
    where ending_arr > 0
    group by all
),

-- The service level of the 12 months ending at each period's end, by segment.
history as (
    select
        periods.period_grain,
        periods.period_start,
        coalesce(account_metrics.segment, 'unsegmented') as segment,
        count(*) as customer_months,
        exact_sum(account_metrics.hours_all_csms) as account_hours
    from periods
    inner join account_metrics
        on account_metrics.period_grain = 'month'
        and account_metrics.period_start >= periods.period_end - interval 12 month
        and account_metrics.period_start < periods.period_end
        and account_metrics.ending_arr > 0
    group by all
),

segment_names as (
    select segment from segments
    union
    select segment from planned_book
),

segment_rows as (
    select periods.period_grain, periods.period_start, segment_names.segment
    from periods
    cross join segment_names
    union
    select period_grain, period_start, segment from customers
),

one_fte as (
    select
        periods.period_grain,
        periods.period_start,
        periods.months,
        settings.working_hours_per_weekday * len(list_filter(
            generate_series(cast(periods.period_start as timestamp),
                            cast(periods.elapsed_end as timestamp) - interval 1 day,
                            interval 1 day),
            lambda day: isodow(day) <= 5)) * settings.target_account_share as account_hours
    from periods
    cross join settings
),

by_segment as (
    select
        segment_rows.period_grain,
        segment_rows.period_start,
        segment_rows.segment,
        cast(coalesce(customers.customers, 0) as bigint) as customers,
        coalesce(customers.account_hours, 0) as account_hours,
        cast(planned_book.customers as bigint) as planned_customers,
        history.account_hours / history.customer_months * one_fte.months
            as hours_per_customer_12m,
        one_fte.account_hours as fte_account_hours
    from segment_rows
    inner join one_fte using (period_grain, period_start)
    left join customers using (period_grain, period_start, segment)
    left join history using (period_grain, period_start, segment)
    left join planned_book using (segment)
),

team as (
    select
        capacity.period_grain,
        capacity.period_start,
        exact_sum(coalesce(people_metrics.capacity_hours, capacity.base_capacity_hours))
            as capacity_hours,
        exact_sum(capacity.fte_employed) as fte_available
    from capacity
    left join people_metrics using (period_grain, period_start, csm_id)
    where people_metrics.csm_id is not null or capacity.csm_id in (select email from roster)
    group by all
),

segment_plan as (
    select
        *,
        planned_customers * hours_per_customer_12m / nullif(fte_account_hours, 0)
            as fte_needed_planned
    from by_segment
),

all_plan as (
    select
        segment_plan.period_grain,
        segment_plan.period_start,
        cast(sum(segment_plan.customers) as bigint) as customers,
        exact_sum(segment_plan.account_hours) as account_hours,
        -- Any planned customers in a segment with no history: the plan cannot be costed.
        if(count(*) filter (where segment_plan.planned_customers > 0
                                  and segment_plan.hours_per_customer_12m is null) > 0,
           null, cast(sum(segment_plan.planned_customers) as bigint)) as planned_customers,
        if(count(*) filter (where segment_plan.planned_customers > 0
                                  and segment_plan.hours_per_customer_12m is null) > 0,
           null, exact_sum(segment_plan.fte_needed_planned)) as fte_needed_planned,
        any_value(segment_plan.fte_account_hours) as fte_account_hours
    from segment_plan
    group by all
),

all_trailing as (
    select
        period_grain,
        period_start,
        exact_sum(account_hours) / sum(customer_months) as hours_per_customer_month
    from history
    group by all
),

plan_rows as (
    select
        period_grain,
        period_start,
        segment,
        customers,
        account_hours,
        null::double as capacity_hours,
        null::double as fte_available,
        planned_customers,
        hours_per_customer_12m,
        fte_account_hours,
        fte_needed_planned
    from segment_plan
    union all
    select
        all_plan.period_grain,
        all_plan.period_start,
        'all',
        all_plan.customers,
        all_plan.account_hours,
        coalesce(team.capacity_hours, 0),
        coalesce(team.fte_available, 0),
        all_plan.planned_customers,
        all_trailing.hours_per_customer_month * one_fte.months,
        all_plan.fte_account_hours,
        all_plan.fte_needed_planned
    from all_plan
    inner join one_fte using (period_grain, period_start)
    left join team using (period_grain, period_start)
    left join all_trailing using (period_grain, period_start)
),

final as (
    select
        plan_rows.period_grain,
        plan_rows.period_start,
        periods.period_end,
        periods.period_status,
        periods.months_with_hours,
        plan_rows.segment,
        plan_rows.customers,
        if_hours_loaded(periods.period_status, plan_rows.account_hours) as account_hours,
        if_hours_loaded(periods.period_status,
                        plan_rows.account_hours / nullif(plan_rows.customers, 0))
            as hours_per_customer,
        if_hours_loaded(periods.period_status, plan_rows.capacity_hours) as capacity_hours,
        plan_rows.fte_available,
        if_hours_loaded(periods.period_status,
                        plan_rows.account_hours / nullif(plan_rows.fte_account_hours, 0))
            as fte_needed,
        if_hours_loaded(periods.period_status, plan_rows.fte_available
                        - plan_rows.account_hours / nullif(plan_rows.fte_account_hours, 0))
            as fte_headroom,
        plan_rows.planned_customers,
        plan_rows.hours_per_customer_12m,
        plan_rows.fte_needed_planned
    from plan_rows
    inner join periods using (period_grain, period_start)
)

select * from final
