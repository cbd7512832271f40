"""A run whose process is gone gives its pool slots back (docs/scheduling.md, "A killed run").

Dagster frees a step's pool slot when the step ends, and its daemon frees the slots of runs that
ended (`run_monitoring.free_slots_after_run_end_seconds`). A run whose process was killed
(SIGKILL, the OOM killer, a reboot) never ends: `dagster asset materialize` has no monitor at
all and the default run launcher no health check, so the run stays STARTED, keeps its slot, and
every later step of the pool waits without limit.

So every run executed with the code location's executor holds an OS lock (`flock`) on a file
named after it, under the Dagster instance's folder, for as long as its process lives: the
kernel drops the lock when the process dies, however it dies. While a run has a step waiting
for a slot, it looks every `CHECK_SECONDS` at the runs holding that pool's slots. A holder whose
run has ended, or whose file is no longer locked, is gone: its run is marked failed (saying
why) and its slots are freed, so the wait ends within seconds. A holder without a file (a run
of another host, or of an older version) cannot be judged: the waiting run's log names it and
says how to free its slot, every `WARN_SECONDS`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from dagster import DagsterInstance, ExecutorDefinition
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.base import Executor
from dagster._core.storage.dagster_run import DagsterRun

CHECK_SECONDS = 2.0
WARN_SECONDS = 300.0
LIVE_FOLDER = ("csm_metrics", "live_runs")


def live_file(instance: DagsterInstance, run_id: str) -> Path:
    """The file a live run keeps locked."""
    return Path(instance.root_directory, *LIVE_FOLDER, f"{run_id}.lock")


def free_command(run_id: str, pool: str) -> str:
    """How an operator frees a slot this module cannot judge."""
    return (f"if its process is gone, mark run {run_id} failed (UI: Runs, Terminate, then "
            f"force termination), and this run frees its slot within {CHECK_SECONDS:g} s; or "
            f"free the slot in the UI (Deployment, Concurrency, {pool}); or delete the run with "
            f"its history, `dagster run delete -f {run_id}` (with the same DAGSTER_HOME)")


@contextlib.contextmanager
def alive(instance: DagsterInstance, run_id: str) -> Iterator[None]:
    """Hold the run's lock file for as long as the block runs (and the process lives)."""
    path = live_file(instance, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children (PEP 446)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)  # releases the lock


def is_gone(instance: DagsterInstance, run_id: str) -> bool | None:
    """True when the run has ended or its process is dead, False while it lives, None when it
    cannot be told (no lock file: another host or an older version)."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return True
    path = live_file(instance, run_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def reap(instance: DagsterInstance, waiting: DagsterRun, pools: set[str],
         warned: dict[str, float]) -> list[str]:
    """Free the slots of the gone runs that hold a slot of `pools` while `waiting` has a step
    waiting there; returns the runs freed. Unjudgeable holders are named in `waiting`'s log
    (at most every WARN_SECONDS each, as `warned` records)."""
    storage = instance.event_log_storage
    if not pools or not storage.supports_global_concurrency_limits:
        return []
    freed: list[str] = []
    for pool, info in storage.get_concurrency_infos(sorted(pools)).items():
        if not any(step.run_id == waiting.run_id for step in info.pending_steps):
            continue
        # A slot is held by the step that claimed it, or by a step it was assigned to that has
        # not claimed it yet (a dead run's queued step is assigned a slot it never takes).
        holders = [(slot.run_id, slot.step_key) for slot in info.claimed_slots]
        holders += [(step.run_id, step.step_key) for step in info.pending_steps
                    if step.assigned_timestamp is not None]
        for holder, step_key in holders:
            if holder == waiting.run_id or holder in freed:
                continue
            gone = is_gone(instance, holder)
            if gone is None:
                if time.monotonic() - warned.get(holder, -WARN_SECONDS) >= WARN_SECONDS:
                    warned[holder] = time.monotonic()
                    instance.report_engine_event(
                        f"Waiting for the `{pool}` pool: run {holder} holds its slot (step "
                        f"{step_key}), and whether its process lives cannot be told from "
                        f"here. {free_command(holder, pool)}.", waiting)
                continue
            if gone:
                _free(instance, holder, waiting, pool)
                freed.append(holder)
    return freed


def _free(instance: DagsterInstance, holder: str, waiting: DagsterRun, pool: str) -> None:
    run = instance.get_run_by_id(holder)
    if run is not None and not run.is_finished:
        instance.report_run_failed(
            run, f"The run's process is gone (killed?) while it held a `{pool}` pool slot: "
                 f"marked failed, and its slots freed, by run {waiting.run_id}.")
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    with contextlib.suppress(FileNotFoundError):
        live_file(instance, holder).unlink()
    instance.report_engine_event(
        f"Freed the `{pool}` pool slot of run {holder}, whose process is gone "
        f"({'it was marked failed' if run is not None and not run.is_finished else 'ended'}).",
        waiting)


@contextlib.contextmanager
def watching(instance: DagsterInstance, run: DagsterRun, pools: set[str]) -> Iterator[None]:
    """While the block runs, free every CHECK_SECONDS the slots that gone runs hold in `pools`
    when this run waits for one."""
    stop = threading.Event()
    warned: dict[str, float] = {}

    def loop() -> None:
        while not stop.wait(CHECK_SECONDS):
            # A failed look is tried again at the next tick; the run itself is not at stake.
            with contextlib.suppress(Exception):
                reap(instance, run, pools, warned)

    thread = threading.Thread(target=loop, name=f"stale-runs-{run.run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=CHECK_SECONDS * 5)


class WatchedExecutor(Executor):
    """Another executor, run while holding the run's lock file and watching its pools."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> RetryMode:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._inner.step_dependency_config

    def execute(self, plan_context: PlanOrchestrationContext,
                execution_plan: ExecutionPlan) -> Iterator:
        instance = plan_context.instance
        run = plan_context.dagster_run
        pools = {pool for step in execution_plan.get_steps_to_execute_in_topo_order()
                 if (pool := step.pool)}
        with alive(instance, run.run_id), watching(instance, run, pools):
            yield from self._inner.execute(plan_context, execution_plan)


class WatchedExecutorDefinition(ExecutorDefinition):
    """An executor definition whose runs free the slots of gone runs they wait for; `inner` is
    the one it wraps."""

    def __init__(self, inner: ExecutorDefinition) -> None:
        create = inner.executor_creation_fn
        assert create is not None, f"executor {inner.name} has no creation function"
        super().__init__(
            name=inner.name, config_schema=inner.config_schema,
            requirements=inner.get_requirements, description=inner.description,
            executor_creation_fn=lambda init_context: WatchedExecutor(create(init_context)))
        self.inner = inner


def watched(definition: ExecutorDefinition) -> ExecutorDefinition:
    """`definition`, with the same name and configuration, whose runs free the slots of gone
    runs they wait for."""
    return WatchedExecutorDefinition(definition)
