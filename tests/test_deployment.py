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
