-- The retention formulas of docs/metrics.md (`marts.csm_period_metrics`), written once for every mart that reports them
-- (per CSM and for the team). s is ARR at period start; the movements are those of the accounts
-- that were customers then. Ratios are NULL, not errors, when s is zero.
create or replace macro net_retained_arr(s, expansion, contraction, churn) as
    cast(s + expansion - contraction - churn as decimal(18, 2));

create or replace macro nrr(s, expansion, contraction, churn) as
    cast(s + expansion - contraction - churn as double) / nullif(cast(s as double), 0);

create or replace macro grr(s, contraction, churn) as
    cast(s - contraction - churn as double) / nullif(cast(s as double), 0);

create or replace macro logo_retention(retained, at_start) as
    cast(retained as double) / nullif(at_start, 0);
