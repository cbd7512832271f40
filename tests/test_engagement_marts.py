"""Touchpoints and response time in the marts, on small hand-made inputs computed by hand.

The per-source activity models (int_activities__salesforce and __hubspot: one row per activity
and account it is on), the people, the ownership intervals, the revenue schedules and the
counted time entries are replaced by hand-made rows; everything after them is the project's own
SQL, run by the marts' runner (`build_month_marts`) for January to March 2025 (time zone
UTC):

    account        owner (customer?)            activities (UTC)
    sf:001A Acme   alice (yes)                  inbound Jan 6 09:00, eve's call 11:00 (2 h);
                                                inbound Jan 8 10:00, reply Jan 9 10:00 (24 h);
                                                inbound Jan 12 00:00, reply Jan 13 06:00 (30 h);
                                                alice's call Jan 20; a deleted call, a to-do;
                                                inbound Jan 30 12:00, alice's call Feb 2 12:00
                                                (72 h); a call by an unknown owner Feb 3
    sf:001B Beta   alice, bob from Feb 10 (yes) inbound Feb 8 12:00 (alice's) and Feb 12 12:00
                                                (bob's), bob's call Feb 20 12:00 (288 h, 192 h)
    sf:001C Gamma  bob (yes)                    inbound Jan 25, never answered (a deleted reply
                                                after it answers nothing)
    sf:001D Delta  alice (no)                   alice's call Jan 15
    hs:201 Hub     bob (yes)                    alice's call Jan 10 15:00 on Hub and HubTwo;
                                                inbound Mar 3 10:00, bob's e-mail 10:30 (0.5 h)
    hs:202 HubTwo  alice (yes)                  (the two-company call)

Eve has a CRM user but owns nothing: she is outside the CSM population, so her call counts in no
mart, yet it answers an e-mail (an answer is by anyone). Alice tracked 6 hours in January.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import DagsterInstance

import pipelines.metrics.assets as marts_asset
from connectors.clockify import STREAMS as CLOCKIFY
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.toggl import STREAMS as TOGGL
from pipelines.definitions import build_definitions
from pipelines.settings import Settings
from tests.conftest import RANGE_END, RANGE_START, TinyBuild, tiny_copy, tiny_fakes
from tests.test_blocking_checks import published_state
from warehouse.marts import build_month_marts
from warehouse.schema import prepare

STREAMS = [*SALESFORCE.values(), *HUBSPOT.values(), *TOGGL.values(), *CLOCKIFY.values()]
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
ALICE, BOB, EVE = "alice@example.com", "bob@example.com", "eve@example.com"
ACME, BETA, GAMMA, DELTA = "sf:001A", "sf:001B", "sf:001C", "sf:001D"
HUB, HUB_TWO = "hs:201", "hs:202"

# Interface 1 (the per-source activity models), column by column.
ACTIVITY_COLUMNS = {
    "activity_id": "varchar", "source": "varchar", "kind": "varchar", "direction": "varchar",
    "account_id": "varchar", "owner_ref": "varchar", "occurred_at": "timestamptz",
    "is_touchpoint": "boolean", "is_inbound_email": "boolean", "is_outbound": "boolean",
    "is_deleted": "boolean",
}


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def activity(activity_id: str, account_id: str | None, owner_ref: str | None,
             occurred_at: datetime | None, kind: str = "call", *, touchpoint: bool = True,
             inbound: bool = False, outbound: bool | None = None,
             deleted: bool = False) -> dict[str, Any]:
    source = "hubspot" if activity_id.startswith("hs:") else "salesforce"
    return {
        "activity_id": activity_id, "source": source, "kind": kind,
        "direction": "inbound" if inbound else "outbound", "account_id": account_id,
        "owner_ref": owner_ref, "occurred_at": occurred_at, "is_touchpoint": touchpoint,
        "is_inbound_email": inbound,
        "is_outbound": (touchpoint and not inbound) if outbound is None else outbound,
        "is_deleted": deleted,
    }


def inbound(activity_id: str, account_id: str | None, occurred_at: datetime) -> dict[str, Any]:
    """An inbound e-mail message that is not a touchpoint itself (a Salesforce EmailMessage)."""
    return activity(activity_id, account_id, None, occurred_at, "email", touchpoint=False,
                    inbound=True, outbound=False)


def reply(activity_id: str, account_id: str, occurred_at: datetime) -> dict[str, Any]:
    """An outbound e-mail message (a Salesforce EmailMessage: not a touchpoint, its task is)."""
    return activity(activity_id, account_id, None, occurred_at, "email", touchpoint=False,
                    outbound=True)


ACTIVITIES = [
    # Acme: three answered e-mails in January (2 h, exactly 24 h, 30 h), one answered in February.
    inbound("sf:02s1", ACME, at(1, 6, 9)),
    activity("sf:00T-eve", ACME, "005E", at(1, 6, 11)),  # eve: outside the population
    inbound("sf:02s2", ACME, at(1, 8, 10)),
    reply("sf:02s2r", ACME, at(1, 9, 10)),
    inbound("sf:02s3", ACME, at(1, 12)),
    reply("sf:02s3r", ACME, at(1, 13, 6)),
    activity("sf:00T-a3", ACME, "005A", at(1, 20)),
    activity("sf:00T-deleted", ACME, "005A", at(1, 21), touchpoint=False, outbound=False,
             deleted=True),
    activity("sf:00T-todo", ACME, "005A", at(1, 21), "todo", touchpoint=False),
    inbound("sf:02s4", ACME, at(1, 30, 12)),
    activity("sf:00T-a4", ACME, "005A", at(2, 2, 12)),
    activity("sf:00T-nobody", ACME, "005Z", at(2, 3)),  # an owner no identity knows
    activity("sf:00T-no-instant", ACME, "005A", None),
    activity("sf:00T-no-account", None, "005A", at(1, 15)),
    # Beta changes hands on Feb 10: each e-mail belongs to the owner when it arrived.
    inbound("sf:02s7", BETA, at(2, 8, 12)),
    inbound("sf:02s6", BETA, at(2, 12, 12)),
    activity("sf:00T-b5", BETA, "005B", at(2, 20, 12)),
    # Gamma: an e-mail never answered; a deleted reply does not count.
    inbound("sf:02s5", GAMMA, at(1, 25)),
    activity("sf:00T-deleted-reply", GAMMA, "005B", at(1, 26), "email", touchpoint=False,
             outbound=True, deleted=True),
    # Delta is not a customer: alice's call counts in her touchpoints, not accounts_touched.
    activity("sf:00T-delta", DELTA, "005A", at(1, 15)),
    # One HubSpot call on two companies touches both, once each.
    activity("hs:call:1", HUB, "101", at(1, 10, 15)),
    activity("hs:call:1", HUB_TWO, "101", at(1, 10, 15)),
    # HubSpot e-mails are touchpoints in every direction.
    activity("hs:email:8", HUB, None, at(3, 3, 10), "email", inbound=True, outbound=False),
    activity("hs:email:9", HUB, "102", at(3, 3, 10, 30), "email"),
    activity("hs:email:10", None, None, at(3, 4), "email", inbound=True, outbound=False),
]

IDENTITIES = [
    ("salesforce", "005A", ALICE, "Alice"), ("hubspot", "101", ALICE, "Alice"),
    ("salesforce", "005B", BOB, "Bob"), ("hubspot", "102", BOB, "Bob"),
    ("salesforce", "005E", EVE, "Eve"),
]
NEVER, FOREVER = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
OWNERSHIP = [
    (ACME, ALICE, NEVER, FOREVER), (BETA, ALICE, NEVER, at(2, 10)), (BETA, BOB, at(2, 10), FOREVER),
    (GAMMA, BOB, NEVER, FOREVER), (DELTA, ALICE, NEVER, FOREVER), (HUB, BOB, NEVER, FOREVER),
    (HUB_TWO, ALICE, NEVER, FOREVER),
]
CUSTOMERS = [ACME, BETA, GAMMA, HUB, HUB_TWO]
NAMES = {ACME: "Acme", BETA: "Beta", GAMMA: "Gamma", DELTA: "Delta", HUB: "Hub",
         HUB_TWO: "HubTwo"}


def replace_relation(conn: duckdb.DuckDBPyConnection, relation: str,
                     rows: list[dict[str, Any]], columns: dict[str, str] | None = None) -> None:
    """Stand hand-made rows in for a model: a table with the model's columns (or the given
    ones), and the model's view made to read it."""
    table = f"hand.{relation.split('.')[1]}"
    if columns is None:
        conn.execute(f"create table {table} as select * from {relation} where false")
    else:
        conn.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    for row in rows:
        names = ", ".join(row)
        conn.execute(f"insert into {table} ({names}) values ({', '.join('?' for _ in row)})",
                     list(row.values()))
    conn.execute(f"create or replace view {relation} as select * from {table}")


