"""`python -m benchmarks.pg_publish <warehouse.duckdb> <folder>`: the marts into PostgreSQL.

Starts a throwaway local cluster (warehouse/postgres/cluster.py) under `folder`, publishes the
warehouse's marts into it as the pipeline's `bi/postgres_marts` does, and reports the COPY load's
rows/s and the swap's seconds. Without PostgreSQL server binaries on the machine it reports why
it was skipped instead: the measurement is optional, the rest of the benchmark is not.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import duckdb

from warehouse.postgres.cluster import PUBLISHER, LocalCluster, find_bindir
from warehouse.postgres.publishing import publish_marts


def measure(warehouse: Path, folder: Path) -> dict[str, Any]:
    if find_bindir() is None:
        return {"skipped": "no PostgreSQL server binaries found (PATH, pg_config --bindir, "
                           "/usr/lib/postgresql/*/bin): apt-get install postgresql to measure"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = folder / "pg"
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the server user (postgres, under root) must traverse it
    cluster = LocalCluster(root, port)
    cluster.start()
    try:
        cluster.provision()
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            result = publish_marts(conn, cluster.url(PUBLISHER), "bench")
    finally:
        cluster.stop()
    rows = sum(result.rows.values())
    return {"rows": rows, "tables": result.rows, "load_seconds": result.load_seconds,
            "swap_seconds": result.swap_seconds,
            "rows_per_s": round(rows / max(result.load_seconds, 1e-9))}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
