"""The retention drivers: which inputs go with churn, from a logistic regression over every
quarter the marts hold (docs/metrics.md, `marts.retention_drivers`).

The units (an account in a quarter's starting book, churned or not by the quarter's end, with
inputs measured over the quarter before) are assembled in SQL,
`transforms/steering/retention_driver_units.sql`, from the marts just built; the fit is
statsmodels' `Logit`, one multivariable model on standardized inputs, so each coefficient is
the change in the log-odds of churn per standard deviation of its input, the others held
fixed. It is an association, not a cause.

Inputs are often missing for a reason (no NPS response, never touched, onboarded long ago):
dropping those units would keep only a small and unusual part of the book, so a unit without
a value for an input enters at the input's mean, with a 0/1 indicator of the missing value in
the model (indicators that coincide, such as both owner inputs of `unassigned`, are one
column). A missing-value pattern whose units all retained (the accounts of `unassigned`, which
have no owner inputs, on the demo company) has no finite estimate: those units are left out
of the fit, which is the limit of the full fit, and the notes say so. What cannot be
estimated (too few churned or retained units, a constant or collinear input, a separation
the fit cannot survive) gives NULL estimates with a `note`, never a failed run.
The table is replaced whole, in the build's transaction; the same units give the same rows.
The same fit predicts (`RiskModel`): warehouse/outlook.py applies it to the current book's
inputs at `as_of` (docs/metrics.md, "Looking ahead"). Only complete quarters are units. The fit
is kept and reused (warehouse/driver_fits.py): when nothing the units read changed, the units
are not even assembled (warehouse/driver_inputs.py).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb
import numpy as np

if TYPE_CHECKING:  # pandas is imported where frames are made, not at load
    import pandas as pd

from transforms import ROOT
from transforms.graph import model_graph, unknown_reads
from warehouse.sql import run

UNITS_SQL = ROOT / "steering" / "retention_driver_units.sql"
TABLE = "marts.retention_drivers"
# Fewer churned or fewer retained units than this: no fit (the estimates would be noise).
MIN_OUTCOMES = 10
# An input whose values spread less than this, relative to their size, is constant.
CONSTANT_SPREAD = 1e-9
# The columns of the table, in order, with their DuckDB types.
COLUMNS = {
    "input": "varchar", "n": "bigint", "coefficient": "double", "std_error": "double",
    "p_value": "double", "odds_ratio_per_sd": "double", "churn_rate_top_quartile": "double",
    "churn_rate_bottom_quartile": "double", "first_quarter": "date", "last_quarter": "date",
    "note": "varchar",
}


@dataclass(frozen=True)
class Driver:
    """One input's row of marts.retention_drivers."""

    input: str
    n: int
    coefficient: float | None = None
    std_error: float | None = None
    p_value: float | None = None
    odds_ratio_per_sd: float | None = None
    churn_rate_top_quartile: float | None = None
    churn_rate_bottom_quartile: float | None = None
    first_quarter: date | None = None
    last_quarter: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class RiskModel:
    """What the fit needs to predict (docs/metrics.md, "Looking ahead"): the intercept, each
    design column's coefficient (an input's standardized value, or its missing-value
    indicator), the means and standard deviations the inputs were standardized with, the
    fitted units' churn rate, and the inputs whose missing values took their units out of the
    fit (an account missing one of them has no prediction)."""

    intercept: float
    terms: tuple[tuple[str, bool, float], ...]  # (input, is its missing indicator, coefficient)
    means: dict[str, float]
    sds: dict[str, float]
    churn_rate: float
    left_out: dict[str, str] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str | None]]:
        """The churn probability of each row (NaN where there is none) and a note per row: a
        value missing enters at the input's mean with its indicator, as in the fit."""
        logit = np.full(len(frame), self.intercept)
        excluded = np.zeros(len(frame), dtype=bool)
        notes: list[str | None] = [None] * len(frame)
        for name, indicator, coefficient in self.terms:
            values = (frame[name].astype(float).to_numpy() if name in frame.columns
                      else np.full(len(frame), np.nan))
            missing = np.isnan(values)
            if indicator:
                logit += coefficient * missing
            else:
                logit += coefficient * np.where(missing, 0.0,
                                                (values - self.means[name]) / self.sds[name])
        for name, why in self.left_out.items():
            values = (frame[name].astype(float).to_numpy() if name in frame.columns
                      else np.full(len(frame), np.nan))
            for i in np.flatnonzero(np.isnan(values)):
                if not excluded[i]:
                    notes[i] = (f"no {name}: the fit's units without it were left out ({why}), "
                                "so the model says nothing of it")
            excluded |= np.isnan(values)
        return np.where(excluded, np.nan, 1.0 / (1.0 + np.exp(-logit))), notes