def build(conn: duckdb.DuckDBPyConnection, activities: list[dict[str, Any]],
          ownership: list[tuple[str, str, datetime, datetime]], customers: list[str],
          names: dict[str, str]) -> None:
    """The marts of January to March 2025 over hand-made activities, ownership and customers
    (alice's six January hours on Acme as the only time entry)."""
    prepare(conn, STREAMS, Settings().for_warehouse(), Settings().tables())
    conn.execute("create schema hand")
    replace_relation(conn, "intermediate.int_activities__salesforce",
                     [a for a in activities if a["source"] == "salesforce"], ACTIVITY_COLUMNS)
    replace_relation(conn, "intermediate.int_activities__hubspot",
                     [a for a in activities if a["source"] == "hubspot"], ACTIVITY_COLUMNS)
    replace_relation(conn, "intermediate.int_people__identities", [
        {"system": s, "ref": r, "csm_id": c, "name": n} for s, r, c, n in IDENTITIES])
    replace_relation(conn, "intermediate.int_ownership__intervals", [
        {"account_id": a, "csm_id": c, "ownership_source": "history", "valid_from": f,
         "valid_to": t} for a, c, f, t in ownership])
    replace_relation(conn, "intermediate.int_accounts__unified", [
        {"account_id": a, "source": "hubspot" if a.startswith("hs:") else "salesforce",
         "account_name": name} for a, name in names.items()])
    replace_relation(conn, "intermediate.int_revenue__schedules", [
        {"deal_id": f"deal-{a}", "account_id": a, "service_start": date(2024, 1, 1),
         "service_end": date(2027, 1, 1), "annual_value": Decimal("12000.00")}
        for a in customers])
    replace_relation(conn, "intermediate.int_time_entries__counted", [
        {"entry_id": "toggl:1", "source": "toggl", "csm_id": ALICE,
         "start_at": at(1, 6, 9), "stop_at": at(1, 6, 15), "is_leave": False,
         "account_id": ACME, "activity": "other", "is_running": False,
         "in_population": True}])
    # The build reads entries through their resolution keys: here each entry is its own key.
    conn.execute("""create or replace view intermediate.int_time_entries__keyed as
        select entry_id, start_at, stop_at, {'entry_id': entry_id} as entry_key,
               hash(entry_key) as key_hash
        from intermediate.int_time_entries__counted""")
    conn.execute("""create or replace view intermediate.int_time_entries__resolved as
        select row_number() over (order by entry_id) as key_id, key_hash, entry_key, csm_id,
               account_id, activity, is_leave, in_population
        from intermediate.int_time_entries__keyed
        inner join intermediate.int_time_entries__counted using (entry_id)""")
    # The time entries of January to March were pulled (docs/metrics.md, Periods).
    conn.execute("insert into raw._windows values ('toggl', 'time_entries', "
                 "timestamptz '2025-01-01 00:00:00+00', timestamptz '2025-04-01 00:00:00+00', "
                 "now(), 'hand')")
    build_month_marts(conn, JAN, date(2025, 4, 1), "hand")


