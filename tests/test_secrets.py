"""Secrets never appear in output (a failing run's too), run storage, logs, the warehouse, the
published DuckDB copy and Hyper extract, the BI files, or the PostgreSQL BI reads."""

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
# Credentials the fakes refuse: a run given them fails, and must not echo them either.
REFUSED = {
    "SALESFORCE_ACCESS_TOKEN": "sf-REFUSED-00Dxx0000001gPL!AQ4AQFh3k1uYqJk",
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-REFUSED-11111111-2222-3333-4444-555555555555",
    "TOGGL_API_TOKEN": "REFUSED-toggl-1971e9ac3c1d8b6a",
    "CLOCKIFY_API_KEY": "REFUSED-clockify-YmQ4ZTU5OGUtNjQ4",
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
                              ("tag:partitioning=monthly or tag:layer=bi",
                               ["--partition-range", "2025-01-01...2025-02-01"])):
            result = subprocess.run(
                [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
                 "pipelines.definitions", "--select", select, *extra],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-2000:]
            outputs += [result.stdout, result.stderr]
        refused = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize", "-m",
             "pipelines.definitions", "--select", "tag:partitioning=none"],
            cwd=ROOT, env={**env, **REFUSED}, capture_output=True, text=True, timeout=300)
        assert refused.returncode != 0, "a run with refused credentials should fail"
        outputs += [refused.stdout, refused.stderr]
        bi_files = subprocess.run(
            [sys.executable, "-m", "warehouse", "bi-files", "--out", str(tmp_path / "bi")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert bi_files.returncode == 0, bi_files.stderr[-2000:]
        outputs += [bi_files.stdout, bi_files.stderr]

    published = tmp_path / "published"
    files = [p for p in [*home.rglob("*"), warehouse, *published.rglob("*"),
                         *(tmp_path / "bi").rglob("*")] if p.is_file()]
    assert any(p.name == "runs.db" for p in files) and warehouse in files
    assert {".duckdb", ".hyper", ".lkml", ".tds"} <= {p.suffix for p in files}
    blobs = [o.encode() for o in outputs] + [p.read_bytes() for p in files]
    assert sum(map(len, blobs)) > 100_000  # there was plenty to search
    secrets = {**SECRETS, **REFUSED, "PostgreSQL publisher": pg_target.publisher_password,
               "PostgreSQL BI": pg_target.bi_password}
    for name, secret in secrets.items():
        forms = {secret.encode(), base64.b64encode(f"{secret}:api_token".encode())}
        for blob in blobs:
            for form in forms:
                assert form not in blob, f"the {name} secret leaked"

    # DuckDB may compress strings on disk, so search the warehouse's and the published copy's
    # text through SQL as well.
    search_duckdb(warehouse, at_least=50)
    search_duckdb(published / "csm_metrics.duckdb", at_least=20)

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


def search_duckdb(database: Path, at_least: int) -> None:
    with duckdb.connect(str(database), read_only=True) as conn:
        columns = conn.execute("""
            select table_schema, table_name, column_name from information_schema.columns
            where data_type in ('VARCHAR', 'JSON')
              and table_schema in ('raw', 'staging', 'marts')""").fetchall()
        assert len(columns) > at_least
        for schema, table, column in columns:
            for secret in [*SECRETS.values(), *REFUSED.values()]:
                hits = conn.execute(
                    f'select count(*) from {schema}."{table}" '
                    f'where cast("{column}" as varchar) like $pattern',
                    {"pattern": f"%{secret}%"}).fetchone()
                assert hits == (0,), f"{secret[:6]}... found in {schema}.{table}.{column}"
