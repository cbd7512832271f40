"""Where the warehouse and its published copy live, checked before anything is written.

The values come from the deployment (pipelines/deployment.py reads the environment, once); these
checks are shared by it and by the BI commands (`python -m warehouse ...`).
"""

from __future__ import annotations

from pathlib import Path

from warehouse.publishing import VERSIONS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
# DuckDB's buffer pool per process; it spills beyond (measured in docs/performance.md).
DEFAULT_MEMORY_LIMIT = "512MB"


class DeploymentError(ValueError):
    """A deployment setting that cannot work; the message names the variable."""


def is_motherduck(database: str) -> bool:
    return database.startswith(("md:", "motherduck:"))


def check_warehouse_path(database: str) -> str:
    """`WAREHOUSE_PATH`: a DuckDB file (its folder created), or a MotherDuck database
    (`md:<name>`; the token comes from DuckDB's own `motherduck_token` variable, never from this
    path)."""
    if is_motherduck(database):
        if "token=" in database:
            raise DeploymentError("WAREHOUSE_PATH must not carry the MotherDuck token: set "
                                  "motherduck_token in the environment instead")
        return database
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


def published_path(database: str, configured: str | None) -> str:
    """`configured` (`CSM_METRICS_PUBLISHED_PATH`; empty: off), else
    `published/csm_metrics.duckdb` beside the warehouse; off (empty) for MotherDuck, which
    serves concurrent readers itself."""
    if configured is not None:
        if configured:
            check_published_path(Path(configured), database)
        return configured
    if is_motherduck(database):
        return ""
    return str(Path(database).parent / "published" / "csm_metrics.duckdb")


def check_published_path(published: Path, database: str) -> None:
    """Publishing renames a new link over the published path and prunes old versions beside it
    (warehouse/publishing.py): refuse a path where that would replace the warehouse (its file,
    a symlink to it, its write-ahead log) or any other file, or prune the warehouse itself."""
    problem = _published_problem(published, database)
    if problem:
        raise DeploymentError(
            f"CSM_METRICS_PUBLISHED_PATH must name a path of its own for the published copy (a "
            f"link the pipeline creates), but {published} is {problem}: unset it for the "
            "default, published/csm_metrics.duckdb beside the warehouse")


def _published_problem(published: Path, database: str) -> str | None:
    if published.is_symlink():
        if not is_motherduck(database) and _same_file(published, Path(database)):
            return "a symbolic link to the warehouse file"
    elif published.is_dir():
        return "an existing directory"
    elif published.exists():
        return "an existing file (the published path is always a symbolic link)"
    if is_motherduck(database):
        return None
    link = _located(published)
    for warehouse in {_located(Path(database)), Path(database).resolve()}:
        sidecar = link.parent == warehouse.parent and link.name.startswith(f"{warehouse.name}.")
        if sidecar or _same_file(link, warehouse):
            return "the warehouse file or one of its own files (such as its .wal)"
        if warehouse.parent == link.parent / VERSIONS:
            return (f"a path whose {VERSIONS}/ folder, where old versions are pruned, holds the "
                    "warehouse")
    return None


def _located(path: Path) -> Path:
    """Where a path's directory entry is, its folder's links resolved but not its own."""
    return path.absolute().parent.resolve() / path.name


def _same_file(path: Path, other: Path) -> bool:
    return path.resolve() == other.resolve()