@pytest.fixture(scope="module")
def marts() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as conn:
        build(conn, ACTIVITIES, OWNERSHIP, CUSTOMERS, NAMES)
        yield conn


def one(conn: duckdb.DuckDBPyConnection, table: str, where: str,
        params: dict[str, Any]) -> dict[str, Any]:
    cursor = conn.execute(f"select * from marts.{table} where {where}", params)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    assert len(rows) == 1, (table, params, rows)
    return rows[0]


def csm(conn: duckdb.DuckDBPyConnection, start: date, csm_id: str,
        grain: str = "month") -> dict[str, Any]:
    return one(conn, "csm_period_metrics",
               "period_grain = $g and period_start = $s and csm_id = $c",
               {"g": grain, "s": start, "c": csm_id})


def team(conn: duckdb.DuckDBPyConnection, start: date, grain: str = "month") -> dict[str, Any]:
    return one(conn, "team_period_metrics", "period_grain = $g and period_start = $s",
               {"g": grain, "s": start})


def account(conn: duckdb.DuckDBPyConnection, start: date, account_id: str,
            grain: str = "month") -> dict[str, Any]:
    return one(conn, "account_period_metrics",
               "period_grain = $g and period_start = $s and account_id = $a",
               {"g": grain, "s": start, "a": account_id})


