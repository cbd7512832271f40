"""Past one machine: the definitions load with a distributed executor on a MotherDuck
warehouse, and refuse combinations that cannot work, naming the variable (docs/scaling.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import multiprocess_executor

from pipelines.definitions import build_definitions
from warehouse.locations import DeploymentError

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["celery", "k8s", "multiprocess"])
def test_definitions_load_with_a_distributed_executor_on_motherduck(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_celery import celery_executor
    from dagster_k8s import k8s_job_executor

    monkeypatch.setenv("CSM_METRICS_EXECUTOR", name)
    monkeypatch.setenv("WAREHOUSE_PATH", "md:csm_metrics")
    monkeypatch.delenv("CSM_METRICS_PUBLISHED_PATH", raising=False)
    defs = build_definitions()
    expected = {"celery": celery_executor, "k8s": k8s_job_executor,
                "multiprocess": multiprocess_executor}[name]
    for job in ("refresh", "monthly_metrics", "pull_sources"):
        # Wrapped so that its runs free a killed run's pool slots (pipelines/stale_runs.py).
        assert defs.resolve_job_def(job).executor_def.inner is expected
    resources = defs.resolve_job_def("refresh").resource_defs
    assert resources["warehouse"].config_schema.default_value["database"] == "md:csm_metrics"
    # Publishing is off: MotherDuck serves concurrent readers itself.
    assert resources["published"].config_schema.default_value["path"] == ""


def test_a_distributed_executor_on_a_duckdb_file_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "celery")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(DeploymentError, match=r"WAREHOUSE_PATH.*MotherDuck"):
        build_definitions()


def test_an_unknown_executor_and_a_token_in_the_path_are_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "spark")
    with pytest.raises(DeploymentError, match="CSM_METRICS_EXECUTOR"):
        build_definitions()
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "in_process")
    monkeypatch.setenv("WAREHOUSE_PATH", "md:csm_metrics?motherduck_token=secret-token-value")
    with pytest.raises(DeploymentError, match="motherduck_token") as refused:
        build_definitions()
    assert "secret-token-value" not in str(refused.value)


def _published_cases(tmp_path) -> dict[str, str]:
    """Published paths that would make the swap (a rename over the path) replace the warehouse,
    or another file, with a link."""
    (tmp_path / "warehouse.duckdb").write_bytes(b"raw tables")
    (tmp_path / "report.duckdb").write_bytes(b"someone else's file")
    (tmp_path / "to-warehouse.duckdb").symlink_to(tmp_path / "warehouse.duckdb")
    (tmp_path / "folder.duckdb").mkdir()
    return {
        "the warehouse itself": str(tmp_path / "warehouse.duckdb"),
        "the warehouse, spelled another way": str(tmp_path / "published" / ".." /
                                                  "warehouse.duckdb"),
        "a symlink to the warehouse": str(tmp_path / "to-warehouse.duckdb"),
        "an existing regular file": str(tmp_path / "report.duckdb"),
        "the warehouse's write-ahead log": str(tmp_path / "warehouse.duckdb.wal"),
        "an existing directory": str(tmp_path / "folder.duckdb"),
    }


@pytest.mark.parametrize("case", [
    "the warehouse itself", "the warehouse, spelled another way", "a symlink to the warehouse",
    "an existing regular file", "the warehouse's write-ahead log", "an existing directory"])
def test_a_published_path_that_would_replace_a_file_is_refused(
        case: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "in_process")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CSM_METRICS_PUBLISHED_PATH", _published_cases(tmp_path)[case])
    with pytest.raises(DeploymentError, match="CSM_METRICS_PUBLISHED_PATH"):
        build_definitions()
    assert (tmp_path / "warehouse.duckdb").read_bytes() == b"raw tables"
    assert (tmp_path / "report.duckdb").read_bytes() == b"someone else's file"


def test_a_warehouse_inside_the_published_versions_folder_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    versions = tmp_path / "versions"  # publishing prunes `<name>-*.duckdb` in it
    versions.mkdir()
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "in_process")
    monkeypatch.setenv("WAREHOUSE_PATH", str(versions / "csm_metrics-main.duckdb"))
    monkeypatch.setenv("CSM_METRICS_PUBLISHED_PATH", str(tmp_path / "csm_metrics.duckdb"))
    with pytest.raises(DeploymentError, match=r"CSM_METRICS_PUBLISHED_PATH.*versions"):
        build_definitions()


def test_the_default_and_an_already_published_link_are_accepted(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CSM_METRICS_EXECUTOR", "in_process")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CSM_METRICS_PUBLISHED_PATH", raising=False)
    published = lambda defs: defs.resolve_job_def("refresh").resource_defs[  # noqa: E731
        "published"].config_schema.default_value["path"]
    assert published(build_definitions()) == str(tmp_path / "published" / "csm_metrics.duckdb")
    # After a publish the path is a link to a version: the next swap replaces only the link.
    (tmp_path / "bi" / "versions").mkdir(parents=True)
    (tmp_path / "bi" / "versions" / "csm_metrics-1.duckdb").write_bytes(b"marts")
    (tmp_path / "bi" / "csm_metrics.duckdb").symlink_to("versions/csm_metrics-1.duckdb")
    monkeypatch.setenv("CSM_METRICS_PUBLISHED_PATH", str(tmp_path / "bi" / "csm_metrics.duckdb"))
    assert published(build_definitions()) == str(tmp_path / "bi" / "csm_metrics.duckdb")


# One object for the deployment (pipelines/deployment.py): every variable validated, naming it;
# the resources built from it; the README's table generated from it.

@pytest.mark.parametrize(("name", "value"), [
    ("CSM_METRICS_WAREHOUSE_LOCK_WAIT", "-1"), ("CSM_METRICS_WAREHOUSE_LOCK_WAIT", "soon"),
    ("CSM_METRICS_POSTGRES_SWAP_WAIT", "nan"), ("CSM_METRICS_HTTP_TIMEOUT", "0"),
    ("CSM_METRICS_HTTP_TIMEOUT", "inf"), ("CLOCKIFY_PAGE_SIZE", "0"),
    ("CLOCKIFY_PAGE_SIZE", "5001"), ("CLOCKIFY_PAGE_SIZE", "ten"),
    ("TOGGL_MIN_REQUEST_INTERVAL", "-0.5"), ("TOGGL_MAX_QUOTA_WAIT", "an hour"),
    ("CSM_METRICS_DUCKDB_MEMORY_LIMIT", "lots"), ("CSM_METRICS_EXECUTOR", "spark")])
def test_a_wrong_deployment_variable_stops_the_code_location_naming_it(
        name: str, value: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from pipelines.deployment import Deployment

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv(name, value)
    with pytest.raises(DeploymentError, match=name) as refused:
        Deployment.from_env()
    assert repr(value) in str(refused.value)
    with pytest.raises(DeploymentError, match=name):
        build_definitions()


def test_every_numeric_variable_refuses_infinite_nan_and_huge_values(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """`CSM_METRICS_HTTP_TIMEOUT=1e300` passed `> 0` and overflowed deep in a run: every
    number the deployment declares is finite and bounded, refused naming its variable."""
    from pipelines.deployment import Deployment

    numeric = [info.json_schema_extra["env"] for info in Deployment.model_fields.values()
               if info.annotation in (int, float)]
    assert {"CSM_METRICS_HTTP_TIMEOUT", "CLOCKIFY_PAGE_SIZE",
            "CSM_METRICS_POSTGRES_SWAP_WAIT"} <= set(numeric)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    accepted = []
    for name in numeric:
        for value in ("inf", "-inf", "nan", "1e300", str(2**62)):
            monkeypatch.setenv(name, value)
            try:
                Deployment.from_env()
            except DeploymentError as error:
                assert name in str(error), (name, value, str(error))
            else:
                accepted.append((name, value))
        monkeypatch.delenv(name)
    assert not accepted
    monkeypatch.setenv("CSM_METRICS_HTTP_TIMEOUT", "1e300")
    with pytest.raises(DeploymentError, match="CSM_METRICS_HTTP_TIMEOUT"):
        build_definitions()


def test_the_deployment_reaches_the_resources(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    env = {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "CSM_METRICS_WAREHOUSE_LOCK_WAIT": "7",
           "CSM_METRICS_DUCKDB_MEMORY_LIMIT": "1GB", "CLOCKIFY_PAGE_SIZE": "250",
           "CSM_METRICS_HTTP_TIMEOUT": "33", "TOGGL_MIN_REQUEST_INTERVAL": "0.25",
           "TOGGL_MAX_QUOTA_WAIT": "45", "CSM_METRICS_POSTGRES_BI_ROLE": "looker",
           "CSM_METRICS_POSTGRES_SWAP_WAIT": "12", "CSM_METRICS_PUBLISHED_PATH": "",
           "CSM_METRICS_SETTINGS": str(ROOT / "sandbox" / "settings.toml")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    resources = build_definitions().resolve_job_def("refresh").resource_defs

    def config(key: str) -> dict:
        return resources[key].config_schema.default_value

    def has(key: str, **expected: object) -> bool:
        return config(key).items() >= expected.items()

    assert has("warehouse", database=env["WAREHOUSE_PATH"], lock_wait_seconds=7.0,
               memory_limit="1GB")
    assert config("published")["path"] == ""  # empty: publishing off
    assert config("settings")["path"] == env["CSM_METRICS_SETTINGS"]
    assert config("clockify")["page_size"] == 250
    assert has("toggl", min_request_interval=0.25, max_quota_wait=45.0)
    assert has("postgres", bi_role="looker", swap_wait_seconds=12.0)
    for source in ("salesforce", "hubspot", "toggl", "clockify"):
        assert config(source)["http_timeout"] == 33.0, source


def test_the_http_timeout_reaches_every_connector() -> None:
    from pipelines.crm.resources import HubSpotResource, SalesforceResource
    from pipelines.settings import Settings
    from pipelines.time_tracking.resources import ClockifyResource, TogglResource

    settings = Settings()
    hubspot = HubSpotResource(access_token="pat", http_timeout=9).connector(settings)
    salesforce = SalesforceResource(instance_url="https://example.my.salesforce.com",
                                    access_token="token", http_timeout=9).connector(settings)
    toggl = TogglResource(api_token="t", workspace_id="1", http_timeout=9).connector()
    clockify = ClockifyResource(api_key="k", workspace_id="w", http_timeout=9).connector()
    assert hubspot.timeout == (10.0, 9.0)
    for connector in (salesforce, toggl, clockify):
        assert connector.session.timeout == (10.0, 9.0), connector.source


def test_the_readme_variables_table_is_generated_from_the_deployment() -> None:
    from pipelines.deployment import README, with_readme_table

    text = README.read_text()
    assert with_readme_table(text) == text, (
        "README.md's variables table differs from pipelines/deployment.py: run "
        "`.venv/bin/python -m pipelines.deployment --readme`")


def test_every_variable_the_code_reads_is_declared_and_only_the_deployment_reads_them() -> None:
    """The README's table lists what the code reads, and nothing it does not: every name in
    `os.environ`, `getenv`, `EnvVar(...)` or `env(...)` in the code is declared, and only
    pipelines/deployment.py reads the environment (but for the settings' own default path and
    requests' CA-bundle variables, which the libraries' conventions name)."""
    import re

    from pipelines.deployment import LIBRARY_VARIABLES, REFERENCES, variable_names
    from pipelines.settings import SETTINGS_ENV

    declared = variable_names()
    reads = re.compile(r"""(?:environ(?:\.get)?[\[(]|getenv\(|EnvVar\(|\benv\()\s*["']([^"']+)""")
    readers: dict[str, set[str]] = {}
    for folder in ("connectors", "pipelines", "warehouse"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in reads.findall(path.read_text()):
                readers.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert set(readers) <= declared, set(readers) - declared
    library = {n for r in LIBRARY_VARIABLES for n in r.names}
    for name, files in readers.items():
        expected = {"connectors/http.py"} if name in library else {"pipelines/definitions.py"}
        assert files == expected, (name, files)
    # The settings' default path is the deployment's variable (read there, passed on).
    assert SETTINGS_ENV in declared and SETTINGS_ENV not in readers
    # Every reference is handed to a resource, every library variable is read by its library.
    assert {n for r in REFERENCES for n in r.names} <= set(readers)
    assert readers["REQUESTS_CA_BUNDLE"] == readers["CURL_CA_BUNDLE"] == {"connectors/http.py"}
    assert {n for r in LIBRARY_VARIABLES for n in r.names} - set(readers) == {"motherduck_token"}
