"""HubSpot engagements, feedback submissions and deal attribution: the real client against the
fake over a real socket, landed and typed into int_activities__hubspot / int_feedback__hubspot
(docs/metrics.md, touchpoints; NPS and CSAT; expansion sourcing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from connectors.hubspot import STREAMS, HubSpotConnector
from pipelines.crm import assets as crm
from pipelines.settings import Settings, parse_settings
from pipelines.time_tracking import assets as time_tracking
from sandbox.company import Activity, Company, Contact, Feedback, vendor_id
from sandbox.servers import FakeHubSpot
from tests.tiny_company import tiny_company
from warehouse.loading import get_cursor, land
from warehouse.schema import prepare

pytestmark = pytest.mark.connectors

AT = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
ASSOCIATIONS = "/crm/v4/associations/{}/companies/batch/read"


def company_with(*activities: Activity, contacts: tuple[Contact, ...] = (),
                 feedback: tuple[Feedback, ...] = ()) -> Company:
    """The tiny company's people, accounts and deals (Carol owns HubSpot's Umbrella, a4) with
    only these activities, contacts and feedback."""
    company = tiny_company()
    company.activities = list(activities)
    company.contacts = list(contacts)
    company.feedback = list(feedback)
    return company


@pytest.fixture()
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as conn:
        rules = Settings()
        prepare(conn, [*crm.STREAMS, *time_tracking.STREAMS], rules.for_warehouse(),
                rules.tables())
        yield conn


def connector(fake: FakeHubSpot, settings: Settings | None = None) -> HubSpotConnector:
    return HubSpotConnector(fake.access_token, fake.base_url,
                            extra_fields=(settings or Settings()).extra_fields("hubspot"))


def read(fake: FakeHubSpot, name: str) -> list[dict]:
    return [r for page in connector(fake).read(STREAMS[name]) for r in page]


def companies(record: dict) -> list[str]:
    return [a["id"] for a in record["associations"]["companies"]["results"]]


def crm_id(company: Company, key: str) -> str:
    return next(a for a in company.accounts if a.key == key).crm_id


def test_engagements_carry_their_companies_from_v4_batch_reads() -> None:
    company = company_with(
        Activity("call2", "hubspot", "call", "carol", ("a4", "a5"), AT),
        Activity("call0", "hubspot", "call", "carol", (), AT),
        Activity("meet2", "hubspot", "meeting", "carol", ("a5", "a4"), AT),
        Activity("mail1", "hubspot", "email", "carol", ("a4",), AT, direction="inbound"),
        Activity("mail0", "hubspot", "email", None, (), AT),
        Activity("todo", "hubspot", "todo", "carol", ("a4",), AT))  # a task: not served
    umbrella, hooli = crm_id(company, "a4"), crm_id(company, "a5")
    with FakeHubSpot(company) as fake:
        calls = {r["id"]: r for r in read(fake, "calls")}
        meetings = read(fake, "meetings")
        emails = {r["id"]: r for r in read(fake, "emails")}
        assert sorted(companies(calls[vendor_id("hs_call", "call2")])) == sorted([umbrella,
                                                                                  hooli])
        assert companies(calls[vendor_id("hs_call", "call0")]) == []
        assert sorted(companies(meetings[0])) == sorted([umbrella, hooli])
        assert companies(emails[vendor_id("hs_email", "mail1")]) == [umbrella]
        assert companies(emails[vendor_id("hs_email", "mail0")]) == []
        # Strings, as HubSpot sends them; the properties asked for only.
        call = calls[vendor_id("hs_call", "call2")]["properties"]
        assert call["hs_call_status"] == "COMPLETED" and call["hs_timestamp"].endswith("Z")
        assert call["hubspot_owner_id"] == vendor_id("hs_owner", "carol")
        assert "hs_call_title" not in call
        # One v4 read per stream (pages are held to fill a batch), none for archived pages.
        for name in ("calls", "meetings", "emails"):
            assert fake.requests[ASSOCIATIONS.format(name)] == 1
            assert fake.requests[f"/crm/v3/objects/{name}"] == 2  # active, then archived
        assert "/crm/v3/objects/tasks" not in fake.requests


def test_an_engagement_with_more_links_than_a_page_is_read_again_from_its_cursor() -> None:
    company = company_with(Activity("call3", "hubspot", "call", "carol", ("a4", "a5"), AT),
                           Activity("call1", "hubspot", "call", "carol", ("a5",), AT))
    with FakeHubSpot(company, association_page_size=1) as fake:
        calls = {r["id"]: r for r in read(fake, "calls")}
        assert sorted(companies(calls[vendor_id("hs_call", "call3")])) == sorted(
            [crm_id(company, "a4"), crm_id(company, "a5")])
        assert companies(calls[vendor_id("hs_call", "call1")]) == [crm_id(company, "a5")]
        # Both ids, then the one with a second page, from its `after`.
        assert fake.requests[ASSOCIATIONS.format("calls")] == 2


def test_more_than_1000_ids_are_read_in_batches_of_1000() -> None:
    calls = [Activity(f"bulk{n}", "hubspot", "call", "carol", ("a4",), AT) for n in range(2050)]
    company = company_with(*calls)
    with FakeHubSpot(company) as fake:
        records = read(fake, "calls")
        assert len(records) == 2050
        assert all(companies(r) == [crm_id(company, "a4")] for r in records)
        # 21 list pages of 100, then the empty archived page; links for 1000 + 1000 + 50 ids.
        assert fake.requests["/crm/v3/objects/calls"] == 22
        assert fake.requests[ASSOCIATIONS.format("calls")] == 3
        # HubSpot refuses more than 1,000 inputs; the connector never sends them.
        found = connector(fake).associations(STREAMS["calls"], "calls",
                                             [r["id"] for r in records], "companies")
        assert len(found) == 2050
        assert fake.requests[ASSOCIATIONS.format("calls")] == 6


def test_the_fake_refuses_more_than_1000_inputs_as_hubspot_does() -> None:
    import requests

    with FakeHubSpot(company_with()) as fake:
        answer = requests.post(f"{fake.base_url}{ASSOCIATIONS.format('calls')}",
                               json={"inputs": [{"id": str(n)} for n in range(1001)]},
                               headers={"Authorization": f"Bearer {fake.access_token}"},
                               timeout=10)
        assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR"


def test_a_429_on_the_association_batch_read_post_is_retried() -> None:
    company = company_with(Activity("call", "hubspot", "call", "carol", ("a4",), AT))
    with FakeHubSpot(company) as fake:
        fake.inject(429, {"status": "error", "errorType": "RATE_LIMIT",
                          "policyName": "TEN_SECONDLY_ROLLING",
                          "message": "You have reached your ten_secondly_rolling limit."},
                    headers={"Retry-After": "1"}, times=2,
                    path_contains="/crm/v4/associations/")
        records = read(fake, "calls")
        assert companies(records[0]) == [crm_id(company, "a4")]
        assert fake.requests[ASSOCIATIONS.format("calls")] == 3  # two refusals, then the read


def test_feedback_takes_its_company_else_its_contacts_primary_company(warehouse) -> None:
    company = company_with(
        contacts=(Contact("kim", "kim@hooli.example", ("a5", "a4")),),
        feedback=(Feedback("direct", "hubspot", "CSAT", 4, AT, account_key="a4",
                           contact_key="kim"),
                  Feedback("via_contact", "hubspot", "NPS", 9, AT, contact_key="kim"),
                  Feedback("nobody", "hubspot", "nps", "ten", AT)))
    with FakeHubSpot(company) as fake:
        land(warehouse, STREAMS["feedback_submissions"],
             connector(fake).read(STREAMS["feedback_submissions"]), "run")
        assert fake.requests[ASSOCIATIONS.format("contacts")] == 1  # kim, once
    rows = warehouse.execute("""
        select response_id, source, survey_type, score_raw, score, responded_at, account_id,
               is_deleted
        from intermediate.int_feedback__hubspot order by score_raw""").fetchall()
    umbrella, hooli = crm_id(company, "a4"), crm_id(company, "a5")
    assert rows == [
        (f"hs:{vendor_id('hs_feedback', 'direct')}", "hubspot", "CSAT", "4", 4.0, AT,
         f"hs:{umbrella}", False),  # its own company, not the contact's primary one
        (f"hs:{vendor_id('hs_feedback', 'via_contact')}", "hubspot", "NPS", "9", 9.0, AT,
         f"hs:{hooli}", False),  # the contact's primary company (listed first: Hooli)
        (f"hs:{vendor_id('hs_feedback', 'nobody')}", "hubspot", "NPS", "ten", None, AT,
         None, False),  # no company, no contact; a score that is no number stays as sent
    ]


def test_feedback_reads_each_contacts_companies_once_in_the_fewest_requests() -> None:
    """Contacts answer in more than one batch of 1,000 submissions (two NPS campaigns): each
    contact's companies are read once, 1,000 contacts a request (docs/performance.md)."""
    people = [Contact(f"c{n}", f"c{n}@example.com", ("a5", "a4") if n % 2 else ("a4",))
              for n in range(1200)]
    # 2,400 submissions, every contact twice: the first 1,000 name c0..c999, the next 1,000
    # c1000..c1199 then c0..c799 again, the last 400 c800..c1199.
    answers = [Feedback(f"f{round_}_{n}", "hubspot", "NPS", 9, AT, contact_key=f"c{n}")
               for round_ in range(2) for n in range(1200)]
    company = company_with(contacts=tuple(people), feedback=tuple(answers))
    umbrella, hooli = crm_id(company, "a4"), crm_id(company, "a5")
    with FakeHubSpot(company) as fake:
        pages = list(connector(fake).read(STREAMS["feedback_submissions"]))
        distinct = len({a.contact_key for a in answers})
        assert fake.requests[ASSOCIATIONS.format("contacts")] == -(-distinct // 1000) == 2
        # The submissions' own companies: 1,000 ids a request, as before.
        assert fake.requests[ASSOCIATIONS.format("feedback_submissions")] == 3
    records = [r for page in pages for r in page]
    # Pages as listed, in order: 24 pages of 100, then the empty archived one.
    assert [len(p) for p in pages] == [100] * 24 + [0]
    assert [r["id"] for r in records] == [vendor_id("hs_feedback", a.key) for a in answers]
    for record, answer in zip(records, answers, strict=True):
        assert answer.contact_key is not None
        expected = ([(hooli, True), (umbrella, False)] if int(answer.contact_key[1:]) % 2
                    else [(umbrella, True)])
        links = record["associations"]["contact_companies"]["results"]
        assert [(link["id"], link["primary"]) for link in links] == expected


def test_feedback_held_for_contacts_is_bounded(monkeypatch) -> None:
    """Few contacts answering often never fill a contact read: past the bound on held
    submissions, the contacts pending are read and the pages go on."""
    from connectors.hubspot import client

    monkeypatch.setattr(client, "HELD_RECORDS_MAX", 1500)
    answers = [Feedback(f"f{n}", "hubspot", "CSAT", 5, AT, contact_key=f"c{n % 3}")
               for n in range(3000)]
    company = company_with(contacts=tuple(Contact(f"c{n}", f"c{n}@example.com", ("a4",))
                                          for n in range(3)), feedback=tuple(answers))
    with FakeHubSpot(company) as fake:
        pages = connector(fake).read(STREAMS["feedback_submissions"])
        first = next(pages)
        # Out after 2,000 submissions were listed (two batches of their own links), not 3,000.
        assert fake.requests["/crm/v3/objects/feedback_submissions"] == 20
        records = first + [r for page in pages for r in page]
        assert fake.requests[ASSOCIATIONS.format("contacts")] == 1  # known since
    assert len(records) == 3000
    assert all(r["associations"]["contact_companies"]["results"][0]["id"]
               == crm_id(company, "a4") for r in records)


def test_redacted_email_metadata_is_tolerated(warehouse) -> None:
    company = company_with(Activity("in", "hubspot", "email", "carol", ("a4",), AT,
                                    direction="inbound"))
    with FakeHubSpot(company, redact_email_metadata=True) as fake:
        records = read(fake, "emails")
        assert "hs_email_direction" not in records[0]["properties"]
        land(warehouse, STREAMS["emails"], connector(fake).read(STREAMS["emails"]), "run")
    rows = warehouse.execute("""
        select direction, is_touchpoint, is_inbound_email, is_outbound
        from intermediate.int_activities__hubspot""").fetchall()
    # Still a touchpoint (every direction is); neither an inbound message nor an answer.
    assert rows == [(None, True, False, False)]


def test_an_incremental_pull_reads_the_changes_once_with_their_companies(warehouse) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=2)
    company = company_with(Activity("call", "hubspot", "call", "carol", ("a4", "a5"), AT),
                           Activity("other", "hubspot", "call", "carol", ("a5",), AT),
                           Activity("meet", "hubspot", "meeting", "carol", ("a4",), soon,
                                    status="scheduled"))
    calls, meetings = STREAMS["calls"], STREAMS["meetings"]
    with FakeHubSpot(company) as fake:
        client = connector(fake)
        land(warehouse, calls, client.read(calls), "first")
        land(warehouse, meetings, client.read(meetings), "first")
        started = warehouse.execute("""select is_touchpoint from
            intermediate.int_activities__hubspot where kind = 'meeting'""").fetchall()
        assert started == [(False,)]  # not started when pulled
        changed = vendor_id("hs_call", "call")
        fake.update("calls", changed, hs_call_status="NO_ANSWER")
        before = dict(fake.requests)
        time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.5)
        for stream in (calls, meetings):
            land(warehouse, stream, client.read(
                stream, since=get_cursor(warehouse, "hubspot", stream.name)), "second")
        made = {p: n - before.get(p, 0) for p, n in fake.requests.items()
                if n - before.get(p, 0)}
    assert made["/crm/v3/objects/calls/search"] == 1
    assert made[ASSOCIATIONS.format("calls")] == 1
    # Meetings: what changed, and what has come to pass since (one search each).
    assert made["/crm/v3/objects/meetings/search"] == 2
    assert warehouse.execute("select count(*), count(distinct _pk) from raw.hubspot__calls"
                             ).fetchone() == (2, 2)
    rows = warehouse.execute("""
        select activity_id, account_id, is_touchpoint from intermediate.int_activities__hubspot
        order by all""").fetchall()
    umbrella, hooli = crm_id(company, "a4"), crm_id(company, "a5")
    assert rows == sorted([
        (f"hs:call:{changed}", f"hs:{umbrella}", False),  # now NO_ANSWER, still on both
        (f"hs:call:{changed}", f"hs:{hooli}", False),
        (f"hs:call:{vendor_id('hs_call', 'other')}", f"hs:{hooli}", True),
        (f"hs:meeting:{vendor_id('hs_meeting', 'meet')}", f"hs:{umbrella}", True),  # started
    ])