CORRUPTIONS = {
    # A CSM touching more of the book than it holds, and a coverage lost with a book.
    ("accounts_touched_within_book", "touch_ratios_null_without_book"): [
        "update marts.csm_period_metrics set accounts_touched = accounts_managed + 1, "
        "touch_coverage = null where accounts_managed > 0"],
    # Team touchpoints that are not the sum of the people's (checked once the CSM rows pass).
    ("csm_touchpoints_sum_to_team",): [
        "update marts.team_period_metrics set touchpoints = touchpoints + 1"],
}


def test_engagement_checks_block_publishing(tiny_built: TinyBuild, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: marts that break the engagement invariants (written here by
    hand after the build) fail their checks, and nothing is published."""
    build = marts_asset.build_month_marts
    tiny_copy(tiny_built, tmp_path)  # both jobs' good build, published (tests/conftest.py)
    with tiny_fakes(tmp_path):
        good = published_state(tmp_path)
        for checks, statements in CORRUPTIONS.items():
            def corrupted(conn: duckdb.DuckDBPyConnection, *args: Any,
                          statements: list[str] = statements, **kwargs: Any) -> dict[str, int]:
                written = build(conn, *args, **kwargs)
                for statement in statements:
                    conn.execute(statement)
                return written

            monkeypatch.setattr(marts_asset, "build_month_marts", corrupted)
            result = build_definitions().resolve_job_def("monthly_metrics").execute_in_process(
                instance=DagsterInstance.ephemeral(),
                tags={RANGE_START: "2025-01-01", RANGE_END: "2025-03-01"}, raise_on_error=False)
            assert not result.success
            failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
            assert failed == set(checks)
            assert published_state(tmp_path) == good


# An ownerless e-mail answers nothing (docs/metrics.md, Engagement: response time): Zeta
# (alice's) and HubZ (bob's) each get an inbound e-mail at 09:00, an outbound e-mail by nobody
# the identities know at 10:00 (a Salesforce e-mail task by an unknown user, a HubSpot e-mail
# with no owner) and the owner's reply at 12:00: 3 h, not 1 h. A Salesforce outbound
# EmailMessage needs no person: Zeta's e-mail of Jan 8 09:00 is answered by one at 10:00.
ZETA, HUB_Z = "sf:001Z", "hs:301"
OWNERLESS = [
    inbound("sf:02sZ1", ZETA, at(1, 6, 9)),
    activity("sf:00T-z-unknown", ZETA, "005Z", at(1, 6, 10), "email"),
    activity("sf:00T-z-alice", ZETA, "005A", at(1, 6, 12), "email"),
    inbound("sf:02sZ2", ZETA, at(1, 8, 9)),
    reply("sf:02sZ2r", ZETA, at(1, 8, 10)),
    activity("hs:email:31", HUB_Z, None, at(1, 7, 9), "email", inbound=True, outbound=False),
    activity("hs:email:32", HUB_Z, None, at(1, 7, 10), "email"),
    activity("hs:email:33", HUB_Z, "102", at(1, 7, 12), "email"),
]


@pytest.fixture(scope="module")
def ownerless() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as conn:
        build(conn, OWNERLESS, [(ZETA, ALICE, NEVER, FOREVER), (HUB_Z, BOB, NEVER, FOREVER)],
              [ZETA, HUB_Z], {ZETA: "Zeta", HUB_Z: "HubZ"})
        yield conn


