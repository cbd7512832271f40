"""The SQL models, one file each, by layer: staging -> intermediate (views), marts (tables).

A model's name is its file name; staging and intermediate models become views in the schema of
their layer, in file-name order within a layer (so a model may read any model of an earlier
layer, or of its own layer that sorts before it).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
VIEW_LAYERS = ("staging", "intermediate")


def model_paths(layer: str) -> list[Path]:
    return sorted((ROOT / layer).glob("*.sql"))


def read_model(layer: str, name: str) -> str:
    return (ROOT / layer / f"{name}.sql").read_text()