def test_int_activities_hubspot_applies_the_touchpoint_rules(warehouse) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    earlier = AT - timedelta(days=1)
    company = company_with(
        Activity("call_done", "hubspot", "call", "carol", ("a4", "a5"), AT),
        Activity("call_missed", "hubspot", "call", "carol", ("a4",), AT, status="no_answer"),
        Activity("call_inbound", "hubspot", "call", "carol", (), AT, direction="inbound"),
        Activity("meet_cancel", "hubspot", "meeting", "carol", ("a4",), AT,
                 status="canceled"),
        Activity("meet_noshow", "hubspot", "meeting", "carol", ("a4",), AT, status="no_show"),
        Activity("meet_moved", "hubspot", "meeting", "carol", ("a4",), AT,
                 status="rescheduled"),
        Activity("meet_future", "hubspot", "meeting", "carol", ("a4",), future,
                 status="scheduled"),
        Activity("meet_done", "hubspot", "meeting", "carol", ("a4",), AT),
        Activity("meet_past", "hubspot", "meeting", "carol", ("a4",), earlier,
                 status="scheduled"),
        Activity("mail_in", "hubspot", "email", "carol", ("a4",), AT, direction="inbound"),
        Activity("mail_out", "hubspot", "email", "carol", ("a4",), AT),
        Activity("mail_fwd", "hubspot", "email", "carol", ("a4",), AT, direction="forwarded"),
        Activity("mail_gone", "hubspot", "email", "carol", ("a4",), AT, direction="inbound",
                 deleted=True),
        Activity("mail_nobody", "hubspot", "email", None, ("a5",), None))
    with FakeHubSpot(company) as fake:
        client = connector(fake)
        for name in ("calls", "meetings", "emails"):
            land(warehouse, STREAMS[name], client.read(STREAMS[name]), "run")
    rows = warehouse.execute("""
        select activity_id, source, kind, direction, account_id, owner_ref, occurred_at,
               is_touchpoint, is_inbound_email, is_outbound, is_deleted
        from intermediate.int_activities__hubspot""").fetchall()
    assert [c[0] for c in warehouse.execute(
        "describe intermediate.int_activities__hubspot").fetchall()] == [
        "activity_id", "source", "kind", "direction", "account_id", "owner_ref", "occurred_at",
        "is_touchpoint", "is_inbound_email", "is_outbound", "is_deleted"]
    umbrella, hooli = f"hs:{crm_id(company, 'a4')}", f"hs:{crm_id(company, 'a5')}"
    carol = vendor_id("hs_owner", "carol")
    kinds = {"call": "hs_call", "meet": "hs_meeting", "mail": "hs_email"}

    def row(key: str, direction: str | None, account: str | None, touch: bool,
            inbound: bool, outbound: bool, at: datetime | None = AT, owner: str | None = carol,
            deleted: bool = False) -> tuple:
        kind = key.split("_")[0]
        name = {"meet": "meeting", "mail": "email"}.get(kind, kind)
        return (f"hs:{name}:{vendor_id(kinds[kind], key)}", "hubspot", name, direction,
                account, owner, at, touch, inbound, outbound, deleted)

    expected = [
        # A completed call on two companies touches both, once each.
        row("call_done", "outbound", umbrella, True, False, True),
        row("call_done", "outbound", hooli, True, False, True),
        row("call_missed", "outbound", umbrella, False, False, False),  # not COMPLETED
        row("call_inbound", "inbound", None, True, False, True),  # on no company: one row
        row("meet_cancel", "outbound", umbrella, False, False, False),
        row("meet_noshow", "outbound", umbrella, False, False, False),
        row("meet_moved", "outbound", umbrella, False, False, False),
        row("meet_future", "outbound", umbrella, False, False, False, at=future),  # not yet
        row("meet_done", "outbound", umbrella, True, False, True),
        row("meet_past", "outbound", umbrella, True, False, True, at=earlier),  # it happened
        row("mail_in", "inbound", umbrella, True, True, False),
        row("mail_out", "outbound", umbrella, True, False, True),
        row("mail_fwd", "outbound", umbrella, True, False, True),  # any other direction
        # Deleted (archived): kept, never counted; archived pages' links are not read.
        row("mail_gone", "inbound", None, False, False, False, deleted=True),
        row("mail_nobody", "outbound", hooli, True, False, True, at=None, owner=None),
    ]
    assert sorted(rows, key=str) == sorted(expected, key=str)


