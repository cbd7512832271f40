"""Shared fixtures: the fake APIs on real sockets, and the pipeline run through Dagster."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.definitions import build_definitions
from sandbox.company import Company, generate_company
from sandbox.servers import Sandbox
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


def run_pipeline(first_month: str, last_month: str,
                 instance: DagsterInstance | None = None) -> None:
    """Both jobs of the real definitions, as `make demo` runs them, in this process."""
    defs = build_definitions()
    instance = instance or DagsterInstance.ephemeral()
    pulled = defs.resolve_job_def("pull_sources").execute_in_process(instance=instance)
    assert pulled.success
    months = defs.resolve_job_def("monthly_metrics").execute_in_process(
        instance=instance, tags={RANGE_START: first_month, RANGE_END: last_month})
    assert months.success
    failed = [e.check_name for e in months.get_asset_check_evaluations() if not e.passed]
    assert not failed, f"asset checks failed: {failed}"


@dataclasses.dataclass(frozen=True)
class TinyBuild:
    folder: Path  # warehouse.duckdb, published/ and settings.toml
    instance: DagsterInstance  # the runs' event log

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"


@pytest.fixture(scope="session")
def tiny_built(tmp_path_factory: pytest.TempPathFactory) -> TinyBuild:
    """The tiny company through both jobs for January and February 2025, built once per test
    process and shared by the modules that only read it: read it, never write it (copy the
    file first, as test_full_disk does)."""
    folder = tmp_path_factory.mktemp("tiny_built")
    instance = DagsterInstance.ephemeral()
    with tiny_fakes(folder):
        run_pipeline("2025-01-01", "2025-03-01", instance)
    return TinyBuild(folder, instance)


def read_rows(warehouse: Path, sql: str, params: dict | None = None) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


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
