"""Looker and Tableau: the PostgreSQL-wire endpoint with a real Postgres client (psycopg on
libpq), and the generated LookML and Tableau files (docs/bi.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import duckdb
import lkml
import psycopg
import pytest

from tests.conftest import ROOT, run_pipeline, tiny_fakes
from warehouse.columns import mart_docs
from warehouse.pg_endpoint import Endpoint
from warehouse.publishing import current_version, publish

PASSWORD = "pg-endpoint-test-password"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bi")
    with tiny_fakes(folder):
        run_pipeline("2025-01-01", "2025-03-01")
    return folder


@pytest.fixture()
def endpoint(built: Path) -> Iterator[int]:
    server = Endpoint(built / "published" / "csm_metrics.duckdb", "127.0.0.1", 0,
                      {"looker": PASSWORD})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def connect(port: int, password: str = PASSWORD) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=port, user="looker", password=password,
                           dbname="csm_metrics", connect_timeout=10, autocommit=True)


def published_rows(built: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(current_version(built / "published" / "csm_metrics.duckdb")),
                        read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_a_postgres_client_reads_the_published_marts(built: Path, endpoint: int) -> None:
    expected = published_rows(built, """
        select csm_id, arr_managed, hours_worked from marts.csm_period_metrics
        where period_grain = 'month' and period_start = date '2025-02-01' order by csm_id""")
    with connect(endpoint) as conn:
        # Extended protocol with a bound parameter, as JDBC and psycopg send it.
        got = conn.execute("""
            select csm_id, arr_managed, hours_worked from marts.csm_period_metrics
            where period_grain = %s and period_start = %s::date order by csm_id""",
                           ("month", "2025-02-01")).fetchall()
        assert got == expected and len(got) >= 2
        # Postgres SQL as Looker writes it, rewritten into DuckDB's.
        months = conn.execute("""
            select to_char(period_start, 'YYYY-MM') as month, sum(total_arr) as arr
            from marts.team_period_metrics where period_grain = 'month'
            group by 1 order by 1""").fetchall()
        assert [m for m, _ in months] == ["2025-01", "2025-02", "2025-03"]
        assert "PostgreSQL" in conn.execute("select version()").fetchone()[0]
        columns = conn.execute("""
            select column_name from information_schema.columns
            where table_schema = 'marts' and table_name = 'csm_period_metrics'""").fetchall()
        assert {c for (c,) in columns} == set(
            c for (c,) in published_rows(built, "select column_name from duckdb_columns() "
                                         "where table_name = 'csm_period_metrics'"))


def test_the_endpoint_refuses_a_wrong_password_and_any_write(built: Path, endpoint: int) -> None:
    with pytest.raises(psycopg.OperationalError):
        connect(endpoint, password="wrong").close()
    with connect(endpoint) as conn, pytest.raises(psycopg.Error, match="read-only"):
        conn.execute("delete from marts.csm_period_metrics")


def test_a_new_session_sees_a_new_publication_and_an_open_one_keeps_its_own(
        built: Path, endpoint: int) -> None:
    with connect(endpoint) as before:
        old = before.execute("select run_id from meta.publication").fetchone()
        with duckdb.connect(str(built / "warehouse.duckdb")) as conn:
            publish(conn, built / "published" / "csm_metrics.duckdb", "republished-run")
        with connect(endpoint) as after:
            assert after.execute("select run_id from meta.publication").fetchone() == (
                "republished-run",)
        assert before.execute("select run_id from meta.publication").fetchone() == old


def test_the_endpoint_will_not_listen_beyond_loopback_without_a_password(built: Path) -> None:
    with pytest.raises(ValueError, match="CSM_METRICS_PG_PASSWORD"):
        Endpoint(built / "published" / "csm_metrics.duckdb", "0.0.0.0", 0, None)


def test_bi_files_parse_and_name_every_column(built: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WAREHOUSE_PATH": str(built / "warehouse.duckdb")}
    env.pop("CSM_METRICS_PUBLISHED_PATH", None)
    done = subprocess.run([sys.executable, "-m", "warehouse", "bi-files", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    model = lkml.load((tmp_path / "lookml" / "csm_metrics.model.lkml").read_text())
    assert {e["name"] for e in model["explores"]} == set(mart_docs())
    for table, doc in mart_docs().items():
        columns = [c for (c,) in published_rows(built, f"""
            select column_name from duckdb_columns()
            where schema_name = 'marts' and table_name = '{table}'""")]
        view = lkml.load((tmp_path / "lookml" / f"{table}.view.lkml").read_text())["views"][0]
        fields = {d["name"]: d for d in [*view.get("dimensions", []),
                                         *view.get("dimension_groups", [])]}
        assert set(fields) - {"row_key"} == set(columns)
        assert all(fields[c]["description"] == doc.columns[c] for c in columns)
        sums = {m["name"] for m in view["measures"] if m["type"] == "sum"}
        assert sums == {f"total_{c}" for c in doc.additive}

        tds = ET.parse(tmp_path / "tableau" / f"{table}.tds").getroot()
        fields_tds = {c.get("name"): c for c in tds.findall("column")}
        assert set(fields_tds) == {f"[{c}]" for c in columns}
        assert all(fields_tds[f"[{c}]"].find("desc/formatted-text/run").text == doc.columns[c]
                   for c in columns)
        inner = tds.find("connection/named-connections/named-connection/connection")
        assert inner.get("class") == "duckdb_jdbc"
        assert inner.get("v-connection_string_file") == str(
            built / "published" / "csm_metrics.duckdb")
