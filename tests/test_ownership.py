"""Owner history gives the right owner at a past instant, from both CRMs' real history shapes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors.clockify import ClockifyConnector
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from connectors.toggl import TogglConnector
from pipelines.crm import assets as crm
from pipelines.settings import Settings
from pipelines.time_tracking import assets as time_tracking
from sandbox.company import Account, Company, Deal, Person, TimeEntry, utc
from sandbox.servers import Sandbox
from tests.conftest import read_rows, run_pipeline, tiny_fakes
from tests.tiny_company import ALICE, BOB, CAROL, tiny_company
from warehouse.loading import land
from warehouse.schema import prepare


def test_owner_at_past_instants_matches_the_company(
        demo_company: Company, demo_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", demo_sandbox.ca_bundle)
    connectors = [
        SalesforceConnector(demo_sandbox.salesforce.base_url,
                            demo_sandbox.salesforce.access_token),
        HubSpotConnector(demo_sandbox.hubspot.access_token, demo_sandbox.hubspot.base_url),
    ]
    with duckdb.connect(":memory:") as conn:
        # Every stream's raw table must exist for the views; only the CRMs are pulled here.
        prepare(conn, [*crm.STREAMS, *time_tracking.STREAMS], Settings().for_warehouse(),
                Settings().tables())
        for connector in connectors:
            for stream in connector.streams.values():
                land(conn, stream, connector.read(stream), "run")

        people = {p.key: p.email for p in demo_company.people}
        moved = [a for a in demo_company.accounts if len(a.owners) > 1]
        assert {a.source for a in moved} == {"salesforce", "hubspot"}
        checked = 0
        for account in demo_company.accounts:
            changed_at = account.owners[-1][0]
            # Just before and just after the last change (or creation), and long before.
            for instant in (changed_at - timedelta(hours=1), changed_at + timedelta(hours=1),
                            changed_at - timedelta(days=400)):
                # Before its first history entry a HubSpot company had no owner; a Salesforce
                # account had its first change's old owner (docs/metrics.md, "Ownership at an
                # instant").
                owner = account.owner_at(instant)
                if account.source == "salesforce":
                    owner = owner or account.owners[0][1]
                expected = people[owner] if owner else "unassigned"
                row = conn.execute("""
                    select csm_id, ownership_source from intermediate.int_ownership__intervals
                    where account_id = $account and valid_from <= $at and $at < valid_to""",
                                   {"account": account.account_id, "at": instant}).fetchall()
                assert row and row[0][0] == expected, (account.name, instant, row, expected)
                checked += 1
        assert checked == 3 * len(demo_company.accounts)
        sources = conn.execute("select distinct ownership_source from "
                               "intermediate.int_ownership__intervals order by 1").fetchall()
        assert sources == [("current",), ("history",)]


def _pulled(sandbox: Sandbox, connectors: list) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    prepare(conn, [*crm.STREAMS, *time_tracking.STREAMS], Settings().for_warehouse(),
            Settings().tables())
    for connector in connectors:
        for stream in connector.streams.values():
            if stream.write_mode != "replace_window":
                land(conn, stream, connector.read(stream), "run")
    return conn


def test_hubspot_company_is_unassigned_before_its_first_owner_entry(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    company = tiny_company()
    created = utc(2023, 1, 1)
    assigned = utc(2025, 2, 5, 10)
    company.accounts.append(Account("a10", "Wonka", "hubspot", created,
                                    [(created, None), (assigned, "carol")]))
    with Sandbox(company).start(str(tmp_path)) as sandbox:
        # HubSpot writes no history entry for a property a record was created without.
        wonka = next(c for c in sandbox.hubspot.companies if c["properties"]["name"] == "Wonka")
        assert [e["timestamp"] for e in wonka["_history"]["hubspot_owner_id"]] == [
            "2025-02-05T10:00:00.000Z"]
        conn = _pulled(sandbox, [HubSpotConnector(sandbox.hubspot.access_token,
                                                  sandbox.hubspot.base_url)])
    rows = conn.execute("""
        select csm_id, ownership_source, valid_to from intermediate.int_ownership__intervals
        where account_id = $account order by valid_from""",
                        {"account": company.accounts[-1].account_id}).fetchall()
    assert [r[:2] for r in rows] == [("unassigned", "history"), ("carol@example.com", "history")]
    assert rows[0][2] == assigned


def test_tracker_users_who_left_keep_their_email(tmp_path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A user the tracker stops listing (removed, deactivated) still resolves to her e-mail."""
    company = tiny_company()
    with Sandbox(company).start(str(tmp_path)) as sandbox:
        connectors = [
            TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                           sandbox.toggl.base_url, min_interval=0),
            ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                              f"{sandbox.clockify.base_url}/api/v1")]
        conn = _pulled(sandbox, connectors)
        # Alice is removed from the Toggl workspace; Bob is deactivated in Clockify.
        sandbox.toggl.users[:] = [u for u in sandbox.toggl.users
                                  if u["email"].strip().lower() != ALICE]
        for user in sandbox.clockify.users:
            user["status"] = "INACTIVE" if user["name"] == "Bob Brown" else user["status"]
        for connector in connectors:
            for stream in connector.streams.values():
                if stream.name == "users":
                    land(conn, stream, connector.read(stream), "again")
    people = conn.execute("select system, csm_id from intermediate.int_people__identities "
                          "where system in ('toggl', 'clockify') order by all").fetchall()
    # Default settings: no roster, so Bob's Clockify e-mail is not folded into his own here.
    assert people == [("clockify", "robert.brown@example.com"), ("toggl", ALICE),
                      ("toggl", "dave@example.com"), ("toggl", "erin@example.com")]


