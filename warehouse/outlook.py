"""Looking ahead (docs/metrics.md, "Looking ahead"): renewals coming up, accounts at risk and
each CSM's outlook, at `as_of`, built after the retention drivers in the build's transaction.

The SQL is in `transforms/outlook/`: first the current customers with the model's inputs over
the three months before `as_of` (`outlook_accounts`) and their renewal events
(`outlook_renewal_events`), temporary tables; then the churn probabilities, predicted here by
the model the drivers were fitted with (warehouse/drivers.py), into `outlook_scores`; then the
marts, each replaced whole, in the order of `MARTS`. They read the marts built before them, so
their inputs are checked here, as the drivers' units are, rather than by the model graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb

from transforms import ROOT
from transforms.graph import model_graph, unknown_reads
from warehouse.drivers import RetentionFit
from warehouse.sql import literal, run

FOLDER = ROOT / "outlook"
TEMPORARY = ("outlook_accounts", "outlook_renewal_events")  # in this order
SCORES = "outlook_scores"
MARTS = ("account_risk", "renewals", "csm_outlook")  # in this order; each reads the ones before
# The entry window's session variables (transforms/macros/entries.sql), as a marts build sets them.
WINDOW_FROM, WINDOW_TO = "entry_window_from", "entry_window_to"


def outlook_sql(name: str) -> str:
    """A file's SQL, once every relation it reads is a model, a settings table, an outlook
    table made before it, or a mart made before it."""
    path = FOLDER / f"{name}.sql"
    sql = path.read_text()
    order = [*TEMPORARY, SCORES, *MARTS]
    before = set(order[:order.index(name)])
    made = {model.relation for model in model_graph().models}
    allowed = made | before | {f"marts.{mart}" for mart in before}
    unknown = unknown_reads(sql, allowed)
    if unknown:
        raise RuntimeError(f"transforms/outlook/{path.name}: reads {unknown}, which nothing "
                           "made before it makes")
    return sql


def build_outlook(conn: duckdb.DuckDBPyConnection, fitted: RetentionFit, run_id: str,
                  as_of: datetime) -> dict[str, int]:
    """Replace the outlook marts in the caller's transaction; returns the rows written."""
    params = {"as_of": as_of, "run_id": run_id}
    try:
        with entry_window(conn, as_of):
            for name in TEMPORARY:
                run(conn, f"create or replace temp table {name} as\n{outlook_sql(name)}",
                    params)
        write_scores(conn, fitted)
        written = {}
        for name in MARTS:
            run(conn, f"create or replace table marts.{name} as\nselect *, "
                      "cast($as_of as timestamptz) as as_of, now() as loaded_at, "
                      f"$run_id as run_id from (\n{outlook_sql(name)}\n)", params)
            row = conn.execute(f"select count(*) from marts.{name}").fetchone()
            written[name] = int(row[0]) if row else 0
        return written
    finally:
        for name in (*TEMPORARY, SCORES):
            conn.execute(f"drop table if exists temp.{name}")


@contextmanager
def entry_window(conn: duckdb.DuckDBPyConnection, as_of: datetime) -> Iterator[None]:
    """While the outlook's inputs are read, the time-entry models read only the entries that
    can count in them (transforms/macros/entries.sql, in_entry_window): those starting in the
    12 months before `as_of` (the onboarding hours; the hours of the three months are within),
    less the longest entry that counts, not every entry in history. Unset after, as a marts
    build leaves it."""
    instant = literal(as_of.isoformat())
    conn.execute(f"set variable {WINDOW_FROM} = cast({instant} as timestamptz) "
                 "- interval 12 month - max_entry_length()")
    conn.execute(f"set variable {WINDOW_TO} = cast({instant} as timestamptz)")
    try:
        yield
    finally:
        for name in (WINDOW_FROM, WINDOW_TO):
            conn.execute(f"reset variable {name}")


def write_scores(conn: duckdb.DuckDBPyConnection, fitted: RetentionFit) -> None:
    """`outlook_scores`: each current customer's churn probability, the fit's churn rate the
    bands are drawn from, and why there is no probability where there is none."""
    accounts = conn.execute("select * from outlook_accounts order by account_id").df()
    import pandas as pd

    scores = pd.DataFrame({"account_id": accounts["account_id"].astype(str)})
    if fitted.model is None:
        scores["churn_probability"] = None
        scores["fit_churn_rate"] = None
        scores["risk_note"] = f"no model: {fitted.reason}"
    else:
        probabilities, notes = fitted.model.predict(accounts)
        scores["churn_probability"] = [None if p != p else float(p) for p in probabilities]
        scores["fit_churn_rate"] = fitted.model.churn_rate
        scores["risk_note"] = notes
    conn.register("outlook_score_rows", scores)
    try:
        conn.execute(f"create or replace temp table {SCORES} as select "
                     "cast(account_id as varchar) as account_id, "
                     "cast(churn_probability as double) as churn_probability, "
                     "cast(fit_churn_rate as double) as fit_churn_rate, "
                     "cast(risk_note as varchar) as risk_note from outlook_score_rows")
    finally:
        conn.unregister("outlook_score_rows")

