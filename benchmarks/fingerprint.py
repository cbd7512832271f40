"""Fingerprint the marts the real pipeline builds, to prove a refactoring leaves them identical.

Runs both Dagster jobs in this process (as `make demo` does) for the demo company (24 months)
and for the tiny company of the hand-computed tests (three months, then its last month again,
as the daily refresh does), each on a fresh temporary warehouse, and records per mart table its
column names and types, its row count and the md5 of its sorted rows (lineage columns
`as_of`, `loaded_at` and `run_id`, and the quarantine's `seen_at`, left out).

    python -m benchmarks.fingerprint --out /tmp/fingerprint-before.json
    python -m benchmarks.fingerprint --compare /tmp/fingerprint-before.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from dagster import DagsterInstance

from sandbox.company import Company, generate_company
from sandbox.demo import FIRST_MONTH, LAST_MONTH, SETTINGS
from sandbox.servers import Sandbox
from tests.tiny_company import tiny_company, tiny_settings

EXCLUDED = {"as_of", "loaded_at", "run_id", "seen_at"}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(ranges: list[tuple[str, str]]) -> None:
    from pipelines.definitions import build_definitions

    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    assert defs.resolve_job_def("pull_sources").execute_in_process(instance=instance).success
    for first, last in ranges:
        result = defs.resolve_job_def("monthly_metrics").execute_in_process(
            instance=instance, tags={RANGE_START: first, RANGE_END: last})
        assert result.success


def fingerprint_warehouse(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        for table in tables:
            columns = conn.execute(f"describe marts.{table}").fetchall()
            kept = [c[0] for c in columns if c[0] not in EXCLUDED]
            listed = ", ".join(f'"{c}"' for c in kept)
            digest, count = conn.execute(
                f"select md5(coalesce(string_agg(row_text, chr(10) order by row_text), '')), "
                f"count(*) from (select cast(row({listed}) as varchar) as row_text "
                f"from marts.{table})").fetchone()
            out[table] = {"columns": [[c[0], c[1]] for c in columns], "rows": count,
                          "md5": digest}
    return out


def fingerprint_company(company: Company, settings_text: str | None,
                        ranges: list[tuple[str, str]]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fingerprint-") as folder:
        root = Path(folder)
        settings = SETTINGS
        if settings_text is not None:
            settings = root / "settings.toml"
            settings.write_text(settings_text)
        with Sandbox(company).start(str(root)) as sandbox, \
                _environment({**sandbox.env(), "WAREHOUSE_PATH": str(root / "wh.duckdb"),
                              "CSM_METRICS_SETTINGS": str(settings)}):
            _run(ranges)
        return fingerprint_warehouse(root / "wh.duckdb")


def fingerprints() -> dict[str, Any]:
    tiny = tiny_company()
    last = (LAST_MONTH.isoformat(), LAST_MONTH.isoformat())
    return {
        "tiny": fingerprint_company(tiny, tiny_settings(tiny),
                                    [("2025-01-01", "2025-03-01"), ("2025-03-01", "2025-03-01")]),
        "demo": fingerprint_company(generate_company(), None,
                                    [(FIRST_MONTH.isoformat(), LAST_MONTH.isoformat()), last]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    found = fingerprints()
    if args.out:
        args.out.write_text(json.dumps(found, indent=1, sort_keys=True))
    if args.compare:
        expected = json.loads(args.compare.read_text())
        differ = [f"{company}.{table}" for company in sorted(set(expected) | set(found))
                  for table in sorted(set(expected.get(company, {})) | set(found.get(company, {})))
                  if expected.get(company, {}).get(table) != found.get(company, {}).get(table)]
        print("identical" if not differ else f"DIFFERENT: {differ}")
        return 1 if differ else 0
    print(json.dumps({c: {t: v["rows"] for t, v in f.items()} for c, f in found.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
