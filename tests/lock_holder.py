"""Another process holding the warehouse file open, as a DuckDB shell or a BI tool would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOLD = ("import duckdb, sys, time\n"
        "conn = duckdb.connect(sys.argv[1])\n"
        "print('holding', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n")


def hold_lock(path: Path | str, seconds: float = 600) -> subprocess.Popen[str]:
    """Start a process that opens `path` read-write for `seconds`; returns once it holds it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder
