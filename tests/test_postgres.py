"""PostgreSQL as the BI serving database, against a real server (tests/pg_server.py): the marts
arrive whole, typed and described; readers never see half a publish; the BI role reads and does
nothing else; Looker's own SQL runs (warehouse/postgres/, docs/bi.md)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from dagster import materialize
from psycopg import sql

from pipelines.bi.assets import postgres_marts
from pipelines.bi.resources import PostgresResource
from pipelines.resources import WarehouseResource
from tests.conftest import ROOT, TinyBuild
from tests.pg_server import Target, free_port
from warehouse.columns import mart_docs
from warehouse.postgres.cluster import LocalCluster
from warehouse.postgres.publishing import PostgresPublishError, publish_marts

TABLES = list(mart_docs())
EXPECTED_TYPES = {"VARCHAR": "text", "DATE": "date", "BIGINT": "bigint",
                  "DOUBLE": "double precision", "DECIMAL(18,2)": "numeric(18,2)",
                  "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "BOOLEAN": "boolean",
                  "INTEGER": "integer"}


@pytest.fixture(scope="module")
def marts(tiny_built: TinyBuild) -> Path:
    """The tiny company's warehouse, built by the real pipeline."""
    return tiny_built.warehouse


@pytest.fixture()
def duck(marts: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(marts), read_only=True) as conn:
        yield conn


