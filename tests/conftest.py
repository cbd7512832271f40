"""Shared fixtures: the fake APIs on real sockets, and the pipeline run through Dagster.

The tiny build and the PostgreSQL server are made once per session, shared by every xdist
worker (tests/session_helpers.py). Tests are in tiers (README, "Tests"): mark a module made only of
pure tests `pytestmark = pytest.mark.fast`; unmarked tests belong to the pipeline tier.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, JobDefinition
from dagster._core.instance.ref import InstanceRef

from pipelines.bi.assets import POSTGRES, PUBLISHED
from pipelines.definitions import build_definitions
from pipelines.report.assets import REPORT
from sandbox.company import Company, generate_company
from sandbox.servers import Sandbox
from tests.session_helpers import (
    built_once,
    close_session_folder,
    is_controller,
    open_session_folder,
    private_copy,
)
from tests.tiny_company import tiny_company, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.pg_server"]  # the real PostgreSQL server fixtures
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@pytest.fixture()
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB for landing and SQL tests."""
    with duckdb.connect(":memory:") as connection:
        yield connection


def fake_connectors(sandbox: Sandbox) -> list:
    """The four real connectors, pointed at the fakes (Toggl unpaced: the fakes do not throttle
    unless a test switches a quota on)."""
    from connectors.clockify import ClockifyConnector
    from connectors.hubspot import HubSpotConnector
    from connectors.salesforce import SalesforceConnector
    from connectors.toggl import TogglConnector

    return [
        SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token),
        HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url),
        TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                       sandbox.toggl.base_url, min_interval=0),
        ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                          f"{sandbox.clockify.base_url}/api/v1"),
    ]


@pytest.fixture(scope="session")
def demo_company() -> Company:
    return generate_company()


@pytest.fixture(scope="session")
def demo_sandbox(demo_company: Company, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Sandbox]:
    with Sandbox(demo_company).start(str(tmp_path_factory.mktemp("ca"))) as sandbox:
        yield sandbox


def point_at(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, warehouse: Path) -> None:
    """Set the variables a user sets (the README's variables), pointing at the fakes."""
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.delenv("CSM_METRICS_SETTINGS", raising=False)


@contextmanager
def tiny_fakes(folder: Path, company: Company | None = None) -> Iterator[Sandbox]:
    """The fakes serving the tiny company (or a variant), with the pipeline pointed at them and
    at `folder/warehouse.duckdb`, under the hand-computed tests' settings."""
    company = company or tiny_company()
    settings = folder / "settings.toml"
    settings.write_text(tiny_settings(company))
    with pytest.MonkeyPatch.context() as monkeypatch, \
            Sandbox(company).start(str(folder)) as sandbox:
        point_at(monkeypatch, sandbox, folder / "warehouse.duckdb")
        monkeypatch.setenv("CSM_METRICS_SETTINGS", str(settings))
        yield sandbox


PipelineRunner = Callable[[str, str], duckdb.DuckDBPyConnection]


# What `monthly_metrics` does after the marts: the published copy with its Hyper extract, the
# PostgreSQL publish and the report. `run_pipeline(..., bi=False)` leaves them out for tests that
# read only the working warehouse (the marts' own checks still run).
BI_ASSETS = frozenset({PUBLISHED, POSTGRES, REPORT})


def run_pipeline(first_month: str, last_month: str,
                 instance: DagsterInstance | None = None, *, bi: bool = True) -> None:
    """Both jobs of the real definitions, as `make demo` runs them, in this process; with
    `bi=False`, without the published copy, PostgreSQL and the report."""
    defs = build_definitions()
    instance = instance or DagsterInstance.ephemeral()
    pulled = defs.resolve_job_def("pull_sources").execute_in_process(instance=instance)
    assert pulled.success
    job = defs.resolve_job_def("monthly_metrics")
    months = job.execute_in_process(
        instance=instance, tags={RANGE_START: first_month, RANGE_END: last_month},
        asset_selection=None if bi else marts_only(job))
    assert months.success
    failed = [e.check_name for e in months.get_asset_check_evaluations() if not e.passed]
    assert not failed, f"asset checks failed: {failed}"


def marts_only(job: JobDefinition) -> list[AssetKey]:
    """The job's assets but the BI ones: an `asset_selection` for `execute_in_process`."""
    return [key for key in job.asset_layer.selected_asset_keys if key not in BI_ASSETS]


@dataclasses.dataclass(frozen=True)
class TinyBuild:
    folder: Path  # warehouse.duckdb, published/ and settings.toml
    instance: DagsterInstance  # the runs' event log

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"


def build_tiny(folder: Path) -> None:
    """Both jobs for January and February 2025, the event log kept in `folder/dagster_home`."""
    home = folder / "dagster_home"
    home.mkdir()
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance, \
            tiny_fakes(folder):
        run_pipeline("2025-01-01", "2025-03-01", instance)


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory: pytest.TempPathFactory) -> TinyBuild:
    """The tiny company through both jobs for January and February 2025, built once per test
    session (by the first xdist worker to need it) and shared by the modules that only read it.
    Each process gets its own copy of the folder; read it, never write it (copy the file first,
    as test_full_disk does). The instance reads the build's event log."""
    shared = built_once("tiny_built", build_tiny)
    folder = private_copy(shared, tmp_path_factory.mktemp("tiny_built"))
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(shared / "dagster_home")))
    return TinyBuild(folder, instance)


def tiny_copy(tiny_built: TinyBuild, folder: Path) -> Path:
    """The session's tiny build (its warehouse, published copy and settings) copied into
    `folder`, for a test that builds on a good, published build and then writes: what
    `tiny_fakes(folder)` and `run_pipeline(FIRST, LAST)` would make, without running them."""
    return private_copy(tiny_built.folder, folder)


def read_rows(warehouse: Path, sql: str, params: dict | None = None) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


TIERS = ("pipeline", "connectors", "fast")  # slowest first: the session's tail is the fast tests
# The modules whose tests take half a minute and more each (subprocess runs, the fault suite,
# hypothesis over whole builds), longest first: started first, so that the session ends on short
# tests rather than one worker waiting on the other's long one. Others follow in name order.
LONGEST_FIRST = ("tests/test_faults.py", "tests/test_overlapping_runs.py", "tests/test_secrets.py",
                 "tests/test_metrics_properties.py", "tests/test_stale_runs.py",
                 "tests/test_definitions.py", "tests/test_demo_runs.py",
                 "tests/test_incremental_marts.py", "tests/test_report_cfo.py",
                 "tests/test_incremental.py")


def tier(item: pytest.Item) -> str:
    return next((t for t in TIERS[1:] if item.get_closest_marker(t)), TIERS[0])


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test not marked `fast` or `connectors` is in the pipeline tier; the modules run
    slowest tier first, the longest modules first within it (a module keeps its tests together,
    for its module fixtures), so xdist workers end on short tests rather than wait on one last
    long one."""
    rank: dict[str, int] = {}
    for item in items:
        found = tier(item)
        if found == "pipeline":
            item.add_marker(pytest.mark.pipeline)
        module = item.nodeid.split("::")[0]
        rank[module] = min(rank.get(module, len(TIERS)), TIERS.index(found))

    def order(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.split("::")[0]
        long = LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)
        return rank[module], long
    items.sort(key=order)


def pytest_configure(config: pytest.Config) -> None:
    if is_controller():
        files_in_memory()
        open_session_folder()


MEMORY_FS = Path("/dev/shm")
# A whole session writes about 1 GB at most (less, as passed tests' folders go): a smaller
# memory file system (a container's 64 MB /dev/shm) is left alone.
MEMORY_FS_NEEDED = 4 * 2**30


def files_in_memory() -> None:
    """In the controller, before the workers start: the session's files (pytest's tmp_path,
    the shared builds, the fakes' CA files, the PostgreSQL cluster, the subprocesses' temporary
    files) on a memory file system where the machine has one and TMPDIR does not say otherwise.
    Dagster's SQLite event logs and run storage commit (fsync) on every event: on this
    machine's disk that was a fifth of a CLI-run test's time, and 3 GB written a session. A
    killed process leaves the same files either way; what no test checks is surviving a power
    cut. Workers and subprocesses inherit TMPDIR."""
    if os.environ.get("TMPDIR") or not (MEMORY_FS.is_dir() and os.access(MEMORY_FS, os.W_OK)):
        return
    found = os.statvfs(MEMORY_FS)
    if found.f_bavail * found.f_frsize < MEMORY_FS_NEEDED:
        return
    folder = MEMORY_FS / "csm-metrics-tests"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o1777)  # as /tmp: the PostgreSQL server's own user reaches its cluster
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.pg_server import stop_shared_cluster  # a plugin: pytest imports it first

    close_session_folder([stop_shared_cluster])


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, each worker hands its fault tally to the controller."""
    from tests.fault_summary import TALLY

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["fault_tally"] = dataclasses.asdict(TALLY)


def pytest_testnodedown(node, error) -> None:
    from tests.fault_summary import TALLY

    TALLY.add(getattr(node, "workeroutput", {}).get("fault_tally", {}))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    from tests.fault_summary import TALLY

    if TALLY.faults:
        terminalreporter.write_sep("-", "fault suite")
        terminalreporter.write_line(
            f"faults injected: {TALLY.faults}, pipeline runs: {TALLY.runs}, rows compared: "
            f"{TALLY.rows_compared}, lost: {TALLY.lost}, duplicated: {TALLY.duplicated}")
