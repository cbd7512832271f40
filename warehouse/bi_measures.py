"""Which mart numbers add up, and how: the one declaration the LookML and Tableau files read.

An analyst who sums ARR managed over a CSM's twelve monthly rows gets twelve times the book
(docs/bi.md). So every number a BI tool may aggregate is declared here as one of:

- a **balance**: a stock at an instant (ARR managed at period end, customers at period start,
  a count of distinct accounts). It adds up across CSMs, accounts or segments within one period,
  never across periods: its measure is NULL when the query's rows span more than one period.
- a **flow**: what happened during the period (hours, churned ARR, touchpoints). It adds up
  across rows and across the periods of one grain, never across grains (a quarter holds its
  months) nor across `ttm` windows (they overlap): its measure is NULL when the rows mix grains
  or hold more than one `ttm` window.
- a **ratio**: recomputed from its components' sums, with docs/metrics.md's formula, over the
  rows where the ratio is defined (every component known, denominator above 0), so it rolls up
  across CSMs the way the team's own row computes it. It takes the stricter rule of its
  components (one period when any is a balance).

Any other number (medians, scores, shares whose parts are not columns) is only a dimension.
Issue 23 moves this into the per-mart contracts; until then a test holds it to columns.toml.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAIN_DEFAULT = "month"
STATUS_DEFAULT = "complete"

@dataclass(frozen=True)
class Ratio:
    """`sum(numerator terms) / sum(denominator)` over the rows where the ratio is defined."""

    name: str  # the column it rolls up (a measure named `<name>_rollup`)
    label: str
    numerator: tuple[tuple[int, str], ...]  # (+1 or -1, column)
    denominator: str

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([c for _, c in self.numerator] + [self.denominator]))

    @property
    def formula(self) -> str:
        terms = " ".join(f"{'+' if sign > 0 else '-'} sum({c})" for sign, c in self.numerator)
        return f"({terms.removeprefix('+ ')}) / sum({self.denominator})"


@dataclass(frozen=True)
class Semantics:
    balances: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    ratios: tuple[Ratio, ...] = ()

    def one_period(self, ratio: Ratio) -> bool:
        """A ratio with a balance among its components is only valid within one period."""
        return any(c in self.balances for c in ratio.components)


def _nrr(start: str = "starting_arr") -> Ratio:
    return Ratio("nrr", "NRR", ((1, start), (1, "expansion_arr"), (-1, "contraction_arr"),
                                (-1, "churned_arr")), start)


def _grr(start: str = "starting_arr") -> Ratio:
    return Ratio("grr", "GRR", ((1, start), (-1, "contraction_arr"), (-1, "churned_arr")), start)


def _logo_retention(start: str, churned: str) -> Ratio:
    return Ratio("logo_retention", "Logo retention", ((1, start), (-1, churned)), start)


UTILIZATION = Ratio("utilization", "Utilization", ((1, "hours_worked"),), "capacity_hours")
TOUCH_COVERAGE = Ratio("touch_coverage", "Touch coverage", ((1, "accounts_touched"),),
                       "accounts_managed")

SEMANTICS: dict[str, Semantics] = {
    "csm_period_metrics": Semantics(
        balances=("accounts_managed", "arr_managed", "accounts_at_start", "starting_arr",
                  "net_retained_arr", "accounts_touched"),
        flows=("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
               "accounts_churned", "hours_worked", "hours_on_accounts", "hours_unattributed",
               "capacity_hours", "fully_loaded_cost", "touchpoints", "inbound_messages",
               "unanswered_messages", "nps_responses", "csat_responses",
               "expansion_bookings_arr", "csm_sourced_bookings_arr", "csm_sourced_won",
               "csm_sourced_lost", "accounts_onboarded"),
        ratios=(_nrr(), _grr(), _logo_retention("accounts_at_start", "accounts_churned"),
                UTILIZATION, TOUCH_COVERAGE)),
    "team_period_metrics": Semantics(
        balances=("csm_count", "customer_count", "total_arr", "customers_at_start",
                  "starting_arr", "net_retained_arr"),
        flows=("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
               "customers_churned", "hours_worked", "hours_unattributed", "fully_loaded_cost",
               "touchpoints", "nps_responses", "csat_responses", "expansion_bookings_arr",
               "csm_sourced_bookings_arr", "csm_sourced_won", "csm_sourced_lost",
               "accounts_onboarded"),
        ratios=(_nrr(), _grr(), _logo_retention("customers_at_start", "customers_churned"))),
    "account_period_metrics": Semantics(
        balances=("starting_arr", "ending_arr"),
        flows=("new_arr", "reactivation_arr", "expansion_arr", "contraction_arr", "churned_arr",
               "hours_all_csms", "hours_by_owner", "touchpoints", "nps_responses",
               "csat_responses"),
        ratios=(_nrr(), _grr())),
    "csm_activity_hours": Semantics(flows=("hours",)),
    "capacity_plan": Semantics(
        balances=("customers", "fte_available", "fte_needed", "fte_headroom",
                  "planned_customers", "fte_needed_planned"),
        flows=("account_hours", "capacity_hours")),
    "churn_reasons": Semantics(flows=("accounts", "arr")),
}