@dataclass(frozen=True)
class RetentionFit:
    """The drivers' rows and the model they came from (None, with `reason`, when none)."""

    drivers: list[Driver]
    model: RiskModel | None
    reason: str | None = None
    written: bool = False  # whether marts.retention_drivers was replaced with them
    # The kept fit's, found by what the units read ("reads": no units were assembled) or by
    # the units ("units"); None: fitted now (warehouse/driver_fits.py).
    reused: str | None = None


def write_retention_drivers(conn: duckdb.DuckDBPyConnection, run_id: str,
                            as_of: datetime, write: bool = True) -> RetentionFit:
    """Assemble the units, fit, and replace marts.retention_drivers in the caller's
    transaction (unless `write` is false: the fit only, for the outlook); returns the rows
    written and the fitted model, which predicts churn risk."""
    inputs = conn.execute("select retention_driver_inputs from staging.settings").fetchone()
    # The last fit when what the units read is unchanged (warehouse/driver_inputs.py), else
    # when its units are these (warehouse/driver_fits.py, which imports this module): the
    # daily refresh of an open month rarely changes a complete quarter's units.
    from warehouse.driver_fits import fit_code, fit_or_reuse, kept_for_reads
    from warehouse.driver_inputs import inputs_fingerprint

    sql = units_sql()
    read = inputs_fingerprint(conn, sql, fit_code())
    fitted = kept_for_reads(conn, read)
    if fitted is None:
        units = conn.execute(sql).df()
        fitted = fit_or_reuse(conn, units, list(inputs[0]) if inputs else [], read)
    if not write:
        return fitted
    import pandas as pd

    drivers = fitted.drivers
    frame = pd.DataFrame([asdict(d) for d in drivers], columns=list(COLUMNS))
    conn.register("retention_driver_rows", frame)
    try:
        typed = ", ".join(f'cast("{name}" as {kind}) as "{name}"'
                          for name, kind in COLUMNS.items())
        run(conn, f"create or replace table {TABLE} as select {typed}, "
                  "cast($as_of as timestamptz) as as_of, now() as loaded_at, "
                  "$run_id as run_id from retention_driver_rows",
            {"run_id": run_id, "as_of": as_of})
    finally:
        conn.unregister("retention_driver_rows")
    return replace(fitted, written=True)


def units_sql() -> str:
    """The units' SQL, once every relation it reads is a model or a settings table: it runs
    after the marts, so its inputs are checked here rather than by the model graph."""
    sql = UNITS_SQL.read_text()
    unknown = unknown_reads(sql, {model.relation for model in model_graph().models})
    if unknown:
        raise RuntimeError(f"transforms/steering/{UNITS_SQL.name}: reads {unknown}, which "
                           "no model makes")
    return sql


def fit_drivers(units: pd.DataFrame, inputs: Sequence[str]) -> list[Driver]:
    """One row per input: the multivariable fit's estimates and the input's quartile churn
    rates. `units` has `quarter_start`, `account_id`, `churned` and a column per input (an
    input without a column is reported as not available)."""
    return fit_retention(units, inputs).drivers