def test_one_company_listed_twice_is_one_row(warehouse) -> None:
    """The list endpoint's shape repeats a company once per association type; landed as the
    connector hands pages on."""
    page = [{"id": "7", "archived": False, "properties": {
                "hs_timestamp": "1741000000000", "hubspot_owner_id": "41",
                "hs_call_status": "completed", "hs_lastmodifieddate": "2025-03-03T12:00:00Z"},
             "associations": {"companies": {"results": [
                 {"id": "9", "type": "call_to_company_primary"},
                 {"id": "9", "type": "call_to_company_unlabeled"},
                 {"id": "10", "type": "call_to_company_unlabeled"}]}}}]
    land(warehouse, STREAMS["calls"], [page], "run")
    rows = warehouse.execute("""
        select account_id, occurred_at, is_touchpoint from intermediate.int_activities__hubspot
        order by account_id""").fetchall()
    # An epoch-milliseconds hs_timestamp reads as the same instant; a lower-case status counts.
    at = datetime(2025, 3, 3, 11, 6, 40, tzinfo=UTC)
    assert rows == [("hs:10", at, True), ("hs:9", at, True)]


def test_deals_carry_source_creator_and_loss_reason_and_owners_their_user_id(warehouse
                                                                              ) -> None:
    company = company_with()
    hubspot = next(d for d in company.deals_in("hubspot"))
    hubspot.lead_source, hubspot.created_by, hubspot.loss_reason = " CSM ", "carol", " Budget "
    hubspot.created_at = datetime(2024, 10, 2, 9, 30, tzinfo=UTC)
    company.accounts[[a.key for a in company.accounts].index("a4")].value_milestone = date(
        2025, 1, 20)
    settings = parse_settings({"hubspot_source_property": "deal_source",
                               "hubspot_value_milestone_property": "go_live_date"})
    from warehouse.schema import write_settings

    write_settings(warehouse, settings.for_warehouse(), settings.tables())
    with FakeHubSpot(company) as fake:
        client = connector(fake, settings)
        for name in ("owners", "companies", "deals"):
            land(warehouse, STREAMS[name], client.read(STREAMS[name]), "run")
    row = warehouse.execute("""
        select deals.source_value, deals.created_by_ref, deals.created_at, deals.loss_reason,
               deals.is_closed, owners.owner_id
        from staging.stg_hubspot__deals deals
        left join staging.stg_hubspot__owners owners on owners.user_id = deals.created_by_ref
        where deals.deal_id = $id""",
                            {"id": f"hs:{vendor_id('hs_deal', hubspot.key)}"}).fetchone()
    assert row == ("CSM", vendor_id("hs_user", "carol"), hubspot.created_at, "Budget", None,
                   vendor_id("hs_owner", "carol"))
    milestone = warehouse.execute(
        "select value_milestone_date from staging.stg_hubspot__companies "
        "where account_id = $id", {"id": f"hs:{crm_id(company, 'a4')}"}).fetchone()
    assert milestone == (date(2025, 1, 20),)


def test_a_missing_scope_names_the_stream_and_the_docs_not_the_token() -> None:
    from connectors.errors import SourceError

    with FakeHubSpot(company_with()) as fake:
        fake.inject(403, {"status": "error", "category": "MISSING_SCOPES",
                          "message": "This app hasn't been granted all required scopes."},
                    path_contains="/crm/v3/objects/feedback_submissions")
        with pytest.raises(SourceError, match="feedback_submissions: the private app lacks "
                           "a scope") as error:
            read(fake, "feedback_submissions")
        assert fake.access_token not in str(error.value)
        assert "docs/connectors.md" in str(error.value)
