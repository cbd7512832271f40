"""Another process holding the warehouse file open, as a DuckDB shell or a BI tool would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOLD = ("import duckdb, sys, time\n"
        "conn = duckdb.connect(sys.argv[1])\n"
        "print('holding', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "conn.close()\n"
        "print('released', time.time(), flush=True)\n")


def hold_lock(path: Path | str, seconds: float = 600) -> subprocess.Popen[str]:
    """Start a process that opens `path` read-write for `seconds`; returns once it holds it.
    When it lets go, it prints `released <time.time()>`: see `released_at`."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def released_at(holder: subprocess.Popen[str], timeout: float = 30) -> float:
    """When (time.time()) the holder closed the file; waits for it to exit."""
    assert holder.wait(timeout=timeout) == 0 and holder.stdout is not None
    word, stamp = holder.stdout.readline().split()
    assert word == "released"
    return float(stamp)