LEA, LEO = "lea@example.com", "leo@example.com"
HANDOVER = utc(2025, 2, 14, 12)


def leavers_company(left: bool) -> Company:
    """The tiny company with two CSMs who hand their books over mid-February and leave: Lea
    (both CRMs, Clockify) and Leo (Salesforce, Toggl); and a HubSpot company created without an
    owner and first assigned on February 5. `left`: served as after they left."""
    company = tiny_company()
    created = utc(2023, 1, 1)
    company.people += [
        Person("lea", "Lea Leaver", LEA, ("salesforce", "hubspot"), "clockify",
               "Lea@Example.com", left_at=utc(2025, 2, 20) if left else None),
        Person("leo", "Leo Leaving", LEO, ("salesforce",), "toggl", LEO,
               left_at=utc(2025, 3, 12) if left else None),
    ]
    company.accounts += [
        Account("a8", "Cyberdyne", "salesforce", created, [(created, "lea"), (HANDOVER, "bob")]),
        Account("a9", "Tyrell", "hubspot", created, [(created, "lea"), (HANDOVER, "carol")]),
        Account("a10", "Wonka", "hubspot", created,
                [(created, None), (utc(2025, 2, 5, 10), "carol")]),
        Account("a11", "Soylent", "salesforce", created,
                [(created, "leo"), (utc(2025, 3, 10, 9), "alice")]),
    ]
    company.deals += [
        Deal("d8", "a8", "Cyberdyne", Decimal("60000"), date(2024, 6, 1)),
        Deal("d9", "a9", "Tyrell", Decimal("36000"), date(2024, 9, 1)),
        Deal("d10", "a10", "Wonka", Decimal("24000"), date(2024, 12, 15)),
        Deal("d11", "a11", "Soylent", Decimal("12000"), date(2024, 10, 1)),
    ]
    company.entries += [
        TimeEntry("l1", "lea", utc(2025, 1, 8, 9), utc(2025, 1, 8, 12), "QBR", "Cyberdyne"),
        TimeEntry("l2", "lea", utc(2025, 2, 3, 9), utc(2025, 2, 3, 11), "Handover", "Tyrell"),
        TimeEntry("m1", "leo", utc(2025, 1, 9, 9), utc(2025, 1, 9, 13), "Kickoff", "Soylent"),
    ]
    return company


def _marts(warehouse: Path) -> dict[str, list[dict]]:
    return {table: read_rows(warehouse, f"select * exclude (as_of, loaded_at, run_id) from "
                                        f"marts.{table} order by all")
            for table in ("csm_period_metrics", "account_period_metrics", "csm_activity_hours")}


def test_a_leaver_keeps_her_book_in_every_month(tmp_path: Path) -> None:
    """Pulled while they worked, then rebuilt after they left (archived HubSpot owner, inactive
    Salesforce user, deactivated Clockify member, removed Toggl user): the marts do not move."""
    warehouse = tmp_path / "warehouse.duckdb"
    with tiny_fakes(tmp_path, leavers_company(left=False)):
        run_pipeline("2025-01-01", "2025-03-01", bi=False)
    before = _marts(warehouse)
    with tiny_fakes(tmp_path, leavers_company(left=True)) as fakes:
        assert [o["archived"] for o in fakes.hubspot.owners if o["email"] == LEA] == [True]
        run_pipeline("2025-01-01", "2025-03-01", bi=False)
    after = _marts(warehouse)

    owners = {(r["period_start"].month, r["account_name"]): (r["owner_at_start"],
                                                              r["owner_at_end"])
              for r in after["account_period_metrics"] if r["period_grain"] == "month"}
    assert owners[(1, "Cyberdyne")] == owners[(1, "Tyrell")] == (LEA, LEA)
    assert owners[(2, "Cyberdyne")] == (LEA, BOB) and owners[(2, "Tyrell")] == (LEA, CAROL)
    assert owners[(1, "Soylent")] == owners[(2, "Soylent")] == (LEO, LEO)
    assert owners[(3, "Soylent")] == (LEO, ALICE)
    # Created without an owner, first assigned on February 5: nobody's before that.
    assert owners[(1, "Wonka")] == ("unassigned", "unassigned")
    assert owners[(2, "Wonka")] == ("unassigned", CAROL)

    people = {(r["period_start"].month, r["csm_id"]): r for r in after["csm_period_metrics"]
              if r["period_grain"] == "month"}
    january = people[(1, LEA)]
    assert (january["accounts_managed"], january["arr_managed"]) == (2, Decimal("96000.00"))
    assert january["hours_worked"] == 3.0 and people[(2, LEA)]["hours_worked"] == 2.0
    assert people[(2, LEA)]["starting_arr"] == Decimal("96000.00")
    assert people[(1, LEO)]["hours_worked"] == 4.0
    assert people[(3, LEO)]["starting_arr"] == Decimal("12000.00")
    assert after == before
