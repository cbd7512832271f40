"""Owner history gives the right owner at a past instant, from both CRMs' real history shapes."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from connectors.hubspot import HubSpotConnector
from connectors.salesforce import SalesforceConnector
from pipelines.crm import assets as crm
from pipelines.settings import Settings
from pipelines.time_tracking import assets as time_tracking
from sandbox.company import Company
from sandbox.servers import Sandbox
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
                owner = account.owner_at(instant) or account.owners[0][1]
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
