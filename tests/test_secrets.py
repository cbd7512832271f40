"""Secrets never appear in output, run storage, logs, the warehouse or the PostgreSQL BI reads."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from sandbox.servers import Sandbox
from tests.pg_server import Target
from tests.tiny_company import tiny_company

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "salesforce": "sf-SECRET-00Dxx0000001gPL!AQ4AQFh3k1uYqJk",
    "hubspot": "pat-na1-SECRET-11111111-2222-3333-4444-555555555555",
    "toggl": "SECRET-toggl-1971e9ac3c1d8b6a",
    "clockify": "SECRET-clockify-YmQ4ZTU5OGUtNjQ4",
}


def test_no_secret_is_written_anywhere(tmp_path: Path, pg_target: Target) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    warehouse = tmp_path / "warehouse.duckdb"
    fakes = Sandbox(tiny_company())
    fakes.salesforce.access_token = SECRETS["salesforce"]
    fakes.hubspot.access_token = SECRETS["hubspot"]
    fakes.toggl.api_token = SECRETS["toggl"]
    fakes.clockify.api_key = SECRETS["clockify"]
    outputs = []
    with fakes.start(str(tmp_path)):
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(warehouse),
               "DAGSTER_HOME": str(home), "CSM_METRICS_POSTGRES_URL": pg_target.url(),
               "CSM_METRICS_POSTGRES_BI_ROLE": pg_target.bi_role,
               "CSM_METRICS_POSTGRES_BI_PASSWORD": pg_target.bi_password}
        env.pop("CSM_METRICS_SETTINGS", None)
        for select, extra in (("tag:partitioning=none", []),
                              ("tag:partitioning=monthly or key:bi/postgres_marts",
                               ["--partition-range", "2025-01-01...2025-02-01"])):
            result = subprocess.run(
                [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
                 "pipelines.definitions", "--select", select, *extra],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-2000:]
            outputs += [result.stdout, result.stderr]

    files = [p for p in [*home.rglob("*"), warehouse] if p.is_file()]
    assert any(p.name == "runs.db" for p in files) and warehouse in files
    blobs = [o.encode() for o in outputs] + [p.read_bytes() for p in files]
    assert sum(map(len, blobs)) > 100_000  # there was plenty to search
    secrets = {**SECRETS, "PostgreSQL publisher": pg_target.publisher_password,
               "PostgreSQL BI": pg_target.bi_password}
    for name, secret in secrets.items():
        forms = {secret.encode(), base64.b64encode(f"{secret}:api_token".encode())}
        for blob in blobs:
            for form in forms:
                assert form not in blob, f"the {name} secret leaked"

    # DuckDB may compress strings on disk, so search the warehouse's text through SQL as well.
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        columns = conn.execute("""
            select table_schema, table_name, column_name from information_schema.columns
            where data_type in ('VARCHAR', 'JSON')
              and table_schema in ('raw', 'staging', 'marts')""").fetchall()
        assert len(columns) > 50
        for schema, table, column in columns:
            for secret in SECRETS.values():
                hits = conn.execute(
                    f'select count(*) from {schema}."{table}" '
                    f'where cast("{column}" as varchar) like $pattern',
                    {"pattern": f"%{secret}%"}).fetchone()
                assert hits == (0,), f"{secret[:6]}... found in {schema}.{table}.{column}"

    # The PostgreSQL database BI reads: every text value and every comment.
    with pg_target.admin() as pg:
        texts = pg.execute("""
            select table_name, column_name from information_schema.columns
            where table_schema = 'marts' and data_type = 'text'""").fetchall()
        assert len(texts) > 20
        comments = pg.execute("""
            select obj_description('marts'::regnamespace) union all
            select obj_description(c.oid, 'pg_class') from pg_class c
            where c.relnamespace = 'marts'::regnamespace union all
            select col_description(a.attrelid, a.attnum) from pg_attribute a
            join pg_class c on c.oid = a.attrelid
            where c.relnamespace = 'marts'::regnamespace and a.attnum > 0""").fetchall()
        assert len(comments) > 50
        for secret in secrets.values():
            assert not [c for (c,) in comments if c and secret in c]
            for table, column in texts:
                hits = pg.execute(f'select count(*) from marts."{table}" '
                                  f'where "{column}" like %s', [f"%{secret}%"]).fetchone()
                assert hits == (0,), f"{secret[:6]}... found in PostgreSQL marts.{table}.{column}"
