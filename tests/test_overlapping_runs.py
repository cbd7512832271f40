"""Overlapping runs: each run judges and publishes its own build only (docs/reliability.md).

The pool serializes steps, not runs. Two runs on a DAGSTER_HOME holding the shipped dagster.yaml
(one `warehouse` slot, op granularity): a healthy run A and a run B whose roster names one
person twice, so that its marts repeat grain keys and its blocking checks fail. The test holds
the pool's slot itself (a claim at a high priority, as a step's) to make the timing certain:
both builds queue, A's runs first, then B's, then A's checks and publishes, on B's build.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
from dagster import DagsterInstance

from pipelines.bi.assets import PUBLISHED
from pipelines.definitions import build_definitions
from pipelines.resources import WAREHOUSE_POOL
from tests.conftest import RANGE_END, RANGE_START, ROOT, TinyBuild, tiny_copy, tiny_fakes
from tests.test_blocking_checks import DUPLICATE_BOB, published_state
from tests.test_stale_runs import shipped_home, wait_until
from tests.tiny_company import tiny_company, tiny_settings

FIRST, LAST = "2025-01-01", "2025-03-01"
GATE = ("overlap-test-gate", "gate")  # the test's own claim on the pool: (run id, step key)


class Gate:
    """The pool's one slot, held by the test: claimed at a priority above any step's."""

    def __init__(self, instance: DagsterInstance) -> None:
        self.storage = instance.event_log_storage

    def hold(self) -> None:
        # The pool at the shipped dagster.yaml's `default_limit`, as a step's first claim on a
        # fresh instance would set it up.
        self.storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        wait_until(lambda: self.storage.claim_concurrency_slot(
            WAREHOUSE_POOL, *GATE, priority=1000).is_claimed, 120, "the test holds the slot")

    def release(self) -> None:
        self.storage.free_concurrency_slot_for_step(*GATE)

    def builds_waiting(self) -> list[str]:
        info = self.storage.get_concurrency_info(WAREHOUSE_POOL)
        return [p.run_id for p in info.pending_steps if p.step_key == "month_marts"]


def start(env: dict[str, str], *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.overlap_run", FIRST, LAST, *flags],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def repeated_keys(version: Path) -> int:
    with duckdb.connect(str(version), read_only=True) as conn:
        row = conn.execute("select count(*) from (select period_grain, period_start, csm_id "
                           "from marts.csm_period_metrics group by all having count(*) > 1)"
                           ).fetchone()
    return int(row[0]) if row else 0


def test_a_run_built_over_by_a_failing_run_neither_fails_nor_publishes_its_build(
        tiny_built: TinyBuild, tmp_path: Path) -> None:
    tiny_copy(tiny_built, tmp_path)  # the pulls, and a good build published (tests/conftest.py)
    home = shipped_home(tmp_path)
    company = tiny_company()
    bad = tmp_path / "duplicated_roster.toml"
    bad.write_text(tiny_settings(company) + DUPLICATE_BOB)
    with tiny_fakes(tmp_path, company), DagsterInstance.from_config(str(home)) as instance:
        good = published_state(tmp_path)
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        gate = Gate(instance)
        gate.hold()
        healthy = start(env)
        wait_until(lambda: len(gate.builds_waiting()) == 1, 120, "A's build waits")
        failing = start({**env, "CSM_METRICS_SETTINGS": str(bad)}, "--duplicate-roster")
        wait_until(lambda: len(gate.builds_waiting()) == 2, 120, "B's build waits")
        gate.release()
        try:
            healthy_out, _ = healthy.communicate(timeout=300)
            failing.communicate(timeout=300)
        finally:
            for process in (healthy, failing):
                if process.poll() is None:
                    process.kill()
        run_a = healthy_out.split()[-1] if healthy_out.split() else ""
        judged = {e.asset_check_key.name: e.metadata.get("judged")
                  for e in _check_evaluations(instance, run_a)}
        # A publish on its own refuses the build in place: a blocking check failed on it.
        alone = build_definitions().resolve_job_def("monthly_metrics").execute_in_process(
            instance=instance, asset_selection=[PUBLISHED],
            tags={RANGE_START: FIRST, RANGE_END: LAST})
        assert alone.success and not alone.get_asset_materialization_events()
    # The healthy run does not fail on the other's build...
    assert healthy.returncode == 0, f"the healthy run failed on the other run's build: {judged}"
    assert judged["csm_period_metrics_keys_unique"].value is False
    # ...the failing run fails on its own checks...
    assert failing.returncode == 1
    # ...and BI still reads the last build whose own run's checks passed.
    version, publisher = published_state(tmp_path)
    assert (version, publisher) == good
    assert repeated_keys(version) == 0


def _check_evaluations(instance: DagsterInstance, run_id: str) -> list:
    return [e.dagster_event.event_specific_data for e in instance.all_logs(run_id)
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
