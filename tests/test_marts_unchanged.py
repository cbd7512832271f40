"""The tiny company's marts equal their record (tests/golden/tiny_marts.json): per mart table,
its columns and types, its row count and the md5 of its sorted rows (benchmarks/fingerprint.py,
lineage columns left out). A refactoring of the transform layer must leave them as they are.

A change meant to move numbers or columns writes the record anew, and its diff is reviewed with
the change:

    .venv/bin/python -m tests.test_marts_unchanged

`python -m benchmarks.fingerprint --out/--compare` does the same for the demo company too.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks.fingerprint import fingerprint_warehouse
from tests.conftest import TinyBuild, run_pipeline, tiny_fakes

RECORD = Path(__file__).parent / "golden" / "tiny_marts.json"


def test_the_tiny_companys_marts_equal_their_record(tiny_built: TinyBuild) -> None:
    found = fingerprint_warehouse(tiny_built.warehouse)
    expected = json.loads(RECORD.read_text())
    changed = sorted(t for t in expected.keys() | found.keys() if expected.get(t) != found.get(t))
    assert found and not changed, (
        f"marts differ from {RECORD.name}: {changed}. If the change is meant, write the record "
        "anew (python -m tests.test_marts_unchanged) and review its diff.")


def write_record() -> None:
    """Build the tiny company as `tiny_built` does and record its marts."""
    with tempfile.TemporaryDirectory(prefix="tiny-record-") as folder:
        with tiny_fakes(Path(folder)):
            run_pipeline("2025-01-01", "2025-03-01")
        found = fingerprint_warehouse(Path(folder) / "warehouse.duckdb")
    RECORD.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"written: {RECORD}")


if __name__ == "__main__":
    write_record()
    sys.exit(0)
