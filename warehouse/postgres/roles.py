"""The read-only role BI tools log in as, and the scratch schema Looker writes its PDTs into.

The publisher creates the role when it is missing (with LOGIN when it is given a password, as a
group role for analysts' own logins otherwise) and checks it on every publish: a BI role that can
write, create, or reach the server's files would turn a dashboard login into a way into the
database server, so the publish refuses, naming the role and the privilege. A role the BI role
is a member of, through any chain and INHERIT or not, counts as the BI role itself: the login
can SET ROLE to it. The role's password
reaches the server only as a SCRAM verifier computed here by libpq, so the plain password is in
no statement the server could log.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

SCRATCH = "looker_scratch"
EXCESS_PRIVILEGES = (Path(__file__).parent / "excess_privileges.sql").read_text()


class RoleError(RuntimeError):
    """The BI role or its scratch schema cannot be made safe; the message says what to do."""


def scram_verifier(conn: psycopg.Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of `password`, computed client-side (what psql's \\password
    sends), so the server never sees the password itself."""
    return conn.pgconn.encrypt_password(password.encode(), role.encode(),
                                        b"scram-sha-256").decode()


def role_exists(conn: psycopg.Connection, role: str) -> bool:
    row = conn.execute("select 1 from pg_catalog.pg_roles where rolname = %s", [role]).fetchone()
    return row is not None


def ensure_bi_role(conn: psycopg.Connection, role: str, password: str | None) -> list[str]:
    """Create the BI role if missing and its scratch schema; refuse a role with too much.

    Returns what was created, for the run's log. An existing role's password is left alone:
    rotate it with ALTER ROLE (docs/bi.md).
    """
    created = []
    if not role_exists(conn, role):
        login = sql.SQL("login password {}").format(
            sql.Literal(scram_verifier(conn, role, password))) if password else sql.SQL("nologin")
        try:
            with conn.transaction():
                conn.execute(sql.SQL("create role {} {}").format(sql.Identifier(role), login))
        except psycopg.errors.InsufficientPrivilege:
            raise RoleError(
                f"the BI role {role} does not exist and the publisher may not create it "
                "(it has no CREATEROLE): a DBA creates it with the SQL in docs/bi.md") from None
        created.append(f"role {role}")
    check_bi_role(conn, role)
    if not _schema_exists(conn, SCRATCH):
        try:
            _create_scratch(conn, role)
        except psycopg.errors.InsufficientPrivilege:
            raise RoleError(
                f"schema {SCRATCH} (for Looker's derived tables) does not exist and the "
                f"publisher may not create it owned by {role}: a DBA runs the SQL in "
                "docs/bi.md") from None
        created.append(f"schema {SCRATCH} owned by {role}")
    row = conn.execute(
        "select pg_catalog.has_schema_privilege(%s, %s, 'USAGE, CREATE')",
        [role, SCRATCH]).fetchone()
    if not (row and row[0]):
        raise RoleError(f"role {role} cannot create tables in schema {SCRATCH}, where Looker "
                        f"writes its derived tables: ALTER SCHEMA {SCRATCH} OWNER TO {role}")
    return created


def check_bi_role(conn: psycopg.Connection, role: str, building: str = "marts") -> None:
    """Refuse a BI role that can do more than read the marts (see excess_privileges.sql)."""
    held = [r[0] for r in conn.execute(EXCESS_PRIVILEGES,
                                       {"role": role, "building": building}).fetchall()]
    if held:
        raise RoleError(
            f"the BI role {role} must only read the marts, but it has: {', '.join(held)}. "
            "Nothing was published. Revoke these (a membership: REVOKE <role> FROM "
            f"{role}; docs/bi.md lists the grants a BI role needs) or name another role in "
            "CSM_METRICS_POSTGRES_BI_ROLE.")


def _create_scratch(conn: psycopg.Connection, role: str) -> None:
    """CREATE SCHEMA ... AUTHORIZATION needs membership in the owner: a superuser has it; a
    publisher with CREATEROLE (a managed PostgreSQL's admin) takes it for the statement only."""
    statement = sql.SQL("create schema {} authorization {}").format(
        sql.Identifier(SCRATCH), sql.Identifier(role))
    try:
        with conn.transaction():
            conn.execute(statement)
        return
    except psycopg.errors.InsufficientPrivilege:
        pass
    with conn.transaction():
        conn.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(role)))
        conn.execute(statement)
        conn.execute(sql.SQL("revoke {} from current_user").format(sql.Identifier(role)))


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    row = conn.execute("select 1 from pg_catalog.pg_namespace where nspname = %s",
                       [schema]).fetchone()
    return row is not None
