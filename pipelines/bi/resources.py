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


class PostgresResource(ConfigurableResource):
    """The PostgreSQL database BI reads (docs/bi.md); no URL turns publishing to it off.

    The URL carries the publisher's password: it comes from `CSM_METRICS_POSTGRES_URL` as an
    `EnvVar`, so the UI and run storage show the variable's name only.
    """

    url: str | None = Field(default=None, repr=False,
                            description="libpq URL of the publisher's login and database.")
    bi_role: str = Field(default="bi", description="The read-only role BI tools log in as.")
    bi_password: str | None = Field(
        default=None, repr=False,
        description="The BI role's password, used only when the publisher creates the role.")
    swap_wait_seconds: float = Field(
        default=60.0, ge=0,
        description="How long any wait of the PostgreSQL publish may last (connecting, a lock, "
                    "readers' open transactions at the swap) before it fails.")

    @property
    def enabled(self) -> bool:
        return bool(self.url)
