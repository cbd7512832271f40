-- grain: one row per (period, scope, scope_key): scope `csm` per person with a starting or an
-- ending book (scope_key the person, `unassigned` for accounts without an owner); scope `team`,
-- scope_key NULL, for every period.
-- rule: the starting book is the accounts owned at period start that were customers then (ARR >
-- 0), the ending book those owned at period end that are customers then; the team's books are
-- every customer's. Expansion, contraction and churn belong to the starting book, new and
-- reactivation to the ending book, so the people's movements (unassigned included) add up to the
-- team's and e = s + new + reactivation + expansion - contraction - churn holds for every scope.
-- NRR, GRR and logo retention are taken over the scope's own starting book, NULL when it is
-- empty (docs/metrics.md, ARR movements; `marts.csm_period_metrics`; `marts.team_period_metrics`).
-- One set of formulas for every scope, grouped once (grouping sets); the scope column, not a
-- NULL key, says which grouping a row is.
with periods as (
    select * from wrk_periods
),

account_periods as (
    select * from wrk_account_periods
),

-- Each account once in each book it is in: at start with its owner then, at end with its owner
-- then.
books as (
    select
        account_periods.*,
        side.at_start,
        case when side.at_start then account_periods.owner_at_start
            else account_periods.owner_at_end end as csm_id
    from account_periods
    cross join (values (true), (false)) as side(at_start)
    where (side.at_start and account_periods.starting_arr > 0)
        or (not side.at_start and account_periods.ending_arr > 0)
),

counted as (
    select
        period_grain,
        period_start,
        case when grouping(books.csm_id) = 0 then 'csm' else 'team' end as scope,
        case when grouping(books.csm_id) = 0 then books.csm_id end as scope_key,
        count(books.account_id) as book_rows,
        count(distinct books.csm_id) filter (
            where not books.at_start and books.csm_id <> 'unassigned') as owners_at_end,
        count(*) filter (where not books.at_start) as accounts_at_end,
        coalesce(sum(books.ending_arr) filter (where not books.at_start), 0) as arr_at_end,
        count(*) filter (where books.at_start) as accounts_at_start,
        coalesce(sum(books.starting_arr) filter (where books.at_start), 0) as starting_arr,
        coalesce(sum(books.new_arr) filter (where not books.at_start), 0) as new_arr,
        coalesce(sum(books.reactivation_arr) filter (where not books.at_start), 0)
            as reactivation_arr,
        coalesce(sum(books.expansion_arr) filter (where books.at_start), 0) as expansion_arr,
        coalesce(sum(books.contraction_arr) filter (where books.at_start), 0)
            as contraction_arr,
        coalesce(sum(books.churned_arr) filter (where books.at_start), 0) as churned_arr,
        count(*) filter (where books.at_start and books.movement = 'churn') as accounts_churned,
        count(*) filter (where books.at_start and books.ending_arr > 0) as accounts_retained
    from periods
    left join books using (period_grain, period_start)
    group by grouping sets ((period_grain, period_start, books.csm_id), (period_grain, period_start))
),

typed as (
    select
        period_grain,
        period_start,
        scope,
        scope_key,
        book_rows,
        owners_at_end,
        accounts_at_end,
        cast(arr_at_end as decimal(18, 2)) as arr_at_end,
        accounts_retained,
        accounts_at_start,
        cast(starting_arr as decimal(18, 2)) as starting_arr,
        cast(new_arr as decimal(18, 2)) as new_arr,
        cast(reactivation_arr as decimal(18, 2)) as reactivation_arr,
        cast(expansion_arr as decimal(18, 2)) as expansion_arr,
        cast(contraction_arr as decimal(18, 2)) as contraction_arr,
        cast(churned_arr as decimal(18, 2)) as churned_arr,
        accounts_churned
    from counted
),

-- The columns from accounts_at_start on are the retention block both marts report, in their
-- order.
final as (
    select
        typed.* exclude (book_rows),
        net_retained_arr(starting_arr, expansion_arr, contraction_arr, churned_arr)
            as net_retained_arr,
        nrr(starting_arr, expansion_arr, contraction_arr, churned_arr) as nrr,
        grr(starting_arr, contraction_arr, churned_arr) as grr,
        logo_retention(accounts_retained, accounts_at_start) as logo_retention
    from typed
    where scope = 'team' or book_rows > 0
)

select * from final
