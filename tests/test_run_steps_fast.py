"""The named jobs' steps: the marts' checks are judged in one step, and no run spends a step on
the freshness checks, which their sensor evaluates (docs/performance.md, The demo's runs)."""

from __future__ import annotations

import pytest
from dagster import AssetCheckKey, AssetKey

from pipelines.definitions import build_definitions
from transforms.contracts import contracts

pytestmark = pytest.mark.fast


def contract_check_keys() -> set[AssetCheckKey]:
    return {AssetCheckKey(AssetKey(["marts", name]), check.name)
            for name, contract in contracts().items() for check in contract.checks}


def test_the_marts_checks_are_one_step_of_each_job_that_builds_the_marts() -> None:
    defs = build_definitions()
    for name in ("monthly_metrics", "refresh"):
        job = defs.resolve_job_def(name)
        steps = {node.name for node in job.graph.nodes}
        checks = [n for n in steps if n not in {"raw_sources", "raw_time_entries",
                                                "month_marts", "bi__published_marts",
                                                "bi__postgres_marts", "bi__report"}]
        # The marts' checks in one step, the published copy's own check in another.
        assert sorted(checks) == ["bi__published_marts_published_matches_working",
                                  "mart_checks"], name
        assert not any("freshness" in step for step in steps), name


def test_the_one_step_holds_every_contract_check_and_blocks_the_publish() -> None:
    defs = build_definitions()
    [checks] = [c for c in defs.asset_checks or [] if getattr(c, "node_def", None) is not None
                and c.node_def.name == "mart_checks"]
    specs = {spec.key: spec for spec in checks.check_specs}
    assert contract_check_keys() <= set(specs)
    assert all(specs[key].blocking for key in contract_check_keys())
    # The publish waits for the step (a failed blocking check stops it).
    job = defs.resolve_job_def("monthly_metrics")
    upstream = job.graph.dependency_structure.input_to_upstream_outputs_for_node(
        "bi__published_marts")
    assert "mart_checks" in {out.node.name for outs in upstream.values() for out in outs}
