"""The PostgreSQL publish under hostile or broken conditions, against a real server
(tests/pg_server.py): a BI role that can become a powerful one is refused, every wait on the
server is bounded and named, the DuckDB warehouse is not held while waiting on PostgreSQL, and
views a publish drops are named (warehouse/postgres/, docs/bi.md)."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from dagster import materialize
from psycopg import sql

from pipelines.bi.assets import postgres_marts
from pipelines.bi.resources import PostgresResource
from pipelines.resources import WarehouseResource
from tests.conftest import TinyBuild
from tests.pg_server import Target
from tests.test_postgres import variant
from warehouse.postgres.publishing import PUBLISH_LOCK, PostgresPublishError, publish_marts

SETTING = "CSM_METRICS_POSTGRES_SWAP_WAIT"


@pytest.fixture(scope="module")
def marts(tiny_built: TinyBuild) -> Path:
    return tiny_built.warehouse


@pytest.fixture()
def roles(pg_target: Target) -> Iterator[Callable[[str], str]]:
    """Extra roles for a test, each named uniquely, dropped (with their grants) at its end."""
    made: list[str] = []

    def make(stem: str) -> str:
        made.append(f"{stem}_{secrets.token_hex(3)}")
        return made[-1]

    yield make
    with pg_target.admin() as admin:
        for role in made:
            if admin.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
                admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def run_bounded(action: Callable[[], object], seconds: float) -> BaseException | None:
    """Run `action` in a thread; fail the test (instead of hanging it) when it is still waiting
    after `seconds`. Returns what it raised."""
    raised: list[BaseException] = []

    def body() -> None:
        try:
            action()
        except BaseException as error:  # handed back to the test
            raised.append(error)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"still waiting after {seconds:g}s: the wait is unbounded"
    return raised[0] if raised else None


@pytest.mark.parametrize("case", ["superuser", "createrole through a chain", "createdb",
                                  "noinherit membership", "signal other sessions"])
def test_a_bi_role_that_can_set_role_to_more_than_reading_is_refused_naming_the_membership(
        marts: Path, pg_target: Target, roles: Callable[[str], str], case: str) -> None:
    duck = variant(marts, "first")
    publish_marts(duck, pg_target.url(), "first", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    power, middle = roles("power"), roles("middle")
    expected: list[str] = [power]
    with pg_target.admin() as admin:
        def run(statement: str, *names: str) -> None:
            admin.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))

        if case == "superuser":
            run("create role {} superuser nologin", power)
            run("grant {} to {}", power, pg_target.bi_role)
            expected.append("SUPERUSER")
        elif case == "createrole through a chain":
            run("create role {} createrole nologin", power)
            run("create role {} nologin", middle)
            run("grant {} to {}", power, middle)
            run("grant {} to {}", middle, pg_target.bi_role)
            expected += ["CREATEROLE", f"{pg_target.bi_role} → {middle} → {power}"]
        elif case == "createdb":
            run("create role {} createdb nologin", power)
            run("grant {} to {}", power, pg_target.bi_role)
            expected.append("CREATEDB")
        elif case == "noinherit membership":
            run("alter role {} noinherit", pg_target.bi_role)
            run("create role {} nologin", power)
            run("grant create on database {} to {}", pg_target.database, power)
            run("grant {} to {}", power, pg_target.bi_role)
            expected.append("CREATE on database")
        else:
            run("create role {} nologin", power)
            run("grant pg_signal_backend to {}", power)
            run("grant {} to {}", power, pg_target.bi_role)
            expected = [power, "pg_signal_backend"]
    if case == "superuser":
        # The hazard is real: the BI login takes the role and runs a program on the server.
        with psycopg.connect(pg_target.bi_url, autocommit=True) as pg:
            pg.execute(sql.SQL("set role {}").format(sql.Identifier(power)))
            pg.execute("copy (select 1) to program 'cat > /dev/null'")
    with pytest.raises(PostgresPublishError) as refused:
        publish_marts(variant(marts, "second"), pg_target.url(), "second",
                      bi_role=pg_target.bi_role)
    message = str(refused.value)
    assert pg_target.bi_role in message and "Nothing was published" in message, message
    assert all(part in message for part in expected), (expected, message)
    with pg_target.admin() as admin:
        comment = admin.execute("select obj_description('marts'::regnamespace)").fetchone()[0]
        assert "first" in comment, "a refused publish must change nothing"


def test_a_server_that_never_answers_fails_the_connect_within_the_bound(marts: Path) -> None:
    duck = variant(marts, "run")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        url = f"postgresql://publisher:not-a-secret@127.0.0.1:{port}/csm_metrics"
        started = time.monotonic()
        raised = run_bounded(lambda: publish_marts(duck, url, "run",
                                                   swap_wait_seconds=2), 30)
    assert isinstance(raised, PostgresPublishError), raised
    message = str(raised)
    assert "connect" in message and SETTING in message, message
    assert "not-a-secret" not in message
    assert time.monotonic() - started < 15


def test_a_bi_login_holding_the_publish_lock_fails_the_publish_within_the_bound_naming_it(
        marts: Path, pg_target: Target) -> None:
    publish_marts(variant(marts, "old"), pg_target.url(), "old", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    new = variant(marts, "new")
    with psycopg.connect(pg_target.bi_url, autocommit=True,
                         application_name="lock squatter") as squatter:
        squatter.execute("select pg_advisory_lock(%s)", [PUBLISH_LOCK])
        started = time.monotonic()
        raised = run_bounded(lambda: publish_marts(new, pg_target.url(), "new",
                                                   bi_role=pg_target.bi_role,
                                                   swap_wait_seconds=2), 30)
        assert time.monotonic() - started < 15
    assert isinstance(raised, PostgresPublishError), raised
    message = str(raised)
    assert "advisory lock" in message and "lock squatter" in message, message
    assert f"user {pg_target.bi_role}" in message and SETTING in message, message
    with psycopg.connect(pg_target.bi_url) as pg:
        assert pg.execute("select distinct run_id from marts.team_period_metrics"
                          ).fetchall() == [("old",)]
    publish_marts(new, pg_target.url(), "new", bi_role=pg_target.bi_role)


def test_the_asset_does_not_hold_the_warehouse_while_it_waits_on_postgres(
        marts: Path, pg_target: Target, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(marts, warehouse)
    resources = {"warehouse": WarehouseResource(database=str(warehouse)),
                 "postgres": PostgresResource(url=pg_target.url(), bi_role=pg_target.bi_role,
                                              bi_password=pg_target.bi_password,
                                              swap_wait_seconds=120)}
    assert materialize([postgres_marts], resources=resources).success
    done: list[bool] = []
    with psycopg.connect(pg_target.bi_url, autocommit=True) as squatter:
        squatter.execute("select pg_advisory_lock(%s)", [PUBLISH_LOCK])
        thread = threading.Thread(target=lambda: done.append(
            materialize([postgres_marts], resources=resources).success), daemon=True)
        thread.start()
        with pg_target.admin() as admin:
            deadline = time.monotonic() + 60
            while not admin.execute(
                    "select 1 from pg_stat_activity where application_name = "
                    "'csm-metrics publisher' and datname = %s",
                    [pg_target.database]).fetchone():
                assert time.monotonic() < deadline and thread.is_alive(), "no publisher came"
                time.sleep(0.1)
        time.sleep(0.5)
        # While the publisher waits on PostgreSQL, another process can write the warehouse.
        writer = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])"
             ".execute('create or replace table main.probe as select 1').close()",
             str(warehouse)], capture_output=True, text=True, timeout=120)
    thread.join(timeout=120)
    assert writer.returncode == 0, writer.stderr[-500:]
    assert done == [True]


def test_objects_a_publish_drops_with_the_old_marts_are_named_in_a_warning(
        marts: Path, pg_target: Target) -> None:
    publish_marts(variant(marts, "old"), pg_target.url(), "old", bi_role=pg_target.bi_role,
                  bi_password=pg_target.bi_password)
    with psycopg.connect(pg_target.bi_url, autocommit=True) as pg:
        pg.execute("create view looker_scratch.my_csms as "
                   "select distinct csm_id from marts.csm_period_metrics")
        pg.execute("create table looker_scratch.my_pdt as "
                   "select csm_id from marts.csm_period_metrics")
    logged: list[str] = []
    publish_marts(variant(marts, "new"), pg_target.url(), "new", bi_role=pg_target.bi_role,
                  log=logged.append)
    named = [line for line in logged if "looker_scratch.my_csms" in line]
    assert named, logged
    assert "dropped" in named[0] and "docs/bi.md" in named[0], named
    assert not any("my_pdt" in line for line in logged), "a table is kept, not named"
    with psycopg.connect(pg_target.bi_url) as pg:
        kept = {r[0] for r in pg.execute("select relname from pg_class c join pg_namespace n "
                                         "on n.oid = c.relnamespace "
                                         "where nspname = 'looker_scratch'").fetchall()}
    assert "my_pdt" in kept and "my_csms" not in kept