def fit_retention(units: pd.DataFrame, inputs: Sequence[str]) -> RetentionFit:
    """The drivers' rows (`fit_drivers`) and the model that gave them, to predict with."""
    units = units.sort_values(["quarter_start", "account_id"], kind="stable",
                              ignore_index=True)
    churned = units["churned"].astype(float).to_numpy()
    rows = {name: _describe(units, name, churned) for name in inputs}
    usable = [name for name in inputs if rows[name].note is None]
    events = int(churned.sum())
    retained = len(churned) - events
    fit = _Fit()
    if min(events, retained) < MIN_OUTCOMES:
        fit.reason = _too_few(events, retained)
    elif not usable:
        fit.reason = "no input with varying values to fit"
    else:
        fit = _fit(units, usable, churned)
    drivers = []
    for name in inputs:
        row = rows[name]
        if name in fit.estimates:
            coefficient, std_error, p_value = fit.estimates[name]
            missing = len(units) - row.n
            notes = [f"{missing} of {len(units)} units have no value: " + fit.left_out.get(
                name, "fitted at the mean with a missing-value indicator")] if missing else []
            if fit.kept < len(units) and name not in fit.left_out:
                notes.append(f"fitted on {fit.kept} of {len(units)} units: "
                             + "; ".join(sorted(set(fit.left_out_why))))
            row = Driver(**{**asdict(row), "coefficient": coefficient, "std_error": std_error,
                            "p_value": p_value, "odds_ratio_per_sd": math.exp(coefficient),
                            "note": "; ".join(notes) or None})
        elif row.note is None:
            row = Driver(**{**asdict(row), "note": fit.skipped.get(name, fit.reason)})
        drivers.append(row)
    if fit.model is None:
        return RetentionFit(drivers, None, fit.reason or "the model could not be fitted")
    return RetentionFit(drivers, fit.model)


def _too_few(events: int, retained: int) -> str:
    return (f"too few units to fit: {events} churned and {retained} retained "
            f"(at least {MIN_OUTCOMES} of each)")


def _describe(units: pd.DataFrame, name: str, churned: np.ndarray) -> Driver:
    """The input's count, quarters and quartile churn rates; a note when it cannot be fitted."""
    if name not in units.columns:
        return Driver(name, 0, note=f"{name} is not in the marts (yet): no values")
    values = units[name].astype(float).to_numpy()
    present = ~np.isnan(values)
    n = int(present.sum())
    if n == 0:
        return Driver(name, 0, note="no unit has a value")
    quarters = units.loc[present, "quarter_start"]
    first, last = _as_date(quarters.min()), _as_date(quarters.max())
    x, y = values[present], churned[present]
    # A spread within rounding of the values is no spread: standardizing it would blow the
    # rounding up into a variable.
    if n < 2 or np.ptp(x) <= CONSTANT_SPREAD * max(1.0, float(np.abs(x).max())):
        return Driver(name, n, first_quarter=first, last_quarter=last,
                      note="constant input: every unit with a value has the same value")
    low, high = np.quantile(x, [0.25, 0.75])
    return Driver(name, n, churn_rate_top_quartile=float(y[x >= high].mean()),
                  churn_rate_bottom_quartile=float(y[x <= low].mean()),
                  first_quarter=first, last_quarter=last)


@dataclass
class _Fit:
    """What the fit made of the inputs: estimates (coefficient, std error, p-value) per input,
    or `reason` when there are none; inputs left out of the model and why (`skipped`); units
    left out (`kept` of them stay), with a note per input whose missing values were the
    reason (`left_out`) and the notes for the other inputs (`left_out_why`)."""

    estimates: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    reason: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    kept: int = 0
    left_out: dict[str, str] = field(default_factory=dict)
    left_out_why: list[str] = field(default_factory=list)
    model: RiskModel | None = None


