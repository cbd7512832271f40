"""A run killed while it holds the warehouse pool's slot does not stall every later run.

The runs are `dagster asset materialize` processes on a DAGSTER_HOME holding the shipped
dagster.yaml (one `warehouse` slot, op granularity), as a user runs them; no daemon runs, as with
the CLI alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus

from pipelines.resources import WAREHOUSE_POOL
from tests.conftest import ROOT, TinyBuild, tiny_copy, tiny_fakes

SOURCES = ("--select", "tag:partitioning=none")
MONTHS = ("--select", "tag:partitioning=monthly", "--partition-range", "2025-01-01...2025-01-01")


def shipped_home(folder: Path) -> Path:
    """A DAGSTER_HOME with the repository's deploy/dagster.yaml in it."""
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def materializer(home: Path) -> Callable[..., subprocess.Popen[bytes]]:
    """`dagster asset materialize` in its own process group, on `home`, with this process's
    environment (call it inside `tiny_fakes`)."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "CSM_METRICS_HTTP_TIMEOUT": "300"}

    def materialize(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "pipelines.definitions", *args], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return materialize


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def test_a_run_killed_holding_the_pool_slot_frees_it_for_the_run_waiting(
        tiny_built: TinyBuild, tmp_path: Path) -> None:
    tiny_copy(tiny_built, tmp_path)  # the sources pulled (and a build): what the victim reads
    home = shipped_home(tmp_path)
    processes: list[subprocess.Popen[bytes]] = []
    with tiny_fakes(tmp_path) as fakes, DagsterInstance.from_config(str(home)) as instance:
        materialize = materializer(home)  # with the variables pointing at the fakes
        try:
            # The victim holds the slot while Toggl answers its time-entry search slowly (longer
            # than the test can take to get there).
            fakes.toggl.inject(0, delay_seconds=240.0, path_contains="/search/", times=1)
            victim = materialize(*MONTHS)
            processes.append(victim)

            def holder() -> str | None:
                slots = instance.event_log_storage.get_concurrency_info(
                    WAREHOUSE_POOL).claimed_slots
                return next((s.run_id for s in slots if "time_entries" in s.step_key), None)
            search = f"/reports/api/v3/workspace/{fakes.toggl.workspace_id}/search/time_entries"
            wait_until(lambda: fakes.toggl.requests[search], 120, "the victim reads Toggl")
            victim_run = str(wait_until(holder, 10, "the victim holds the slot"))
            # A second run queues behind it, then the victim is killed.
            waiter = materialize(*SOURCES)
            processes.append(waiter)

            def waiting() -> bool:
                info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
                return any(p.run_id != victim_run for p in info.pending_steps)
            wait_until(waiting, 120, "the second run waits for the slot")
            assert holder() == victim_run, "the victim no longer holds the slot"
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            killed_at = time.monotonic()
            try:
                code = waiter.wait(timeout=120)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    "the run waiting behind the killed run was still waiting 120 s after the "
                    "kill: the killed run kept its pool slot") from None
            assert code == 0, "the run waiting behind the killed run failed"
            assert time.monotonic() - killed_at < 120
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
        # The killed run says what happened to it, and holds nothing.
        run = instance.get_run_by_id(victim_run)
        assert run is not None and run.status == DagsterRunStatus.FAILURE
        failure = [e.message for e in instance.all_logs(victim_run)
                   if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"]
        assert any("process is gone" in (m or "") for m in failure), failure
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert not info.claimed_slots and not info.pending_steps
