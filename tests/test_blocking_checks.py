"""A failed data check stops publishing: BI keeps the last good version (docs/scheduling.md).

The marts' key, waterfall and sum checks are blocking. Here a roster that names one person twice
multiplies her rows, as it did before settings validation refused such a roster at load
(tests/test_settings.py); the validation is let through so that the last line of defence is
what is tested.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.definitions import build_definitions
from tests.conftest import RANGE_END, RANGE_START, TinyBuild, tiny_copy, tiny_fakes
from tests.tiny_company import tiny_company, tiny_settings
from warehouse.publishing import current_version

FIRST, LAST = "2025-01-01", "2025-03-01"
DUPLICATE_BOB = """
[[roster]]
email = "Bob@Example.com "
annual_cost = 50000
"""


def published_state(folder: Path) -> tuple[Path, str]:
    version = current_version(folder / "published" / "csm_metrics.duckdb")
    with duckdb.connect(str(version), read_only=True) as conn:
        run_id = conn.execute("select run_id from meta.publication").fetchone()[0]
    return version, run_id


def test_a_failed_blocking_check_publishes_nothing_and_names_the_keys(
        tiny_built: TinyBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    company = tiny_company()
    tiny_copy(tiny_built, tmp_path)  # both jobs' good build, published (tests/conftest.py)
    with tiny_fakes(tmp_path, company):
        good = published_state(tmp_path)

        settings = tmp_path / "settings.toml"
        settings.write_text(tiny_settings(company) + DUPLICATE_BOB)
        allow_duplicates(monkeypatch)
        defs = build_definitions()
        instance = DagsterInstance.ephemeral()
        result = defs.resolve_job_def("monthly_metrics").execute_in_process(
            instance=instance, tags={RANGE_START: FIRST, RANGE_END: LAST},
            raise_on_error=False)

    assert not result.success
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert "csm_period_metrics_keys_unique" in failed
    # The run's failure names the check; its log names the offending keys.
    errors = [e for e in result.all_events if e.is_step_failure]
    assert any("csm_period_metrics_keys_unique" in str(e.event_specific_data.error)
               for e in errors)
    logged = " ".join(str(r.user_message) for r in instance.all_logs(result.run_id))
    assert "bob@example.com" in logged and "csm_period_metrics_keys_unique" in logged
    # Nothing published: the same version, from the good run, is what BI reads.
    materialized = {e.asset_key for e in result.all_events
                    if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert materialized and all(key.path[0] != "bi" for key in materialized)
    assert published_state(tmp_path) == good


def allow_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a duplicated roster entry past the settings validation (which refuses it at load)."""
    import pipelines.settings as settings

    monkeypatch.setattr(settings, "_distinct_people", lambda people: people)
