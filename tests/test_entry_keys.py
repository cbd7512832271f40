"""The time-entry rules run once per resolution key (docs/architecture.md, Transform layer): a
wrong key would merge entries that resolve differently, or keep hours on a stale resolution.

Real DuckDB, the real models (`int_time_entries__keyed` to `__unified`, and the working models
`wrk_entry_keys`, `wrk_entry_months`, `wrk_entry_periods`) over hand-made staging rows; the
expected accounts and milliseconds are worked out by hand below.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.settings import Settings
from tests.entry_staging import HOUR, WORKING, entry, resolving_views, staged_time_entries
from transforms import ROOT

pytestmark = pytest.mark.fast

SF_A, SF_B = "sf:001000000000000AAA", "sf:001000000000000BBB"
INITECH = "sf:001000000000000III"
AS_OF = datetime(2025, 2, 1, tzinfo=UTC)
INTERMEDIATE = ("int_accounts__by_name", "int_activities__project_names",
                "int_time_entries__projects", "int_time_entries__tags",
                "int_time_entries__keyed", "int_time_entries__keys", "int_time_entries__accounts",
                "int_time_entries__activities", "int_time_entries__resolved",
                "int_time_entries__unified")


ENTRIES = [
    # Same user, project and tags; the descriptions name different accounts.
    entry("toggl:1", "QBR prep sf:001000000000000AAA", "2025-01-06 09:00:00+00",
          "2025-01-06 11:00:00+00"),
    entry("toggl:2", "QBR prep sf:001000000000000BBB", "2025-01-07 09:00:00+00",
          "2025-01-07 12:00:00+00"),
    # Twice the same key: one key, 1 h + 4 h.
    entry("toggl:3", "call", "2025-01-08 09:00:00+00", "2025-01-08 10:00:00+00", "p2"),
    entry("toggl:4", "call", "2025-01-09 09:00:00+00", "2025-01-09 13:00:00+00", "p2"),
]


def connect(*, initech_landed: bool, colliding_hashes: bool = False
            ) -> duckdb.DuckDBPyConnection:
    conn = staged_time_entries(Settings(), ENTRIES)
    accounts = [(SF_A, "Acme"), (SF_B, "Globex")] + ([(INITECH, "Initech")]
                                                     if initech_landed else [])
    resolving_views(conn, accounts, INTERMEDIATE, colliding_hashes)
    conn.execute("""create temp table wrk_periods as
        select 'month' as period_grain, date '2025-01-01' as period_start,
               date '2025-02-01' as period_end, $as_of::timestamptz as as_of""",
                 {"as_of": AS_OF})
    for name in WORKING:
        conn.execute(f"create temp table {name} as\n"
                     + (ROOT / "working" / f"{name}.sql").read_text())
    return conn


def accounts_by_entry(conn: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    return dict(conn.execute("select entry_id, account_id "
                             "from intermediate.int_time_entries__unified").fetchall())


def hours_by_account(conn: duckdb.DuckDBPyConnection) -> dict[str | None, int]:
    return dict(conn.execute("select account_id, sum(milliseconds) from wrk_entry_periods "
                             "group by account_id").fetchall())


@pytest.mark.parametrize("colliding_hashes", [False, True])
def test_entries_that_resolve_differently_keep_their_own_keys(colliding_hashes: bool) -> None:
    conn = connect(initech_landed=False, colliding_hashes=colliding_hashes)
    assert accounts_by_entry(conn) == {"toggl:1": SF_A, "toggl:2": SF_B, "toggl:3": None,
                                       "toggl:4": None}
    # Three keys (entries 3 and 4 share one), whatever their hashes.
    (keys,) = conn.execute("select count(*) from wrk_entry_keys").fetchone()
    assert keys == 3
    assert hours_by_account(conn) == {SF_A: 2 * HOUR, SF_B: 3 * HOUR, None: 5 * HOUR}


def test_a_new_account_name_moves_its_keys_hours() -> None:
    # Before Initech lands, project "Initech" matches no account: 5 h unattributed.
    before = connect(initech_landed=False)
    assert hours_by_account(before)[None] == 5 * HOUR
    # Once it lands, the same key resolves to it by the project's name, and its hours move.
    after = connect(initech_landed=True)
    assert accounts_by_entry(after)["toggl:4"] == INITECH
    assert hours_by_account(after) == {SF_A: 2 * HOUR, SF_B: 3 * HOUR, INITECH: 5 * HOUR}
    (match,) = after.execute("select distinct account_match from "
                             "intermediate.int_time_entries__unified where account_id = $a",
                             {"a": INITECH}).fetchone()
    assert match == "project_name"
