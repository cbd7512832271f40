"""The README's command-line backfill on the tiny company, run once per test session.

`test_secrets` (nothing it wrote holds a secret) and `test_definitions` (the README's backfill
command works) both need the same two `dagster asset materialize` runs: the sources, then the
README's monthly selection with its partition range. They read one build (`built_once`): the
fakes given known tokens, the warehouse, the published copy, PostgreSQL, then a run given
refused credentials (which must fail) and the BI files, each process's stdout and stderr kept in
`outputs/`. Readers only read the folder. Its PostgreSQL database lives on the session's server
until the session ends (the server is stopped then, tests/pg_server.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox.servers import Sandbox
from tests.pg_server import Target, new_target
from tests.session_helpers import built_once
from tests.tiny_company import tiny_company
from warehouse.postgres.cluster import LocalCluster

ROOT = Path(__file__).resolve().parents[1]
NAME = "cli_backfill"
SOURCES = "tag:partitioning=none"
README_MONTHS = ("tag:partitioning=monthly or tag:layer=bi",  # docs/backfilling.md
                 "--partition-range", "2025-01-01...2025-03-01")
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


@dataclasses.dataclass(frozen=True)
class CliBackfill:
    folder: Path  # warehouse.duckdb, published/, bi/, dagster_home/, outputs/
    target: Target  # the PostgreSQL database the monthly run published to

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def home(self) -> Path:
        return self.folder / "dagster_home"

    def outputs(self) -> list[str]:
        """Every process's stdout and stderr, in the order they ran."""
        return [p.read_text() for p in sorted((self.folder / "outputs").iterdir())]


def dagster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dagster", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def build(folder: Path, server: LocalCluster) -> None:
    target = new_target(server, "cli")  # left to the session, which stops the server
    fields = dataclasses.asdict(target)
    del fields["server"]
    (folder / "target.json").write_text(json.dumps(fields))
    home = folder / "dagster_home"
    home.mkdir()
    outputs = folder / "outputs"
    outputs.mkdir()
    fakes = Sandbox(tiny_company())
    fakes.salesforce.access_token = SECRETS["salesforce"]
    fakes.hubspot.access_token = SECRETS["hubspot"]
    fakes.toggl.api_token = SECRETS["toggl"]
    fakes.clockify.api_key = SECRETS["clockify"]

    def keep(step: int, result: subprocess.CompletedProcess[str]) -> None:
        (outputs / f"{step}-stdout.txt").write_text(result.stdout)
        (outputs / f"{step}-stderr.txt").write_text(result.stderr)

    with fakes.start(str(folder)):
        env = {**os.environ, **fakes.env(), "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"),
               "DAGSTER_HOME": str(home), "CSM_METRICS_POSTGRES_URL": target.url(),
               "CSM_METRICS_POSTGRES_BI_ROLE": target.bi_role,
               "CSM_METRICS_POSTGRES_BI_PASSWORD": target.bi_password}
        env.pop("CSM_METRICS_SETTINGS", None)
        pulled = dagster(env, "asset", "materialize", "-m", "pipelines.definitions",
                         "--select", SOURCES)
        keep(1, pulled)
        assert pulled.returncode == 0, pulled.stderr[-3000:]
        months = dagster(env, "asset", "materialize", "-m", "pipelines.definitions",
                         "--select", *README_MONTHS)
        keep(2, months)
        assert months.returncode == 0, months.stderr[-3000:]
        refused = dagster({**env, **REFUSED}, "asset", "materialize", "-m",
                          "pipelines.definitions", "--select", SOURCES)
        keep(3, refused)
        assert refused.returncode != 0, "a run with refused credentials should fail"
        bi_files = subprocess.run(
            [sys.executable, "-m", "warehouse", "bi-files", "--out", str(folder / "bi")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        keep(4, bi_files)
        assert bi_files.returncode == 0, bi_files.stderr[-2000:]


def cli_backfill(server: LocalCluster) -> CliBackfill:
    """The session's build (made by the first process that asks); read it, never write it."""
    folder = built_once(NAME, lambda into: build(into, server))
    target = Target(server, **json.loads((folder / "target.json").read_text()))
    return CliBackfill(folder, target)
