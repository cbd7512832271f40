"""A publish or a marts build run as its own process on a "full disk" (tests/test_full_disk.py).

No mount is needed, so it runs anywhere, root or not: `RLIMIT_FSIZE` caps the size of any file
this process (and the Hyper process it starts) writes, and with SIGXFSZ ignored, a write past the
cap fails with EFBIG ("File too large"), as a write to a full disk fails with ENOSPC. Everything
above the file system runs for real. It prints one JSON line: the error's type and message.

    python -m tests.full_disk publish|marts WAREHOUSE PUBLISHED LIMIT_BYTES
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from datetime import date
from pathlib import Path

import duckdb

from warehouse.marts import build_month_marts
from warehouse.publishing import publish


def main(what: str, warehouse: str, published: str, limit: int) -> None:
    conn = duckdb.connect(warehouse)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        if what == "publish":
            publish(conn, Path(published), "full-disk-run")
        else:
            build_month_marts(conn, date(2025, 1, 1), date(2025, 4, 1), "full-disk-run")
    except Exception as error:  # the point: which error reaches the user
        print(json.dumps({"type": type(error).__name__, "error": str(error)}))
        return
    print(json.dumps({"type": None, "error": None}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
