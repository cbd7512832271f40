"""Secrets never appear in output (a failing run's too), run storage, logs, the warehouse, the
published DuckDB copy and Hyper extract, the BI files, or the PostgreSQL BI reads."""

from __future__ import annotations

import base64
from pathlib import Path

import duckdb
import pytest

from tests.cli_backfill import REFUSED, SECRETS, CliBackfill, cli_backfill
from warehouse.postgres.cluster import LocalCluster


@pytest.fixture()
def backfill(pg_server: LocalCluster) -> CliBackfill:
    """The session's README backfill, shared with test_definitions (tests/cli_backfill.py): the
    fakes given known tokens, both runs publishing to PostgreSQL, a run given refused
    credentials, and the BI files."""
    return cli_backfill(pg_server)


def test_no_secret_is_written_anywhere(backfill: CliBackfill) -> None:
    tmp_path, home, warehouse = backfill.folder, backfill.home, backfill.warehouse
    pg_target = backfill.target
    outputs = backfill.outputs()
    assert len(outputs) == 8  # stdout and stderr of both runs, the refused one and bi-files

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
