"""The load path alone: `python -m benchmarks.load_path ENTRIES FOLDER [--compare-only]`.

Clockify-shaped time entries, made in pages of 1,000 as the API sends them (a JSON array's bytes,
as the connector hands them on: `RawPage`, counted in DuckDB as the connector counts them), are
pulled and landed by `warehouse.pull.pull_stream` (the raw asset's own function) into a fresh
DuckDB file. Making the pages' bytes is timed on its own and taken out, so the rate is the
landing's (counting each page, staging it, landing it and typing it in staging); the CPU seconds
of the process are reported too, a figure a busy machine disturbs less. With --compare-only, the
same records are written as NDJSON and read by DuckDB's `read_ndjson_objects` and
`read_ndjson`, and a sample is loaded by dlt (when installed) into DuckDB: the ratio is what the
issue measured. Writes load-<ENTRIES>.json in FOLDER; the parent process measures peak memory.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from connectors.clockify.streams import STREAMS
from connectors.pages import RawPage, array_page, warm
from connectors.streams import Stream, Window
from transforms.graph import model_graph
from warehouse.locations import DEFAULT_MEMORY_LIMIT
from warehouse.pull import PullOptions, pull_stream

PAGE = 1000
START = datetime(2023, 11, 1, tzinfo=UTC)
DLT_SAMPLE = 200_000


def records(count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        at = START + timedelta(minutes=n % 1_500_000)
        yield {
            "id": f"{n:024x}", "description": f"Account work [001Kd{n % 20000:010d}AAM]",
            "tagIds": [], "userId": f"{n % 300:024x}", "billable": False, "taskId": None,
            "projectId": None, "workspaceId": "64b7f0c2a1e4c93d5f6e7a81",
            "timeInterval": {"start": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "end": (at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "duration": "PT30M"},
            "hourlyRate": {"amount": 0, "currency": "USD"}, "customFieldValues": [],
            "type": "REGULAR", "kioskId": None, "isLocked": False}


def pages(count: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of distinct records, made by re-stamping one page's records (cheap, so the rate
    measured is the landing's): safe because each page is written out as bytes before the
    next is made."""
    template = list(records(PAGE))
    starts = [r["timeInterval"] for r in template]
    for first in range(0, count, PAGE):
        size = min(PAGE, count - first)
        for n, (record, interval) in enumerate(zip(template[:size], starts, strict=False)):
            number = first + n
            at = START + timedelta(minutes=number % 1_500_000)
            record["id"] = f"{number:024x}"
            record["description"] = f"Account work [001Kd{number % 20000:010d}AAM]"
            record["userId"] = f"{number % 300:024x}"
            interval["start"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        yield template[:size]


def bodies(count: int) -> Iterator[bytes]:
    """The pages as an API response's bytes."""
    for page in pages(count):
        yield orjson.dumps(page)


class GeneratedEntries:
    """A source of `count` generated time entries, in the connector's shape (one read, pages
    of 1,000 as response bytes), so the benchmark lands through the pipeline's own
    `pull_stream`."""

    source = "clockify"
    streams = STREAMS
    max_window_months: int | None = None

    def __init__(self, count: int) -> None:
        self.count = count
        self.request_count = 0
        self.http_seconds = 0.0  # no API: the records are made here
        warm()  # as the connectors' constructors do

    def read(self, stream: Stream, window: Window | None = None,
             since: str | None = None) -> Iterator[RawPage]:
        for body in bodies(self.count):
            self.request_count += 1
            yield array_page(body, "clockify", stream.name)  # as the connector does

    def read_scope(self, stream: Stream) -> frozenset[str] | None:
        return None  # every user's entries: the window is replaced whole


def main(count: int, folder: Path, compare_only: bool) -> dict[str, Any]:
    if compare_only:
        report = ndjson(count, folder) | dlt_load(min(count, DLT_SAMPLE), folder)
        (folder / f"compare-{count}.json").write_text(json.dumps(report, indent=2))
        return report
    started, cpu = time.monotonic(), time.process_time()
    for _ in bodies(count):
        pass
    making, making_cpu = time.monotonic() - started, time.process_time() - cpu

    path = folder / f"load-{count}.duckdb"
    path.unlink(missing_ok=True)
    stream = STREAMS["time_entries"]
    window = Window(START - timedelta(days=1), START + timedelta(days=3 * 366))
    # As the raw step lands: one connection with the pipeline's settings for the step's writes,
    # closed (and checkpointed) when it ends (pipelines/resources.py, `shared_writes`).
    options = PullOptions(staging_folder=str(folder))
    # Loaded before any step runs, as the code location loads it (pipelines/definitions.py):
    # not a cost of landing.
    model_graph()
    source = GeneratedEntries(count)
    started, cpu = time.monotonic(), time.process_time()
    with duckdb.connect(str(path), config={"memory_limit": DEFAULT_MEMORY_LIMIT}) as conn:
        stats = pull_stream(stream, source, lambda: nullcontext(conn),
                            "bench", [window], options)
    landing = time.monotonic() - started - making
    landing_cpu = time.process_time() - cpu - making_cpu
    report: dict[str, Any] = {
        "records": count, "rows_written": stats.rows_written,
        "making_seconds": round(making, 2), "land_seconds": round(landing, 2),
        "land_rows_per_s": round(count / landing),
        "land_cpu_seconds": round(landing_cpu, 2)}
    path.unlink(missing_ok=True)
    (folder / f"load-{count}.json").write_text(json.dumps(report, indent=2))
    return report


def ndjson(count: int, folder: Path) -> dict[str, Any]:
    source = folder / "entries.ndjson"
    with source.open("w") as out:
        for record in records(count):
            out.write(json.dumps(record) + "\n")
    times, cpu_times = {}, {}
    with duckdb.connect() as conn:
        for name, reader in (("ndjson", "read_ndjson_objects"), ("ndjson_typed", "read_ndjson")):
            started, cpu = time.monotonic(), time.process_time()
            conn.execute(f"create or replace table t as select * from {reader}($path)",
                         {"path": str(source)})
            times[name] = time.monotonic() - started
            cpu_times[name] = time.process_time() - cpu
    source.unlink()
    return {"ndjson_rows_per_s": round(count / times["ndjson"]),
            "ndjson_typed_rows_per_s": round(count / times["ndjson_typed"]),
            "ndjson_cpu_seconds": round(cpu_times["ndjson"], 2),
            "ndjson_typed_cpu_seconds": round(cpu_times["ndjson_typed"], 2)}


def dlt_load(count: int, folder: Path) -> dict[str, Any]:
    try:
        import dlt
    except ImportError:
        return {"dlt": "not installed (make bench installs it)"}
    found: dict[str, Any] = {"dlt_sample": count, "dlt_version": dlt.__version__}
    for name, file_format in (("dlt", None), ("dlt_parquet", "parquet")):
        target = folder / f"{name}.duckdb"
        pipeline = dlt.pipeline(pipeline_name=f"bench_{name}", pipelines_dir=str(folder / "dlt"),
                                destination=dlt.destinations.duckdb(str(target)),
                                dataset_name="raw")
        started = time.monotonic()
        pipeline.run(records(count), table_name="time_entries",
                     **({"loader_file_format": file_format} if file_format else {}))
        found[f"{name}_rows_per_s"] = round(count / (time.monotonic() - started))
        target.unlink(missing_ok=True)
    return found


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), "--compare-only" in sys.argv)
