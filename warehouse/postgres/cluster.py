"""A PostgreSQL cluster of the project's own, for the demo (`make pg`) and the tests.

It runs from the machine's PostgreSQL server binaries (found on PATH, through `pg_config
--bindir`, or under /usr/lib/postgresql/<version>/bin), listens on 127.0.0.1 only, takes SCRAM
passwords and nothing else (no trust lines, no Unix socket), and keeps its passwords, generated
once, in a 0600 file beside it. initdb and postgres refuse to run as root, so when this process
is root they run as the unprivileged `postgres` user (created by Debian's postgresql package),
which owns the cluster's folder.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from warehouse.postgres.roles import SCRATCH, role_exists, scram_verifier

HOST = "127.0.0.1"
ADMIN = "postgres"
PUBLISHER = "csm_publisher"
BI = "bi"
DATABASE = "csm_metrics"
SERVER_USER = "postgres"  # who runs the server when this process is root
REQUIRED = ("initdb", "pg_ctl", "postgres")
HBA = """\
# csm-metrics (warehouse/postgres/cluster.py): TCP from this machine only, SCRAM passwords only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
"""


class ClusterError(RuntimeError):
    """The local cluster cannot be set up or started; the message says why."""


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH, then pg_config, then Debian's
    versioned folders, newest first."""
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name)) or (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for folder in candidates:
        if all((folder / name).is_file() for name in REQUIRED):
            return folder
    return None


@dataclass
class LocalCluster:
    """`root/cluster` is the data folder, `root/run` the log, `root/passwords.json` the
    passwords of the admin, publisher and BI roles."""

    root: Path
    port: int = 5433

    @property
    def data(self) -> Path:
        return self.root / "cluster"

    @property
    def logfile(self) -> Path:
        return self.root / "run" / "postgresql.log"

    @property
    def secrets_file(self) -> Path:
        return self.root / "passwords.json"

    def bindir(self) -> Path:
        found = find_bindir()
        if found is None:
            raise ClusterError(
                "no PostgreSQL server binaries found (initdb, pg_ctl and postgres on PATH, "
                "through pg_config --bindir, or under /usr/lib/postgresql/*/bin): install "
                "PostgreSQL, e.g. apt-get install postgresql")
        return found

    def passwords(self) -> dict[str, str]:
        """The roles' passwords, generated on first use into a file only its owner can read."""
        if self.secrets_file.exists():
            return json.loads(self.secrets_file.read_text())
        self.root.mkdir(parents=True, exist_ok=True)
        made = {role: secrets.token_urlsafe(24) for role in (ADMIN, PUBLISHER, BI)}
        fd = os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(made, out)
        return made

    def url(self, role: str, database: str = DATABASE) -> str:
        return (f"postgresql://{role}:{self.passwords()[role]}@{HOST}:{self.port}/{database}")

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb, once: UTF-8, C collation, SCRAM, 127.0.0.1 only, this pg_hba.conf."""
        if self.initialized():
            return
        bindir = self.bindir()
        password = self.passwords()[ADMIN]
        for folder in (self.data, self.logfile.parent):
            folder.mkdir(parents=True, exist_ok=True)
            self._own(folder)
        self._check_reachable()
        self.data.chmod(0o700)
        # initdb reads the admin's password from a file the server user can read, for a moment.
        pwfile = self.logfile.parent / "initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
        self._own(pwfile)
        try:
            done = self._run([str(bindir / "initdb"), "-D", str(self.data), "-U", ADMIN,
                              f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C",
                              "--auth=scram-sha-256"])
        finally:
            pwfile.unlink()
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        settings = {"listen_addresses": f"'{HOST}'", "port": str(self.port),
                    "unix_socket_directories": "''",
                    "password_encryption": "'scram-sha-256'"}
        conf = self.data / "postgresql.conf"
        conf.write_text(conf.read_text() + "\n# csm-metrics (warehouse/postgres/cluster.py)\n"
                        + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        (self.data / "pg_hba.conf").write_text(HBA)

    def running(self) -> bool:
        done = self._run([str(self.bindir() / "pg_ctl"), "status", "-D", str(self.data)])
        return done.returncode == 0

    def start(self) -> None:
        """Start the server in the background (it outlives this process); wait until ready."""
        self.init()
        if self.running():
            return
        done = self._run([str(self.bindir() / "pg_ctl"), "start", "-w", "-t", "60",
                          "-D", str(self.data), "-l", str(self.logfile),
                          "-o", f"-p {self.port}"])
        if done.returncode != 0:
            tail = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise ClusterError(f"PostgreSQL did not start on {HOST}:{self.port}: "
                               f"{done.stderr.strip() or done.stdout.strip()}\n{tail}")

    def stop(self) -> bool:
        """Stop the server if it runs (fast shutdown: open sessions are ended)."""
        if not self.initialized() or not self.running():
            return False
        done = self._run([str(self.bindir() / "pg_ctl"), "stop", "-w", "-m", "fast",
                          "-D", str(self.data)])
        if done.returncode != 0:
            raise ClusterError(f"pg_ctl stop failed: {done.stderr.strip()}")
        return True

    def provision(self, database: str = DATABASE) -> None:
        """What a DBA does once (docs/bi.md): the publisher and BI roles, the database, and
        Looker's scratch schema owned by the BI role. Idempotent."""
        passwords = self.passwords()
        with psycopg.connect(self.url(ADMIN, "postgres"), autocommit=True) as admin:
            for role in (PUBLISHER, BI):
                verifier = sql.Literal(scram_verifier(admin, role, passwords[role]))
                verb = "alter" if role_exists(admin, role) else "create"
                admin.execute(sql.SQL(verb + " role {} login password {}").format(
                    sql.Identifier(role), verifier))
            if not admin.execute("select 1 from pg_database where datname = %s",
                                 [database]).fetchone():
                admin.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        with psycopg.connect(self.url(ADMIN, database), autocommit=True) as admin:
            name = sql.Identifier(database)
            admin.execute(sql.SQL("revoke all on database {} from public").format(name))
            admin.execute(sql.SQL("grant connect, temporary on database {} to {}").format(
                name, sql.Identifier(BI)))
            admin.execute(sql.SQL("grant connect, create on database {} to {}").format(
                name, sql.Identifier(PUBLISHER)))
            admin.execute("revoke create on schema public from public")
            admin.execute(sql.SQL("create schema if not exists {} authorization {}").format(
                sql.Identifier(SCRATCH), sql.Identifier(BI)))

    def _check_reachable(self) -> None:
        """As root, the server user must be able to walk down to the cluster's folder."""
        if os.geteuid() != 0 or self._run(["test", "-x", str(self.data)]).returncode == 0:
            return
        closed = next((folder for folder in reversed(self.data.resolve().parents)
                       if self._run(["test", "-x", str(folder)]).returncode != 0), self.root)
        raise ClusterError(
            f"running as root, the server runs as {SERVER_USER!r}, who cannot reach "
            f"{self.root}: {closed} is closed to other users. Open it to them "
            f"(chmod o+x {closed}) or use a checkout {SERVER_USER!r} can reach.")

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = self._server_user()
            os.chown(path, user.pw_uid, user.pw_gid)

    def _server_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ClusterError(
                f"running as root, and PostgreSQL refuses to: create the unprivileged user "
                f"{SERVER_USER!r} (Debian's postgresql package does) or run as another "
                "user") from None

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a server command, as the unprivileged server user when this process is root."""
        extra = {}
        if os.geteuid() == 0:
            user = self._server_user()
            extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                     "cwd": "/"}
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, **extra)
