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
column). What cannot be estimated (too few churned or retained units, a constant input, a
separation the fit cannot survive) gives NULL estimates with a `note`, never a failed run.
The table is replaced whole, in the build's transaction; the same units give the same rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from transforms import ROOT
from transforms.graph import model_graph, references
from warehouse.sql import run

UNITS_SQL = ROOT / "steering" / "retention_driver_units.sql"
TABLE = "marts.retention_drivers"
# Fewer churned or fewer retained units than this: no fit (the estimates would be noise).
MIN_OUTCOMES = 10
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


def write_retention_drivers(conn: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Assemble the units, fit, and replace marts.retention_drivers in the caller's
    transaction; returns the rows written."""
    inputs = conn.execute("select retention_driver_inputs from staging.settings").fetchone()
    units = conn.execute(units_sql()).df()
    drivers = fit_drivers(units, list(inputs[0]) if inputs else [])
    frame = pd.DataFrame([asdict(d) for d in drivers], columns=list(COLUMNS))
    conn.register("retention_driver_rows", frame)
    try:
        typed = ", ".join(f'cast("{name}" as {kind}) as "{name}"'
                          for name, kind in COLUMNS.items())
        run(conn, f"create or replace table {TABLE} as select {typed}, now() as loaded_at, "
                  "$run_id as run_id from retention_driver_rows", {"run_id": run_id})
    finally:
        conn.unregister("retention_driver_rows")
    return len(drivers)


def units_sql() -> str:
    """The units' SQL, once every relation it reads is a model or a settings table: it runs
    after the marts, so its inputs are checked here rather than by the model graph."""
    sql = UNITS_SQL.read_text()
    made = {model.relation for model in model_graph().models}
    unknown = sorted(name for name in references(sql)
                     if name not in made and not name.startswith("staging."))
    if unknown:
        raise RuntimeError(f"transforms/steering/{UNITS_SQL.name}: reads {unknown}, which "
                           "no model makes")
    return sql


def fit_drivers(units: pd.DataFrame, inputs: Sequence[str]) -> list[Driver]:
    """One row per input: the multivariable fit's estimates and the input's quartile churn
    rates. `units` has `quarter_start`, `account_id`, `churned` and a column per input (an
    input without a column is reported as not available)."""
    units = units.sort_values(["quarter_start", "account_id"], kind="stable",
                              ignore_index=True)
    churned = units["churned"].astype(float).to_numpy()
    rows = {name: _describe(units, name, churned) for name in inputs}
    usable = [name for name in inputs if rows[name].note is None]
    events = int(churned.sum())
    retained = len(churned) - events
    reason = None
    if min(events, retained) < MIN_OUTCOMES:
        reason = (f"too few units to fit: {events} churned and {retained} retained "
                  f"(at least {MIN_OUTCOMES} of each)")
    elif not usable:
        reason = "no input with varying values to fit"
    estimates: dict[str, tuple[float, float, float]] = {}
    if reason is None:
        estimates, reason = _fit(units, usable, churned)
    drivers = []
    for name in inputs:
        row = rows[name]
        if name in estimates:
            coefficient, std_error, p_value = estimates[name]
            missing = len(units) - row.n
            note = (f"{missing} of {len(units)} units have no value: fitted at the mean with a "
                    "missing-value indicator") if missing else None
            row = Driver(**{**asdict(row), "coefficient": coefficient, "std_error": std_error,
                            "p_value": p_value, "odds_ratio_per_sd": math.exp(coefficient),
                            "note": note})
        elif row.note is None:
            row = Driver(**{**asdict(row), "note": reason})
        drivers.append(row)
    return drivers


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
    if n < 2 or np.ptp(x) == 0:
        return Driver(name, n, first_quarter=first, last_quarter=last,
                      note="constant input: every unit with a value has the same value")
    low, high = np.quantile(x, [0.25, 0.75])
    return Driver(name, n, churn_rate_top_quartile=float(y[x >= high].mean()),
                  churn_rate_bottom_quartile=float(y[x <= low].mean()),
                  first_quarter=first, last_quarter=last)


def _fit(units: pd.DataFrame, inputs: list[str], churned: np.ndarray
         ) -> tuple[dict[str, tuple[float, float, float]], str | None]:
    """Logit on the standardized inputs (missing at the mean, with indicators); the
    estimates per input, or none and why."""
    columns: dict[str, np.ndarray] = {}
    indicators: list[np.ndarray] = []
    for name in inputs:
        values = units[name].astype(float).to_numpy()
        missing = np.isnan(values)
        present = values[~missing]
        z = (values - present.mean()) / present.std(ddof=1)
        columns[name] = np.where(missing, 0.0, z)
        indicator = missing.astype(float)
        if 0 < indicator.sum() < len(indicator) and not any(
                np.array_equal(indicator, seen) for seen in indicators):
            indicators.append(indicator)
    design = np.column_stack([np.ones(len(units)), *columns.values(), *indicators])
    try:
        with warnings.catch_warnings():
            for warning in (ConvergenceWarning, HessianInversionWarning,
                            PerfectSeparationWarning, RuntimeWarning):
                warnings.simplefilter("error", warning)
            result = sm.Logit(churned, design).fit(disp=0, maxiter=100)
    except (PerfectSeparationError, PerfectSeparationWarning):
        return {}, "perfect separation: an input or a combination predicts churn exactly"
    except (ConvergenceWarning, HessianInversionWarning, RuntimeWarning,
            np.linalg.LinAlgError) as error:
        return {}, f"the fit did not converge ({type(error).__name__}): inputs may separate " \
                   "churn or be collinear"
    params, errors, p_values = result.params, result.bse, result.pvalues
    if not result.mle_retvals.get("converged", False) or not np.all(np.isfinite(errors)):
        return {}, "the fit did not converge: inputs may separate churn or be collinear"
    return {name: (float(params[i]), float(errors[i]), float(p_values[i]))
            for i, name in enumerate(inputs, start=1)}, None


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()