def _fit(units: pd.DataFrame, inputs: list[str], churned: np.ndarray) -> _Fit:
    """Logit on the standardized inputs (missing at the mean, with indicators), after taking
    out what has no finite maximum-likelihood estimate:

    - the units of a missing-value pattern whose units all churned or all retained (the
      accounts of `unassigned`, which have no owner inputs, when none of them churned): the
      indicator's estimate runs to infinity and those units' share of the likelihood to
      nothing, so the other estimates converge to the fit without them, which is what is fitted;
    - an input whose units with a value all churned or all retained (nothing to estimate it
      from), and an input or indicator that is a linear combination of the columns before it.

    Newton's method first; BFGS if it does not converge. Inputs are standardized over all of
    their values, so a coefficient is per standard deviation of the input over its `n` units.
    """
    fit = _Fit(kept=len(units))
    z: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    means: dict[str, float] = {}
    sds: dict[str, float] = {}
    for name in inputs:
        values = units[name].astype(float).to_numpy()
        missing[name] = np.isnan(values)
        present = values[~missing[name]]
        means[name], sds[name] = float(present.mean()), float(present.std(ddof=1))
        z[name] = np.where(missing[name], 0.0, (values - means[name]) / sds[name])
    keep = np.ones(len(units), dtype=bool)
    active = list(inputs)
    changed = True
    while changed:  # leaving units out can separate another pattern: until nothing changes
        changed = False
        for name in list(active):
            absent, y = missing[name][keep], churned[keep]
            if not absent.any() or absent.all():
                continue
            alike = [other for other in active if np.array_equal(missing[other][keep], absent)]
            if np.ptp(y[absent]) == 0:
                outcome = "churned" if y[absent][0] else "retained"
                share = "all of them churned" if y[absent][0] else "none of them churned"
                for other in alike:
                    fit.left_out[other] = (f"{share}, so they are left out of the fit (their "
                                           "missing-value indicator separates churn)")
                fit.left_out_why.append(f"the {int(absent.sum())} without "
                                        f"{', '.join(alike)}, all {outcome}, are left out")
                keep &= ~missing[name]
                changed = True
                break
            if np.ptp(y[~absent]) == 0:
                outcome = "churned" if y[~absent][0] else "retained"
                for other in alike:
                    fit.skipped[other] = (f"every unit with a value {outcome}: nothing to "
                                          "estimate it from")
                    active.remove(other)
                changed = True
                break
    y = churned[keep]
    fit.kept = int(keep.sum())
    events = int(y.sum())
    if min(events, len(y) - events) < MIN_OUTCOMES:
        fit.reason = _too_few(events, len(y) - events)
        return fit
    design = [np.ones(fit.kept)]
    columns: list[str] = []
    terms: list[tuple[str, bool]] = []  # the design's columns after the intercept
    for name in active:
        if _adds_rank(design, z[name][keep]):
            design.append(z[name][keep])
            columns.append(name)
            terms.append((name, False))
        else:
            fit.skipped[name] = ("collinear with the other inputs or their missing-value "
                                 "indicators: no estimate of its own")
    for name in columns:
        indicator = missing[name][keep].astype(float)
        if _adds_rank(design, indicator):
            design.append(indicator)
            terms.append((name, True))
    if not columns:
        fit.reason = "no input with varying values to fit"
        return fit
    # Imported here, not when the code location loads: statsmodels takes a second to import and
    # only this fit uses it (docs/performance.md, Fixed costs).
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    kind = ""
    for method, maxiter in (("newton", 100), ("bfgs", 1000)):
        try:
            with warnings.catch_warnings():
                for warning in (ConvergenceWarning, HessianInversionWarning,
                                PerfectSeparationWarning, RuntimeWarning):
                    warnings.simplefilter("error", warning)
                result = sm.Logit(y, np.column_stack(design)).fit(
                    method=method, maxiter=maxiter, disp=0)
        except (PerfectSeparationError, PerfectSeparationWarning):
            fit.reason = "perfect separation: an input or a combination predicts churn exactly"
            return fit
        except (ConvergenceWarning, HessianInversionWarning, RuntimeWarning,
                np.linalg.LinAlgError) as error:
            kind = f" ({type(error).__name__})"
            continue
        errors = result.bse
        if result.mle_retvals.get("converged", False) and np.all(np.isfinite(errors)) \
                and np.all(errors > 0):
            fit.estimates = {name: (float(result.params[i]), float(errors[i]),
                                    float(result.pvalues[i]))
                             for i, name in enumerate(columns, start=1)}
            fit.model = RiskModel(
                intercept=float(result.params[0]),
                terms=tuple((name, indicator, float(result.params[i]))
                            for i, (name, indicator) in enumerate(terms, start=1)),
                means={name: means[name] for name in columns},
                sds={name: sds[name] for name in columns},
                churn_rate=float(y.mean()),
                left_out=dict(fit.left_out))
            return fit
        kind = ""
    fit.reason = (f"the fit did not converge{kind}: inputs may separate churn or be "
                  "collinear")
    return fit


def _adds_rank(design: list[np.ndarray], column: np.ndarray) -> bool:
    """Whether `column` is not (numerically) a linear combination of the design's columns."""
    if np.ptp(column) == 0:
        return False  # a constant: the intercept's
    return bool(np.linalg.matrix_rank(np.column_stack([*design, column]))
                > np.linalg.matrix_rank(np.column_stack(design)))


def _as_date(value: object) -> date:
    import pandas as pd

    return pd.Timestamp(value).date()
