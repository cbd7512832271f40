"""Where the demo's 24-month backfill spends its time: `python -m benchmarks.demo_profile`.

The demo company, served by the ordinary fakes, is backfilled through both jobs in this process,
with every HTTP exchange timed (around `requests`' adapter, which simple-salesforce, the
connectors' sessions and the HubSpot client's urllib3 pool all end in, or urllib3 itself). Time
inside an exchange is the API's (the fake's work stands in for the vendor's latency); the rest
is the pipeline's: Dagster, landing, SQL, publishing.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import urllib3.connectionpool
from dagster import DagsterInstance

from sandbox.company import generate_company
from sandbox.demo import FIRST_MONTH, LAST_MONTH, SETTINGS
from sandbox.servers import Sandbox

HTTP = {"seconds": 0.0, "requests": 0}
_DEPTH = threading.local()


def timed(original):
    def urlopen(self, *args, **kwargs):
        depth = getattr(_DEPTH, "value", 0)
        _DEPTH.value = depth + 1  # urllib3 calls itself on a retry: count the outer call once
        started = time.monotonic()
        try:
            return original(self, *args, **kwargs)
        finally:
            _DEPTH.value = depth
            if depth == 0:
                HTTP["seconds"] += time.monotonic() - started
                HTTP["requests"] += 1
    return urlopen


def main() -> dict:
    pool = urllib3.connectionpool.HTTPConnectionPool
    pool.urlopen = timed(pool.urlopen)  # type: ignore[method-assign]
    folder = Path(tempfile.mkdtemp(prefix="csm-demo-profile-"))
    with Sandbox(generate_company()).start(str(folder)) as fakes:
        os.environ.update(fakes.env())
        os.environ |= {"WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
                       "CSM_METRICS_SETTINGS": str(SETTINGS)}
        from pipelines.definitions import build_definitions

        defs = build_definitions()
        instance = DagsterInstance.ephemeral()
        started = time.monotonic()
        assert defs.resolve_job_def("pull_sources").execute_in_process(instance=instance).success
        assert defs.resolve_job_def("monthly_metrics").execute_in_process(
            instance=instance, tags={"dagster/asset_partition_range_start": FIRST_MONTH.isoformat(),
                                     "dagster/asset_partition_range_end": LAST_MONTH.isoformat()}
        ).success
        wall = time.monotonic() - started
    report = {"wall_seconds": round(wall, 2), "http_seconds": round(HTTP["seconds"], 2),
              "http_requests": HTTP["requests"], "http_share": round(HTTP["seconds"] / wall, 3)}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
    sys.exit(0)
