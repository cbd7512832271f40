"""The SQL models, one file each, by layer: staging -> intermediate (views), marts (tables).

A model's name is its file name; staging and intermediate models become views in the schema of
their layer, in whatever order their dependencies need. `macros/` holds the formulas shared by
several models (DuckDB macros), created before any model.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
VIEW_LAYERS = ("staging", "intermediate")


def macro_paths() -> list[Path]:
    return sorted((ROOT / "macros").glob("*.sql"))


def model_paths(layer: str) -> list[Path]:
    return sorted((ROOT / layer).glob("*.sql"))


def read_model(layer: str, name: str) -> str:
    return (ROOT / layer / f"{name}.sql").read_text()
