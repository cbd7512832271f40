"""The retention drivers' last fit, kept with a fingerprint of what it was fitted on, so a build
whose units are those of the last fit reuses it instead of fitting again.

The drivers are fitted over every complete quarter (docs/metrics.md, Retention drivers): their
units change when a quarter closes or when a rebuild changes a closed quarter's inputs, not on
the daily refresh of an open month. The fit is a pure function of the units, the inputs
setting and the fitting code, so the fingerprint is the units (sorted as the fit sorts them),
the inputs, the fitting module's source and the versions of the libraries that fit; equal
fingerprints give the same rows, and a reused fit writes exactly what fitting again would. The
fit is kept in `raw._retention_fit` (one row, the latest), written in the build's transaction,
so a build that rolls back leaves the fit of the build before it. The fit is JSON text (floats
as Python writes them, exact; NaN kept), not DuckDB's JSON type, which refuses NaN. Its row also
keeps the fingerprint of what the units were assembled from (`reads`, warehouse/driver_inputs.py):
a build whose reads are those reuses the fit before assembling any unit (`kept_for_reads`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, replace
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from warehouse.drivers import Driver, RetentionFit, RiskModel, fit_retention

if TYPE_CHECKING:  # pandas is imported where frames are made, not at load
    import pandas as pd

TABLE = "raw._retention_fit"
# What fits: the module's code and the libraries it calls.
FIT_CODE = Path(__file__).with_name("drivers.py")
FIT_LIBRARIES = ("statsmodels", "numpy", "scipy", "pandas")


def fit_or_reuse(conn: duckdb.DuckDBPyConnection, units: pd.DataFrame, inputs: list[str],
                 read: str | None = None) -> RetentionFit:
    """The fit of `units`: the kept one when it was fitted on the same units, inputs and code;
    else a new fit, kept for the next build (in the caller's transaction). `read`: the
    fingerprint of what the units were assembled from (warehouse/driver_inputs.py), kept with
    the fit so the next build that reads the same needs no units (`kept_for_reads`)."""
    key = fingerprint(units, inputs)
    kept = _kept(conn, key)
    if kept is not None:
        if read is not None:
            conn.execute(f"alter table {TABLE} add column if not exists reads varchar")
            conn.execute(f"update {TABLE} set reads = $read where fingerprint = $key",
                         {"read": read, "key": key}).fetchall()
        return replace(kept, reused="units")
    fitted = fit_retention(units, inputs)
    conn.execute(f"create or replace table {TABLE} (fingerprint varchar not null, "
                 "fitted_at timestamptz not null, fit varchar not null, reads varchar)"
                 ).fetchall()
    conn.execute(f"insert into {TABLE} values ($key, now(), $fit, $read)",
                 {"key": key, "fit": json.dumps(to_json(fitted)), "read": read}).fetchall()
    return fitted


def kept_for_reads(conn: duckdb.DuckDBPyConnection, read: str | None) -> RetentionFit | None:
    """The kept fit when the units it was fitted on were assembled from what has `read` as
    its fingerprint (warehouse/driver_inputs.py): the same reads give the same units."""
    if read is None or "reads" not in _kept_columns(conn):
        return None
    rows = conn.execute(f"select fit from {TABLE} where reads = $read",
                        {"read": read}).fetchall()
    return replace(from_json(json.loads(rows[0][0])), reused="reads") if rows else None


def fit_code() -> str:
    """What fits, besides the units and inputs: the fitting module and the libraries' versions."""
    return json.dumps({"code": FIT_CODE.read_text(),
                       "libraries": [_version(name) for name in FIT_LIBRARIES]})


def fingerprint(units: pd.DataFrame, inputs: list[str]) -> str:
    """A digest of everything the fit depends on."""
    import pandas as pd

    ordered = units.sort_values(["quarter_start", "account_id"], kind="stable",
                                ignore_index=True)
    digest = hashlib.sha256()
    digest.update(json.dumps({"inputs": list(inputs), "columns": list(map(str, ordered.columns)),
                              "types": [str(t) for t in ordered.dtypes],
                              "code": FIT_CODE.read_text(),
                              "libraries": [_version(name) for name in FIT_LIBRARIES]}
                             ).encode())
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@functools.lru_cache
def _version(package: str) -> str:
    """The installed version (read once a process: reading package metadata takes 15 ms)."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def _kept_columns(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The kept fit's columns; none when no fit is kept (a table from before `reads` has
    none of it, and reuses only by the units)."""
    # fetchall, not fetchone: a result left unfinished makes DuckDB refuse `register` next.
    return {row[0] for row in conn.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'raw' and table_name = $name",
        {"name": TABLE.split(".")[1]}).fetchall()}


def _kept(conn: duckdb.DuckDBPyConnection, key: str) -> RetentionFit | None:
    if not _kept_columns(conn):
        return None
    rows = conn.execute(f"select fit from {TABLE} where fingerprint = $key",
                        {"key": key}).fetchall()
    return from_json(json.loads(rows[0][0])) if rows else None


def to_json(fitted: RetentionFit) -> dict[str, Any]:
    """The fit as JSON: floats as Python writes them (exact), dates as ISO text."""
    drivers = [{k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(d).items()}
               for d in fitted.drivers]
    model = asdict(fitted.model) if fitted.model is not None else None
    return {"drivers": drivers, "model": model, "reason": fitted.reason}


def from_json(data: dict[str, Any]) -> RetentionFit:
    drivers = [Driver(**{k: date.fromisoformat(v) if k.endswith("_quarter") and v else v
                         for k, v in row.items()}) for row in data["drivers"]]
    model = data["model"]
    risk = None if model is None else RiskModel(
        intercept=model["intercept"],
        terms=tuple((name, bool(indicator), coefficient)
                    for name, indicator, coefficient in model["terms"]),
        means=model["means"], sds=model["sds"], churn_rate=model["churn_rate"],
        left_out=model["left_out"])
    return RetentionFit(drivers=drivers, model=risk, reason=data["reason"])
