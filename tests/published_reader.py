"""A BI reader, run as its own process while the pipeline publishes (test_publishing.py).

It keeps one connection open for its whole life, as a dashboard does, and also opens a fresh one
for every query round, as a new dashboard session does. Each round it takes a fingerprint of
every published table and checks the copy against its own recorded row counts; it writes one
JSON line per observation, errors included, until the stop file appears.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

TABLES = ("csm_period_metrics", "team_period_metrics", "account_period_metrics",
          "csm_activity_hours", "quarantine")


def fingerprint(conn: duckdb.DuckDBPyConnection) -> dict:
    state = {}
    for table in TABLES:
        count, digest = conn.execute(
            f"select count(*), md5(coalesce(string_agg(t::varchar, '|' order by t::varchar), ''))"
            f" from marts.{table} as t").fetchone()
        state[table] = [count, digest]
    recorded = dict(conn.execute("select table_name, row_count from meta.table_rows").fetchall())
    complete = all(recorded.get(t) == state[t][0] for t in TABLES)
    return {"state": state, "complete": complete}


def main(path: str, out: str, stop: str) -> None:
    held = duckdb.connect(path, read_only=True)
    with open(out, "a") as log:
        log.write(json.dumps({"mode": "ready"}) + "\n")
        log.flush()
        while not Path(stop).exists():
            for mode in ("held", "fresh"):
                try:
                    if mode == "held":
                        seen = fingerprint(held)
                    else:
                        # What a new session opens: the version the link points at now.
                        with duckdb.connect(str(Path(path).resolve()), read_only=True) as fresh:
                            seen = fingerprint(fresh)
                    log.write(json.dumps({"mode": mode, **seen}) + "\n")
                except Exception as error:  # every error is the finding
                    log.write(json.dumps({"mode": mode, "error": repr(error)}) + "\n")
                log.flush()
            time.sleep(0.02)
    held.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
