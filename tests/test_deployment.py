"""Past one machine: the definitions load with a distributed executor on a MotherDuck
warehouse, and refuse combinations that cannot work, naming the variable (docs/scaling.md)."""

from __future__ import annotations

import pytest
from dagster import multiprocess_executor

from pipelines.definitions import build_definitions
from warehouse.locations import DeploymentError


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
        assert defs.resolve_job_def(job).executor_def is expected
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
