"""Where the warehouse and its published copy live, from the environment.

Shared by the Dagster definitions and the BI commands (`python -m warehouse ...`).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
# DuckDB's buffer pool per process; it spills beyond (measured in docs/performance.md).
DEFAULT_MEMORY_LIMIT = "512MB"


class DeploymentError(ValueError):
    """A deployment setting that cannot work; the message names the variable."""


def is_motherduck(database: str) -> bool:
    return database.startswith(("md:", "motherduck:"))


def warehouse_path() -> str:
    """`WAREHOUSE_PATH`: a DuckDB file, or a MotherDuck database (`md:<name>`; the token comes
    from DuckDB's own `motherduck_token` variable, never from this path)."""
    database = os.environ.get("WAREHOUSE_PATH") or str(DEFAULT_WAREHOUSE)
    if is_motherduck(database):
        if "token=" in database:
            raise DeploymentError("WAREHOUSE_PATH must not carry the MotherDuck token: set "
                                  "motherduck_token in the environment instead")
        return database
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


def published_path(database: str) -> str:
    """`CSM_METRICS_PUBLISHED_PATH`, else `published/csm_metrics.duckdb` beside the warehouse;
    off (empty) for MotherDuck, which serves concurrent readers itself."""
    configured = os.environ.get("CSM_METRICS_PUBLISHED_PATH")
    if configured is not None:
        return configured
    if is_motherduck(database):
        return ""
    return str(Path(database).parent / "published" / "csm_metrics.duckdb")
