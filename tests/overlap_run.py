"""One run of the marts, their checks and the publishes (monthly_metrics without the pulls), on
the Dagster instance of DAGSTER_HOME, in a process of its own: one side of an overlap
(tests/test_overlapping_runs.py). Prints the run's id; exits 0 when the run succeeded.

`--duplicate-roster` lets a roster naming one person twice past the settings validation, as
tests/test_blocking_checks.py does, so that the blocking checks are what stops it.
"""

from __future__ import annotations

import sys

from dagster import AssetSelection, DagsterInstance


def main(first: str, last: str, *flags: str) -> int:
    if "--duplicate-roster" in flags:
        import pipelines.settings as settings

        settings._distinct_people = lambda people: people  # type: ignore[assignment]
    from pipelines.bi.assets import POSTGRES, PUBLISHED
    from pipelines.definitions import build_definitions
    from pipelines.report.assets import REPORT
    from tests.conftest import RANGE_END, RANGE_START

    defs = build_definitions()
    monthly = AssetSelection.tag("partitioning", "monthly") - AssetSelection.tag("layer", "raw")
    selection = monthly | AssetSelection.assets(PUBLISHED, POSTGRES, REPORT)
    keys = selection.resolve(defs.resolve_asset_graph())
    with DagsterInstance.get() as instance:
        result = defs.resolve_job_def("monthly_metrics").execute_in_process(
            instance=instance, asset_selection=list(keys), raise_on_error=False,
            tags={RANGE_START: first, RANGE_END: last})
    print(result.run_id, flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