def variant(marts: Path, run_id: str, drop_grain: str | None = None
            ) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of the marts stamped with `run_id`, optionally without one grain's
    rows, so that two versions differ in both run_id and row counts."""
    conn = duckdb.connect()
    conn.execute(f"attach '{marts}' as built (read_only)")
    conn.execute("create schema marts")
    for table in TABLES:
        conn.execute(f"create table marts.{table} as select * from built.marts.{table}")
        conn.execute(f"update marts.{table} set run_id = $run", {"run": run_id})
        by_period = "period_grain" in {c for c, *_ in conn.execute(
            f"describe marts.{table}").fetchall()}
        if drop_grain and by_period:
            conn.execute(f"delete from marts.{table} where period_grain = $g", {"g": drop_grain})
    conn.execute("detach built")
    return conn


def counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in TABLES}


def test_every_mart_arrives_exactly_with_postgres_types_comments_and_keys(
        duck: duckdb.DuckDBPyConnection, pg_target: Target) -> None:
    result = publish_marts(duck, pg_target.url(), "run-1", bi_role=pg_target.bi_role,
                           bi_password=pg_target.bi_password)
    assert result.rows == counts(duck) and all(result.rows.values())
    assert f"role {pg_target.bi_role}" in result.created
    docs = mart_docs()
    with psycopg.connect(pg_target.bi_url) as pg:
        for table in TABLES:
            doc = docs[table]
            order = ", ".join(doc.keys)
            # Every value, compared as Python objects: Decimal, date, aware datetime, float, str.
            expected = duck.execute(f"select * from marts.{table} order by {order}").fetchall()
            served = pg.execute(f"select * from marts.{table} order by {order}").fetchall()
            assert served == expected, table
            duck_types = dict(duck.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = 'marts' "
                "and table_name = $t", {"t": table}).fetchall())
            pg_types = dict(pg.execute(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute "
                "where attrelid = %s::regclass and attnum > 0 and not attisdropped",
                [f"marts.{table}"]).fetchall())
            assert pg_types == {c: EXPECTED_TYPES[t] for c, t in duck_types.items()}, table
            assert pg.execute("select obj_description(%s::regclass, 'pg_class')",
                              [f"marts.{table}"]).fetchone()[0] == doc.description
            comments = dict(pg.execute(
                "select attname, col_description(attrelid, attnum) from pg_attribute "
                "where attrelid = %s::regclass and attnum > 0", [f"marts.{table}"]).fetchall())
            assert comments == {c: doc.columns[c] for c in duck_types}, table
            indexed = pg.execute("""
                select i.indisprimary, array_agg(a.attname::text order by k.ord)
                from pg_index i
                cross join unnest(i.indkey) with ordinality as k(attnum, ord)
                join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                where i.indrelid = %s::regclass group by i.indexrelid, i.indisprimary""",
                [f"marts.{table}"]).fetchall()
            assert indexed == [(table != "quarantine", list(doc.keys))], table
            analyzed = pg.execute("select reltuples from pg_class where oid = %s::regclass",
                                  [f"marts.{table}"]).fetchone()[0]
            assert analyzed == len(expected), f"{table} was not analyzed"
        schema_comment = pg.execute("select obj_description('marts'::regnamespace)").fetchone()
        assert "run-1" in schema_comment[0]
        leftovers = pg.execute("select nspname from pg_namespace where nspname like 'marts_%'")
        assert leftovers.fetchall() == []


def test_a_reader_in_a_loop_always_sees_one_whole_version(
        marts: Path, pg_target: Target) -> None:
    versions = {"A": variant(marts, "A"), "B": variant(marts, "B", drop_grain="year")}
    expected = {name: counts(conn) for name, conn in versions.items()}
    assert expected["A"] != expected["B"]
    publish_marts(versions["A"], pg_target.url(), "A", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    seen: list[tuple[str, ...]] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        # Looker's way: READ COMMITTED, several statements in one transaction, and one statement
        # that joins every table. psycopg prepares repeated statements, as drivers do.
        with psycopg.connect(pg_target.bi_url) as pg:
            while not stop.is_set():
                try:
                    with pg.transaction():
                        found = {}
                        for table in reversed(TABLES):
                            found[table] = pg.execute(
                                f"select count(*), min(run_id), max(run_id) from marts.{table}"
                            ).fetchone()
                        whole = pg.execute(" union all ".join(
                            f"select min(run_id), max(run_id), count(*) from marts.{t}"
                            for t in TABLES)).fetchall()
                    runs = {r for _, low, high in found.values() for r in (low, high)}
                    runs |= {r for low, high, _ in whole for r in (low, high)}
                    if len(runs) != 1:
                        errors.append(f"mixed versions {runs}")
                        continue
                    (run,) = runs
                    if {t: n for t, (n, _, _) in found.items()} != expected[run] or \
                            [n for *_, n in whole] != [expected[run][t] for t in TABLES]:
                        errors.append(f"version {run} with other row counts: {found}")
                    seen.append(run)
                except psycopg.Error as error:
                    errors.append(repr(error))
                # A dashboard's pace, not a tight spin: with none, on a loaded machine the swap
                # may never find a moment between transactions (it then fails clearly, the old
                # version still served: test_a_long_open_reader_makes_the_publish_fail_...).
                time.sleep(0.005)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for n in range(6):
            name = "B" if n % 2 == 0 else "A"
            publish_marts(versions[name], pg_target.url(), name, bi_role=pg_target.bi_role,
                          swap_wait_seconds=30)
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors[:5]
    assert {"A", "B"} <= set(seen) and len(seen) > 20
    switches = sum(1 for a, b in itertools.pairwise(seen) if a != b)
    assert switches >= 2, "the readers should have seen several publishes land"


def test_a_long_open_reader_makes_the_publish_fail_clearly_and_the_old_data_stays(
        marts: Path, pg_target: Target) -> None:
    old, new = variant(marts, "old"), variant(marts, "new", drop_grain="year")
    publish_marts(old, pg_target.url(), "old", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    with psycopg.connect(pg_target.bi_url, application_name="a long dashboard") as reader:
        reader.execute("select count(*) from marts.team_period_metrics").fetchone()
        started = time.monotonic()
        with pytest.raises(PostgresPublishError) as failed:
            publish_marts(new, pg_target.url(), "new", bi_role=pg_target.bi_role,
                          swap_wait_seconds=2)
        assert time.monotonic() - started < 20
        message = str(failed.value)
        assert "could not swap" in message and "a long dashboard" in message, message
        assert f"user {pg_target.bi_role}" in message and "still served" in message
        assert reader.execute("select distinct run_id from marts.csm_period_metrics"
                              ).fetchall() == [("old",)]
        reader.rollback()
    with psycopg.connect(pg_target.bi_url) as pg:
        assert pg.execute("select distinct run_id from marts.team_period_metrics"
                          ).fetchall() == [("old",)]
        assert pg.execute("select count(*) from pg_namespace where nspname like 'marts_%'"
                          ).fetchone() == (0,)
    publish_marts(new, pg_target.url(), "new", bi_role=pg_target.bi_role)
    with psycopg.connect(pg_target.bi_url) as pg:
        assert pg.execute("select distinct run_id from marts.team_period_metrics"
                          ).fetchall() == [("new",)]


def test_a_mart_that_breaks_its_grain_is_not_published(
        marts: Path, pg_target: Target) -> None:
    good = variant(marts, "good")
    publish_marts(good, pg_target.url(), "good", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    doubled = variant(marts, "doubled")
    doubled.execute("insert into marts.csm_period_metrics select * from marts.csm_period_metrics "
                    "limit 1")
    with pytest.raises(PostgresPublishError, match=r"csm_period_metrics breaks its grain"):
        publish_marts(doubled, pg_target.url(), "doubled", bi_role=pg_target.bi_role)
    with psycopg.connect(pg_target.bi_url) as pg:
        assert pg.execute("select distinct run_id from marts.csm_period_metrics"
                          ).fetchall() == [("good",)]


def test_the_bi_role_reads_the_marts_writes_only_looker_scratch_and_no_file(
        duck: duckdb.DuckDBPyConnection, pg_target: Target) -> None:
    publish_marts(duck, pg_target.url(), "run", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    refused = [
        "insert into marts.team_period_metrics (period_grain) values ('x')",
        "update marts.csm_period_metrics set csm_name = 'x'",
        "delete from marts.quarantine",
        "truncate marts.quarantine",
        "create table marts.mine (x int)",
        "drop table marts.quarantine",
        "create table public.mine (x int)",
        "create schema mine",
        "copy marts.team_period_metrics to '/tmp/csm-metrics-bi-copy'",
        "copy (select 1) to program 'id'",
        "select pg_read_file('/etc/passwd')",
        "select pg_ls_dir('.')",
        "select lo_import('/etc/passwd')",
        "create table looker_scratch.etc (line text); copy looker_scratch.etc from '/etc/passwd'",
        "alter system set work_mem = '1GB'",
        "set role postgres",
    ]
    with psycopg.connect(pg_target.bi_url, autocommit=True) as pg:
        for statement in refused:
            with pytest.raises(psycopg.Error) as error:
                pg.execute(statement)
            assert isinstance(error.value, psycopg.errors.InsufficientPrivilege), \
                (statement, error.value)
        # Looker's persistent derived tables: CREATE TABLE AS in the scratch schema, then DROP.
        pg.execute("create table looker_scratch.lr_pdt as select csm_id, sum(arr_managed) as arr "
                   "from marts.csm_period_metrics group by csm_id")
        assert pg.execute("select count(*) from looker_scratch.lr_pdt").fetchone()[0] > 0
        pg.execute("drop table looker_scratch.lr_pdt")
        assert pg.execute("select count(*) from marts.csm_period_metrics").fetchone()[0] > 0
        owner = pg.execute("select nspowner::regrole::text from pg_namespace "
                           "where nspname = 'looker_scratch'").fetchone()[0]
        assert owner == pg_target.bi_role
    assert not Path("/tmp/csm-metrics-bi-copy").exists()


@pytest.mark.parametrize("grant, privilege", [
    ("alter role {bi} superuser", "SUPERUSER"),
    ("alter role {bi} createdb", "CREATEDB"),
    ("grant pg_read_server_files to {bi}", "membership in pg_read_server_files"),
    ("grant pg_write_server_files to {bi}", "membership in pg_write_server_files"),
    ("grant pg_execute_server_program to {bi}", "membership in pg_execute_server_program"),
    ("grant create on database {db} to {bi}", "CREATE on database"),
    ("grant create on schema public to {bi}", "CREATE on schema public"),
    ("grant {publisher} to {bi}", "membership in the publisher's role"),
])
def test_a_bi_role_with_too_much_is_refused_naming_it(
        duck: duckdb.DuckDBPyConnection, pg_target: Target, grant: str, privilege: str) -> None:
    publish_marts(duck, pg_target.url(), "first", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    with pg_target.admin() as admin:
        admin.execute(sql.SQL(grant).format(bi=sql.Identifier(pg_target.bi_role),
                                            db=sql.Identifier(pg_target.database),
                                            publisher=sql.Identifier(pg_target.publisher)))
    with pytest.raises(PostgresPublishError) as refused:
        publish_marts(duck, pg_target.url(), "second", bi_role=pg_target.bi_role)
    message = str(refused.value)
    assert pg_target.bi_role in message and privilege in message, message
    with pg_target.admin() as admin:
        comment = admin.execute("select obj_description('marts'::regnamespace)").fetchone()[0]
        assert "first" in comment, "a refused publish must change nothing"


def test_looker_symmetric_aggregates_over_a_one_to_many_join_match_the_plain_sums(
        duck: duckdb.DuckDBPyConnection, pg_target: Target) -> None:
    publish_marts(duck, pg_target.url(), "run", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)

    def symmetric_sum(field: str, key: str) -> str:
        """What Looker's PostgreSQL dialect writes for a sum measure across a fan-out."""
        hashed = (f"('x' || MD5({key} ::varchar))::bit(64)::bigint::DECIMAL(65,0) "
                  f"*18446744073709551616 + ('x' || SUBSTR(MD5({key} ::varchar),17))"
                  f"::bit(64)::bigint::DECIMAL(65,0)")
        return (f"COALESCE(COALESCE(CAST(( SUM(DISTINCT (CAST(FLOOR(COALESCE({field} ,0)"
                f"*(1000000*1.0)) AS DECIMAL(65,0))) + {hashed} ) - SUM(DISTINCT {hashed}) ) "
                f"AS DOUBLE PRECISION) / CAST((1000000*1.0) AS DOUBLE PRECISION), 0), 0)")

    csm_key = ("csm_period_metrics.period_grain || csm_period_metrics.period_start::varchar "
               "|| csm_period_metrics.csm_id")
    looker = f"""
        SELECT
            csm_period_metrics.csm_id AS "csm_period_metrics.csm_id",
            {symmetric_sum("csm_period_metrics.arr_managed", csm_key)}
                AS "csm_period_metrics.total_arr_managed",
            {symmetric_sum("csm_period_metrics.hours_worked", csm_key)}
                AS "csm_period_metrics.total_hours_worked",
            COALESCE(SUM(account_period_metrics.ending_arr), 0)
                AS "account_period_metrics.total_ending_arr",
            COUNT(DISTINCT account_period_metrics.account_id) AS "account_period_metrics.count"
        FROM marts.csm_period_metrics AS csm_period_metrics
        LEFT JOIN marts.account_period_metrics AS account_period_metrics
            ON csm_period_metrics.period_grain = account_period_metrics.period_grain
            AND csm_period_metrics.period_start = account_period_metrics.period_start
            AND csm_period_metrics.csm_id = account_period_metrics.owner_at_end
        WHERE csm_period_metrics.period_grain = 'month'
        GROUP BY 1
        ORDER BY 1
        LIMIT 500"""
    plain = """
        select csm_id, sum(arr_managed)::double precision, sum(hours_worked)
        from marts.csm_period_metrics where period_grain = 'month' group by 1 order by 1"""
    with psycopg.connect(pg_target.bi_url) as pg:
        fanned = pg.execute(looker).fetchall()
        expected = pg.execute(plain).fetchall()
        naive = pg.execute("""
            select c.csm_id, sum(c.arr_managed) from marts.csm_period_metrics c
            join marts.account_period_metrics a on (a.period_grain, a.period_start,
                a.owner_at_end) = (c.period_grain, c.period_start, c.csm_id)
            where c.period_grain = 'month' group by 1""").fetchall()
    assert [row[0] for row in fanned] == [row[0] for row in expected]
    for (csm, arr, hours, _, _), (_, want_arr, want_hours) in zip(fanned, expected, strict=True):
        assert arr == pytest.approx(want_arr, abs=0.01), csm
        assert hours == pytest.approx(want_hours or 0, abs=1e-6), csm
    # The join does fan out: a plain SUM over it would have been wrong.
    assert any(total != dict((r[0], r[1]) for r in expected)[csm] for csm, total in naive)


