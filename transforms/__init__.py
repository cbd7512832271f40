"""The SQL models, one file each, by layer: staging -> intermediate (views) -> working -> marts.

A model's name is its file name. A staging model over a raw table of API records is a typed
table, refreshed as records land (warehouse/staging.py); the other staging models and the
intermediate ones become views in the schema of their layer; working models
(`working/wrk_*.sql`) are the temporary tables a marts build makes inside its transaction,
named as the file is; marts are the published tables `marts.<name>`.
Each model's inputs are parsed from its SQL and the models run in that order
(`transforms/graph.py`). `macros/` holds the rules shared by several models (DuckDB macros),
created before any model.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
LAYERS = ("staging", "intermediate", "working", "marts")  # each reads only itself and earlier
VIEW_LAYERS = ("staging", "intermediate")
WORKING_PREFIX = "wrk_"


def macro_paths() -> list[Path]:
    return sorted((ROOT / "macros").glob("*.sql"))

