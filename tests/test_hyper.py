"""The Tableau Hyper extract published beside the DuckDB copy (warehouse/hyper.py, docs/bi.md):
opened with Tableau's own Hyper API, it holds the marts' rows, sums and types."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from tableauhyperapi import Connection, CreateMode, SqlType, TableName

from tests.conftest import TinyBuild
from warehouse.columns import mart_docs
from warehouse.hyper import extract_rows, hyper_process
from warehouse.publishing import current_version, extract_path

SUMS = {"csm_period_metrics": ["arr_managed", "hours_worked", "starting_arr"],
        "team_period_metrics": ["total_arr", "hours_worked"],
        "account_period_metrics": ["ending_arr", "hours_all_csms"],
        "csm_activity_hours": ["hours"]}


@pytest.fixture(scope="module")
def built(tiny_built: TinyBuild) -> tuple[Path, DagsterInstance]:
    return tiny_built.folder, tiny_built.instance


def test_the_extract_holds_every_mart_row_and_sum(built: tuple[Path, DagsterInstance],
                                                    tmp_path: Path) -> None:
    folder, _ = built
    link = extract_path(folder / "published" / "csm_metrics.duckdb")
    assert link.is_symlink() and current_version(link).parent.name == "versions"
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as marts, \
            hyper_process(tmp_path) as process, \
            Connection(process.endpoint, current_version(link), CreateMode.NONE) as hyper:
        assert set(hyper.catalog.get_table_names("marts")) == {
            TableName("marts", t) for t in mart_docs()}
        for table, doc in mart_docs().items():
            expected = marts.execute(f"select count(*) from marts.{table}").fetchone()[0]
            assert hyper.execute_scalar_query(
                f'select count(*) from "marts"."{table}"') == expected, table
            # Same rows, column by column: the keys and the grain read back identically.
            keys = ", ".join(f'"{k}"' for k in doc.keys)
            mine = marts.execute(f"select {keys} from marts.{table} order by {keys}").fetchall()
            theirs = hyper.execute_list_query(
                f'select {keys} from "marts"."{table}" order by {keys}')
            assert [tuple(str(v) for v in row) for row in theirs] == [
                tuple(str(v) for v in row) for row in mine], table
        for table, columns in SUMS.items():
            picked = ", ".join(f'sum("{c}")' for c in columns)
            mine = marts.execute(f"select {picked} from marts.{table}").fetchone()
            theirs = hyper.execute_list_query(f'select {picked} from "marts"."{table}"')[0]
            for column, want, got in zip(columns, mine, theirs, strict=True):
                assert want is not None and want != 0, f"{table}.{column} sums to nothing"
                if isinstance(want, Decimal):
                    assert got == want, f"{table}.{column}"  # money: exact
                else:
                    assert got == pytest.approx(want, rel=1e-12), f"{table}.{column}"
        first = marts.execute("select min(loaded_at) from marts.csm_period_metrics").fetchone()
        got = hyper.execute_scalar_query('select min("loaded_at") from "marts".'
                                         '"csm_period_metrics"')
        assert got.to_datetime() == first[0]


def test_the_extract_has_tableau_types(built: tuple[Path, DagsterInstance],
                                       tmp_path: Path) -> None:
    folder, _ = built
    link = extract_path(folder / "published" / "csm_metrics.duckdb")
    with hyper_process(tmp_path) as process, \
            Connection(process.endpoint, current_version(link), CreateMode.NONE) as hyper:
        columns = {str(c.name).strip('"'): c.type for c in hyper.catalog.get_table_definition(
            TableName("marts", "csm_period_metrics")).columns}
    assert columns["arr_managed"] == SqlType.numeric(18, 2)
    assert columns["loaded_at"] == SqlType.timestamp_tz()
    assert columns["period_start"] == SqlType.date()
    assert columns["hours_worked"] == SqlType.double()
    assert columns["accounts_managed"] == SqlType.big_int()
    assert columns["csm_id"] == SqlType.text()
    assert list(tmp_path.glob("hyperd*.log")), "Hyper's logs belong in the folder it was given"


def test_the_published_check_counts_the_extract_rows(
        built: tuple[Path, DagsterInstance]) -> None:
    folder, instance = built
    key = AssetCheckKey(AssetKey(["bi", "published_marts"]), "published_matches_working")
    [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed
    extracted = extract_rows(current_version(
        extract_path(folder / "published" / "csm_metrics.duckdb")))
    assert {t: evaluation.metadata[f"extract_rows_{t}"].value for t in mart_docs()} == extracted
    assert extracted["csm_period_metrics"] > 0


READER = """
import sys
from tableauhyperapi import Connection, CreateMode, HyperProcess, Telemetry
with HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                  parameters={"log_dir": sys.argv[2]}) as process, \\
        Connection(process.endpoint, sys.argv[1], CreateMode.NONE) as hyper:
    hyper.execute_scalar_query('select count(*) from "marts"."csm_period_metrics"')
    print("open", flush=True)
    sys.stdin.readline()
"""


def test_the_extract_is_counted_while_a_tableau_reader_has_it_open(
        built: tuple[Path, DagsterInstance], tmp_path: Path) -> None:
    """A Tableau reader holding the published `.hyper` open (another Hyper process) must not
    make `published_matches_working` raise: the check counts a copy of the immutable version."""
    import shutil
    import subprocess
    import sys

    folder, _ = built
    extract = tmp_path / "versions" / "csm_metrics-1.hyper"
    extract.parent.mkdir()
    shutil.copy(current_version(extract_path(folder / "published" / "csm_metrics.duckdb")),
                extract)
    expected = extract_rows(extract)
    (tmp_path / "logs").mkdir()
    reader = subprocess.Popen([sys.executable, "-c", READER, str(extract), str(tmp_path / "logs")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        assert extract_rows(extract) == expected
    finally:
        reader.communicate("\n", timeout=60)
    assert reader.returncode == 0