def test_psql_describes_the_marts_as_the_bi_role(
        duck: duckdb.DuckDBPyConnection, pg_target: Target) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (Debian: postgresql-client)")
    publish_marts(duck, pg_target.url(), "run", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    done = subprocess.run([psql, pg_target.bi_url, "-X", "-v", "ON_ERROR_STOP=1", "-c",
                           r"\d+ marts.csm_period_metrics", "-c", r"\dt+ marts.*"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "numeric(18,2)" in done.stdout and "timestamp with time zone" in done.stdout
    assert '"csm_period_metrics_pkey" PRIMARY KEY' in done.stdout
    assert mart_docs()["csm_period_metrics"].columns["arr_managed"] in done.stdout
    assert all(table in done.stdout for table in TABLES)


def test_the_dba_setup_in_docs_gives_a_publisher_that_publishes(
        duck: duckdb.DuckDBPyConnection, pg_server: LocalCluster) -> None:
    """docs/bi.md's SQL for a managed PostgreSQL, run as written (passwords filled in) by an
    admin that is no superuser, as on RDS or Cloud SQL."""
    text = (ROOT / "docs" / "bi.md").read_text()
    section = text.split("### Setting it up on a managed PostgreSQL", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "docs/bi.md's managed-PostgreSQL section holds the DBA's two blocks"
    passwords = {"<publisher password>": "publisher-secret-1", "<bi password>": "bi-secret-1"}

    def run(conn: psycopg.Connection, block: str) -> None:
        """Statement by statement, as psql sends them (CREATE DATABASE takes no transaction)."""
        for placeholder, value in passwords.items():
            block = block.replace(placeholder, value)
        lines = [line for line in block.splitlines() if not line.startswith("--")]
        for statement in "\n".join(lines).split(";"):
            if statement.strip():
                conn.execute(statement)

    with psycopg.connect(pg_server.url("postgres", "postgres"), autocommit=True) as root:
        root.execute("create role rds_admin login createrole createdb password 'admin-pw'")
    admin = f"postgresql://rds_admin:admin-pw@127.0.0.1:{pg_server.port}"
    try:
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            run(conn, blocks[0])
        with psycopg.connect(f"{admin}/csm_metrics", autocommit=True) as conn:
            run(conn, blocks[1])
        url = f"postgresql://csm_publisher:publisher-secret-1@127.0.0.1:{pg_server.port}/csm_metrics"
        publish_marts(duck, url, "dba-run")
        bi = f"postgresql://bi:bi-secret-1@127.0.0.1:{pg_server.port}/csm_metrics"
        with psycopg.connect(bi) as pg:
            assert pg.execute("select count(*) from marts.csm_period_metrics").fetchone()[0] > 0
    finally:
        with psycopg.connect(pg_server.url("postgres", "postgres"), autocommit=True) as root:
            root.execute("drop database if exists csm_metrics with (force)")
            for role in ("bi", "csm_publisher", "rds_admin"):
                root.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def test_the_asset_publishes_through_dagster_and_is_off_without_a_url(
        marts: Path, pg_target: Target) -> None:
    warehouse = WarehouseResource(database=str(marts))
    off = materialize([postgres_marts], resources={
        "warehouse": warehouse, "postgres": PostgresResource()})
    assert off.success
    [event] = off.get_asset_materialization_events()
    assert event.materialization.metadata["published"].value is False

    on = materialize([postgres_marts], resources={
        "warehouse": warehouse,
        "postgres": PostgresResource(url=pg_target.url(), bi_role=pg_target.bi_role,
                                     bi_password=pg_target.bi_password)})
    assert on.success
    [event] = on.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["published"] is True and meta["rows_csm_period_metrics"] > 0
    assert pg_target.publisher_password not in repr(meta)
    with psycopg.connect(pg_target.bi_url) as pg:
        assert pg.execute("select distinct run_id from marts.team_period_metrics").fetchall() \
            == [tuple(r) for r in duckdb.connect(str(marts), read_only=True).execute(
                "select distinct run_id from marts.team_period_metrics").fetchall()]
        comment = pg.execute("select obj_description('marts'::regnamespace)").fetchone()[0]
        assert on.run_id in comment


def test_pg_start_runs_a_local_scram_only_server_and_pg_stop_stops_it(
        marts: Path, tmp_path: Path) -> None:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"csm-metrics-pg-cli-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    port = free_port()
    env = {**os.environ, "WAREHOUSE_PATH": str(marts)}
    env.pop("CSM_METRICS_PUBLISHED_PATH", None)
    command = [sys.executable, "-m", "warehouse"]
    where = ["--data-dir", str(folder), "--port", str(port)]
    try:
        started = subprocess.run([*command, "pg-start", *where], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip().splitlines()[-1]
        assert re.fullmatch(rf"postgresql://bi:[\w-]+@127\.0\.0\.1:{port}/csm_metrics", url)
        assert (folder / "passwords.json").stat().st_mode & 0o777 == 0o600
        hba = [line.split() for line in (folder / "cluster" / "pg_hba.conf").read_text()
               .splitlines() if line.strip() and not line.startswith("#")]
        assert hba == [["host", "all", "all", "127.0.0.1/32", "scram-sha-256"]]
        with psycopg.connect(url) as pg:
            assert pg.execute("show password_encryption").fetchone() == ("scram-sha-256",)
            assert pg.execute("select count(*) from marts.csm_period_metrics").fetchone()[0] > 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute("select pg_read_file('/etc/passwd')")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(url.replace("bi:", "bi:wrong"), connect_timeout=10)
        again = subprocess.run([*command, "pg-start", *where], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == url
    finally:
        stopped = subprocess.run([*command, "pg-stop", "--data-dir", str(folder)], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert LocalCluster(folder, port).running() is False
        shutil.rmtree(folder, ignore_errors=True)
