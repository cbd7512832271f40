"""Where the published copy lives."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field


class PublishedWarehouseResource(ConfigurableResource):
    """The path BI tools open (a link swapped onto each new version), and how many to keep.

    An empty path turns publishing off: a MotherDuck warehouse serves its readers itself.
    """

    path: str = Field(default="", description="The published DuckDB file BI tools open.")
    keep: int = Field(default=3, ge=1, description="Versions kept for readers still on one.")

    @property
    def enabled(self) -> bool:
        return bool(self.path)

    def link(self) -> Path:
        return Path(self.path)
