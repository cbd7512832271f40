"""A real PostgreSQL server for the tests: initdb into a temporary folder, a free port on
127.0.0.1, started once per test session by the first xdist worker that needs it, shared by the
others, and stopped by the controller at the session's end (tests/session_helpers.py). Each test
gets a database and roles of its own (`pg_target`), so the workers never meet.

It is the project's own local cluster (warehouse/postgres/cluster.py), the one `make pg` runs.
Under root the server runs as the `postgres` user, so its folder lives outside pytest's 0700
temporary tree, in one the `postgres` user can traverse.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.session_helpers import built_once
from warehouse.postgres.cluster import ADMIN, LocalCluster, find_bindir

STATE = "pg_server"  # the shared folder's entry: server.json names the cluster's root and port


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Target:
    """A database of its own on the test server, with a publisher role that is no superuser
    (CREATEROLE and CREATE on the database, like a managed PostgreSQL's admin) and the name
    and password the BI role gets when the publisher creates it."""

    server: LocalCluster
    database: str
    publisher: str
    publisher_password: str
    bi_role: str
    bi_password: str

    def url(self, role: str | None = None, password: str | None = None) -> str:
        role = role or self.publisher
        password = password or (self.publisher_password if role == self.publisher
                                else self.bi_password)
        return f"postgresql://{role}:{password}@127.0.0.1:{self.server.port}/{self.database}"

    @property
    def bi_url(self) -> str:
        return self.url(self.bi_role, self.bi_password)

    def admin(self, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(self.server.url(ADMIN, database or self.database),
                               autocommit=True)


def start_cluster(state: Path) -> None:
    """initdb and start a cluster, and note where it is in `state/server.json`."""
    folder = Path(tempfile.mkdtemp(prefix="csm-metrics-pg-"))
    folder.chmod(0o755)
    cluster = LocalCluster(folder, port=free_port())
    (state / "server.json").write_text(json.dumps({"root": str(folder), "port": cluster.port}))
    cluster.start()


def shared_cluster(state: Path) -> LocalCluster:
    found = json.loads((state / "server.json").read_text())
    return LocalCluster(Path(found["root"]), port=found["port"])


def stop_shared_cluster(session: Path) -> None:
    """In the controller at the session's end: stop the server if a worker started one."""
    if (session / STATE / "server.json").exists():
        cluster = shared_cluster(session / STATE)
        try:
            cluster.stop()
        finally:
            shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> LocalCluster:
    if find_bindir() is None:
        pytest.fail("no PostgreSQL server binaries: .ci/run installs Debian's postgresql")
    return shared_cluster(built_once(STATE, start_cluster))


def new_target(server: LocalCluster, prefix: str = "test") -> Target:
    """A database of its own on `server`, with a publisher role that may create in it and the
    BI role's name and password (the publisher makes that role when it publishes)."""
    tag = secrets.token_hex(4)
    target = Target(server, f"{prefix}_{tag}", f"publisher_{tag}", secrets.token_urlsafe(16),
                    f"bi_{tag}", secrets.token_urlsafe(16))
    with psycopg.connect(server.url(ADMIN, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login createrole password {}").format(
            sql.Identifier(target.publisher), sql.Literal(target.publisher_password)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(target.database)))
        admin.execute(sql.SQL("grant create on database {} to {}").format(
            sql.Identifier(target.database), sql.Identifier(target.publisher)))
    with target.admin() as admin:
        admin.execute("revoke create on schema public from public")
    return target


@pytest.fixture()
def pg_target(pg_server: LocalCluster) -> Iterator[Target]:
    target = new_target(pg_server)
    yield target
    with psycopg.connect(pg_server.url(ADMIN, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database {} with (force)").format(
            sql.Identifier(target.database)))
        for role in (target.bi_role, target.publisher):
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
