"""Bad configuration gives one clear message that names the setting or variable, and no secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipelines.definitions import build_definitions
from sandbox.servers import Sandbox
from tests.conftest import point_at
from tests.tiny_company import tiny_company

ROOT = Path(__file__).resolve().parents[1]


def failures(job_name: str) -> list[str]:
    result = build_definitions().resolve_job_def(job_name).execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    return [event.step_failure_data.error.message for event in result.get_step_failure_events()
            if event.step_failure_data and event.step_failure_data.error]


@pytest.fixture()
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with Sandbox(tiny_company()).start(str(tmp_path)) as sandbox:
        point_at(monkeypatch, sandbox, tmp_path / "warehouse.duckdb")
        yield sandbox


def test_a_partly_configured_source_names_what_is_missing(fakes, monkeypatch) -> None:
    monkeypatch.delenv("SALESFORCE_ACCESS_TOKEN")
    messages = failures("pull_sources")
    assert messages and all("SALESFORCE_ACCESS_TOKEN" in m for m in messages)
    assert all("salesforce is partly configured" in m for m in messages)


def test_a_refused_credential_names_the_variable_and_not_the_secret(fakes, monkeypatch) -> None:
    monkeypatch.setenv("CLOCKIFY_API_KEY", "clk-very-secret-wrong-key")
    messages = failures("pull_sources")
    assert messages and all("CLOCKIFY_API_KEY" in m for m in messages)
    assert not any("clk-very-secret-wrong-key" in m for m in messages)


def test_an_invalid_settings_file_is_one_clear_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('reporting_timezone = "Mars/Olympus"\n')
    env = {**os.environ, "CSM_METRICS_SETTINGS": str(settings),
           "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "dagster", "asset", "list", "-m",
                             "pipelines.definitions"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "setting 'reporting_timezone' must be an IANA time zone" in result.stderr
