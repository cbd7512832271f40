"""Which mart numbers add up, and how, as the LookML and Tableau files read it from the contracts.

An analyst who sums ARR managed over a CSM's twelve monthly rows gets twelve times the book
(docs/bi.md). So every number a BI tool may aggregate is one of:

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
Each is declared in the mart's contract (transforms/<folder>/<mart>.yml): a column's `meta.measure`
(balance, flow or ratio with its numerator and denominator), and `meta.ratios` for a ratio
that is no column of its own (transforms/contracts.py reads them).
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.contracts import Ratio, contracts

GRAIN_DEFAULT = "month"
STATUS_DEFAULT = "complete"

__all__ = ["GRAIN_DEFAULT", "SEMANTICS", "STATUS_DEFAULT", "Ratio", "Semantics", "semantics_of"]


@dataclass(frozen=True)
class Semantics:
    balances: tuple[str, ...] = ()
    flows: tuple[str, ...] = ()
    ratios: tuple[Ratio, ...] = ()

    def one_period(self, ratio: Ratio) -> bool:
        """A ratio with a balance among its components is only valid within one period."""
        return any(c in self.balances for c in ratio.components)


def semantics_of() -> dict[str, Semantics]:
    """Each contract's declared measures: the marts that declare any."""
    return {name: Semantics(c.balances, c.flows, c.ratios) for name, c in contracts().items()
            if c.balances or c.flows or c.ratios}


SEMANTICS: dict[str, Semantics] = semantics_of()
