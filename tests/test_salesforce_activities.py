"""Salesforce activities, e-mails, feedback and deal attribution, through the real
simple-salesforce client against the fake over TLS (docs/metrics.md, "Touchpoints and response
time", "NPS and CSAT", "Expansion sourcing, churn reasons, onboarding").

The hand-made company below has one activity of each kind docs/metrics.md distinguishes; the
expected `int_activities__salesforce` values are written by hand from its rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from pipelines.crm.assets import STREAMS as CRM_STREAMS
from pipelines.settings import Settings
from pipelines.time_tracking.assets import STREAMS as TRACKER_STREAMS
from sandbox.company import Account, Activity, Company, Deal, Feedback, Person, utc, vendor_id
from sandbox.servers import Sandbox
from tests.conftest import point_at
from warehouse.pull import PullOptions, pull_stream
from warehouse.schema import prepare

CREATED = utc(2023, 1, 1)
# A meeting not yet held when pulled: ten days after the test runs.
FUTURE = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
FEEDBACK_SETTINGS = {
    "salesforce_feedback_object": "NPS_Response__c",
    "salesforce_feedback_type_field": "Survey_Type__c",
    "salesforce_feedback_date_field": "Response_Date__c",
    "salesforce_loss_reason_field": "Loss_Reason__c",
    "salesforce_value_milestone_field": "Go_Live_Date__c",
}


def activities() -> list[Activity]:
    def sf(key: str, kind: str, account: str | None, at: datetime | None, **kw) -> Activity:
        return Activity(key, "salesforce", kind, kw.pop("person", "alice"),
                        (account,) if account else (), at, **kw)

    return [
        # A completed to-do: a task, never a touchpoint.
        sf("todo", "todo", "a1", utc(2025, 1, 10, 9)),
        sf("internal", "call", "a1", utc(2025, 1, 11, 10), direction="internal"),
        sf("call", "call", "a1", utc(2025, 1, 12, 15, 30)),
        # An inbound e-mail whose message is linked to the account only through its task.
        sf("inbound", "email", "a2", utc(2025, 1, 13, 8), direction="inbound",
           linked_through_task=True, person="bob"),
        sf("reply", "email", "a2", utc(2025, 1, 13, 9, 30), person="bob"),
        sf("allday", "meeting", "a2", utc(2025, 1, 14, 15), all_day=True, person="bob"),
        sf("future", "meeting", "a1", FUTURE),
        sf("deleted", "call", "a1", utc(2025, 1, 15, 11), deleted=True),
        # Archived a year on: only queryAll returns it, and it counts.
        sf("archived", "call", "a2", utc(2024, 1, 5, 14), archived=True, person="bob"),
        sf("nowhere", "call", None, utc(2025, 1, 16, 12)),
    ]


def company(extra_tasks: int = 0) -> Company:
    people = [Person("alice", "Alice Adams", "alice@example.com", ("salesforce",)),
              Person("bob", "Bob Brown", "bob@example.com", ("salesforce",))]
    accounts = [Account("a1", "Acme", "salesforce", CREATED, [(CREATED, "alice")],
                        value_milestone=date(2025, 2, 1)),
                Account("a2", "Globex", "salesforce", CREATED, [(CREATED, "bob")])]
    deals = [Deal("d1", "a1", "Acme", Decimal("12000"), date(2025, 1, 15)),
             Deal("d2-up", "a2", "Globex upsell", Decimal("5000"), date(2025, 3, 1),
                  lead_source="Customer Success", created_by="bob",
                  created_at=utc(2025, 2, 1, 10)),
             Deal("d2-lost", "a2", "Globex renewal", Decimal("9000"), date(2025, 2, 20),
                  won=False, loss_reason="  Price  ")]
    many = [Activity(f"bulk-{n}", "salesforce", "call", "alice", ("a1",),
                     utc(2025, 2, 1) + timedelta(minutes=n)) for n in range(extra_tasks)]
    feedback = [Feedback("f-nps", "salesforce", "NPS", 9, utc(2025, 1, 20, 10), "a1"),
                Feedback("f-csat", "salesforce", "CSAT", 4, utc(2025, 1, 21, 11), "a2"),
                Feedback("f-loose", "salesforce", "NPS", 3, utc(2025, 1, 22, 12))]
    return Company(people, accounts, deals, [], activities=[*activities(), *many],
                   feedback=feedback)


def start(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, folder: Path) -> Sandbox:
    sandbox.start(str(folder))
    # requests lets REQUESTS_CA_BUNDLE override a session's verify: trust the fake's CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
    return sandbox


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    fakes = start(Sandbox(company()), monkeypatch, tmp_path)
    try:
        yield fakes
    finally:
        fakes.stop()


def connector(sandbox: Sandbox, rules: Settings | None = None) -> SalesforceConnector:
    rules = rules or Settings()
    return SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token,
                               extra_fields=rules.extra_fields("salesforce"),
                               feedback_object=rules.salesforce_feedback_object)


def records(source: SalesforceConnector, stream: str, since: str | None = None) -> list[dict]:
    return [r for page in source.read(SALESFORCE[stream], since=since) for r in page]


def land_salesforce(conn: duckdb.DuckDBPyConnection, source: SalesforceConnector,
                    rules: Settings) -> None:
    """Every Salesforce stream pulled and landed, as the raw assets do."""
    prepare(conn, [*CRM_STREAMS, *TRACKER_STREAMS], rules.for_warehouse(), rules.tables())
    for stream in SALESFORCE.values():
        options = PullOptions(owner_path=rules.owner_path("salesforce")
                              if stream.snapshots_ownership else None)
        pull_stream(stream, source, lambda: nullcontext(conn), "run", options=options)


def sf_id(kind: str, key: str) -> str:
    return vendor_id(kind, key)


def test_query_all_returns_archived_and_deleted_tasks_that_query_does_not(
        sandbox: Sandbox) -> None:
    source = connector(sandbox)
    soql = "SELECT Id, IsDeleted, IsArchived FROM Task"
    shown = {r["Id"] for r in source.client.query(soql)["records"]}
    everything = {r["Id"]: r for r in source.client.query_all(soql, include_deleted=True)[
        "records"]}
    hidden = {sf_id("sf_task", "deleted"), sf_id("sf_task", "archived")}
    assert hidden <= set(everything) and not hidden & shown
    assert set(everything) - shown == hidden
    assert everything[sf_id("sf_task", "deleted")]["IsDeleted"] is True
    assert everything[sf_id("sf_task", "archived")]["IsArchived"] is True
    # The connector reads through queryAll: both arrive.
    assert {r["Id"] for r in records(source, "tasks")} == set(everything)
    assert sandbox.salesforce.requests["/services/data/v59.0/queryAll/"] >= 1


def test_tasks_page_across_batches_through_next_records_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = start(Sandbox(company(extra_tasks=450), salesforce_batch_size=200), monkeypatch,
                  tmp_path)
    try:
        source = connector(fakes)
        pages = list(source.read(SALESFORCE["tasks"]))
        expected = fakes.salesforce.objects["Task"]
        assert len(expected) == 450 + 8  # and the eight hand-made tasks
        assert [len(p) for p in pages] == [200, 200, 58]
        assert sorted(r["Id"] for p in pages for r in p) == sorted(r["Id"] for r in expected)
        assert set(pages[0][0]) == set(SALESFORCE["tasks"].fields)
    finally:
        fakes.stop()


def test_an_incremental_re_pull_lands_a_changed_task_once(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    source = connector(sandbox)
    stream = SALESFORCE["tasks"]
    first = pull_stream(stream, source, lambda: nullcontext(conn), "first")
    total = len(sandbox.salesforce.objects["Task"])
    assert first.rows_written == total and first.cursor
    call = sf_id("sf_task", "call")
    sandbox.salesforce.update("Task", call, Subject="Call, notes edited")
    again = pull_stream(stream, source, lambda: nullcontext(conn), "again")
    assert again.mode == "incremental"
    assert again.records < total  # only what changed since the cursor (less the overlap)
    assert conn.execute("select count(*), count(distinct _pk) from raw.salesforce__tasks"
                        ).fetchone() == (total, total)
    assert conn.execute("select subject from staging.stg_salesforce__tasks where task_id = ?",
                        [call]).fetchall() == [("Call, notes edited",)]


def test_an_org_without_enhanced_email_pulls_with_a_warning_and_no_email_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.definitions import build_definitions

    fakes = start(Sandbox(company()), monkeypatch, tmp_path)
    try:
        fakes.salesforce.enhanced_email = False
        warehouse = tmp_path / "warehouse.duckdb"
        point_at(monkeypatch, fakes, warehouse)
        keys = [AssetKey(["raw", "salesforce", name]) for name in SALESFORCE]
        instance = DagsterInstance.ephemeral()
        job = build_definitions().resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=instance, asset_selection=keys)
        assert result.success
        warnings = [str(r.user_message) for r in instance.all_logs(result.run_id)
                    if r.level == 30 and "INVALID_TYPE" in str(r.user_message)]
        assert len(warnings) == 1 and "EmailMessage" in warnings[0]
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            assert conn.execute("select count(*) from raw.salesforce__email_messages"
                                ).fetchone() == (0,)
            assert conn.execute("select count(*) from raw.salesforce__tasks").fetchone() == (8,)
            assert conn.execute("select count(*) from raw._state where source = 'salesforce' "
                                "and stream = 'email_messages'").fetchone() == (0,)
        # The org turns Enhanced Email on: the next pull tries again, and the messages land.
        fakes.salesforce.enhanced_email = True
        again = job.execute_in_process(instance=instance, asset_selection=[
            AssetKey(["raw", "salesforce", "email_messages"])])
        assert again.success
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            assert conn.execute("select count(*) from raw.salesforce__email_messages"
                                ).fetchone() == (2,)
    finally:
        fakes.stop()


def test_int_activities_apply_the_touchpoint_rules(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    rules = Settings()
    land_salesforce(conn, connector(sandbox, rules), rules)
    cursor = conn.execute("select * from intermediate.int_activities__salesforce")
    assert [d[0] for d in cursor.description] == [
        "activity_id", "source", "kind", "direction", "account_id", "owner_ref", "occurred_at",
        "is_touchpoint", "is_inbound_email", "is_outbound", "is_deleted"]
    rows = {r[0]: r[2:] for r in cursor.fetchall()}
    a1, a2 = "sf:" + sf_id("sf_account", "a1"), "sf:" + sf_id("sf_account", "a2")
    alice, bob = sf_id("sf_user", "alice"), sf_id("sf_user", "bob")

    def task(key: str) -> str:
        return "sf:" + sf_id("sf_task", key)

    # (kind, direction, account, owner, instant, touchpoint, inbound e-mail, outbound, deleted),
    # by hand from docs/metrics.md, Engagement.
    expected = {
        task("todo"): ("todo", None, a1, alice, utc(2025, 1, 10, 9), False, False, False, False),
        task("internal"): ("call", None, a1, alice, utc(2025, 1, 11, 10),
                           False, False, False, False),
        task("call"): ("call", "outbound", a1, alice, utc(2025, 1, 12, 15, 30),
                       True, False, True, False),
        # The inbound e-mail's task is a touchpoint, but answers nothing; its message is the
        # inbound e-mail, on the account of its task.
        task("inbound"): ("email", "inbound", a2, bob, utc(2025, 1, 13, 8),
                          True, False, False, False),
        "sf:" + sf_id("sf_email", "inbound"): ("email", "inbound", a2, bob, utc(2025, 1, 13, 8),
                                               False, True, False, False),
        task("reply"): ("email", "outbound", a2, bob, utc(2025, 1, 13, 9, 30),
                        True, False, True, False),
        "sf:" + sf_id("sf_email", "reply"): ("email", "outbound", a2, bob,
                                             utc(2025, 1, 13, 9, 30), False, False, True, False),
        # All-day: its ActivityDate at 00:00 UTC, not the hour it was entered at.
        "sf:" + sf_id("sf_event", "allday"): ("meeting", "outbound", a2, bob, utc(2025, 1, 14),
                                              True, False, True, False),
        "sf:" + sf_id("sf_event", "future"): ("meeting", "outbound", a1, alice, FUTURE,
                                              False, False, False, False),
        task("deleted"): ("call", "outbound", a1, alice, utc(2025, 1, 15, 11),
                          False, False, False, True),
        task("archived"): ("call", "outbound", a2, bob, utc(2024, 1, 5, 14),
                           True, False, True, False),
        task("nowhere"): ("call", "outbound", None, alice, utc(2025, 1, 16, 12),
                          True, False, True, False),
    }
    assert rows == expected


def test_without_enhanced_email_every_e_mail_task_is_outbound(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    sandbox.salesforce.enhanced_email = False
    rules = Settings()
    land_salesforce(conn, connector(sandbox, rules), rules)
    rows = conn.execute("select activity_id, direction, is_touchpoint, is_outbound "
                        "from intermediate.int_activities__salesforce where kind = 'email' "
                        "order by occurred_at").fetchall()
    # No EmailMessage, so no inbound e-mail: both e-mail tasks are touchpoints and can answer.
    assert rows == [("sf:" + sf_id("sf_task", "inbound"), "outbound", True, True),
                    ("sf:" + sf_id("sf_task", "reply"), "outbound", True, True)]


def test_feedback_is_read_from_the_configured_object_only(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    # Not configured: the stream reads nothing, asks nothing, and its staging has no rows.
    unset = connector(sandbox)
    before = sandbox.salesforce.request_count
    assert records(unset, "feedback") == []
    assert sandbox.salesforce.request_count == before
    rules = Settings()
    land_salesforce(conn, unset, rules)
    assert conn.execute("select count(*) from intermediate.int_feedback__salesforce"
                        ).fetchone() == (0,)

    rules = Settings(**FEEDBACK_SETTINGS)
    configured = connector(sandbox, rules)
    assert configured.soql(SALESFORCE["feedback"]) == (
        "SELECT Id, CreatedDate, SystemModstamp, IsDeleted, Account__c, Score__c, "
        "Survey_Type__c, Response_Date__c FROM NPS_Response__c ORDER BY SystemModstamp")
    with duckdb.connect(":memory:") as fresh:
        land_salesforce(fresh, configured, rules)
        cursor = fresh.execute("select * from intermediate.int_feedback__salesforce "
                               "order by responded_at")
        assert [d[0] for d in cursor.description] == [
            "response_id", "source", "survey_type", "score_raw", "score", "responded_at",
            "account_id", "is_deleted"]
        a1, a2 = "sf:" + sf_id("sf_account", "a1"), "sf:" + sf_id("sf_account", "a2")
        assert cursor.fetchall() == [
            ("sf:" + sf_id("sf_feedback", "f-nps"), "salesforce", "NPS", "9.0", 9.0,
             utc(2025, 1, 20, 10), a1, False),
            ("sf:" + sf_id("sf_feedback", "f-csat"), "salesforce", "CSAT", "4.0", 4.0,
             utc(2025, 1, 21, 11), a2, False),
            ("sf:" + sf_id("sf_feedback", "f-loose"), "salesforce", "NPS", "3.0", 3.0,
             utc(2025, 1, 22, 12), None, False)]
        # The object unset again: the staging keeps no rows of it.
        fresh.execute("update staging.settings set salesforce_feedback_object = null")
        from warehouse.staging import ensure_current
        ensure_current(fresh)
        assert fresh.execute("select count(*) from intermediate.int_feedback__salesforce"
                             ).fetchone() == (0,)


def test_a_fixed_feedback_type_and_a_date_field(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    """No type field: every response is of `salesforce_feedback_type`; a plain date is its day
    at 00:00 UTC."""
    for response in sandbox.salesforce.objects["NPS_Response__c"]:
        response["Response_Date__c"] = "2025-01-25"
    rules = Settings(salesforce_feedback_object="NPS_Response__c",
                     salesforce_feedback_type="CSAT",
                     salesforce_feedback_date_field="Response_Date__c")
    land_salesforce(conn, connector(sandbox, rules), rules)
    assert conn.execute("select distinct survey_type, responded_at "
                        "from intermediate.int_feedback__salesforce").fetchall() == [
        ("CSAT", utc(2025, 1, 25))]


def test_opportunities_and_accounts_carry_attribution_and_milestone(
        sandbox: Sandbox, conn: duckdb.DuckDBPyConnection) -> None:
    rules = Settings(**FEEDBACK_SETTINGS)
    land_salesforce(conn, connector(sandbox, rules), rules)
    deals = conn.execute(
        "select deal_id, is_closed, source_value, created_by_ref, created_at, loss_reason "
        "from staging.stg_salesforce__opportunities order by deal_id").fetchall()
    bob, alice = sf_id("sf_user", "bob"), sf_id("sf_user", "alice")
    assert sorted(deals) == sorted([
        # No creator given: the owner created it, 30 days before its close date.
        ("sf:" + sf_id("sf_opportunity", "d1"), True, None, alice, utc(2024, 12, 16), None),
        ("sf:" + sf_id("sf_opportunity", "d2-up"), True, "Customer Success", bob,
         utc(2025, 2, 1, 10), None),
        ("sf:" + sf_id("sf_opportunity", "d2-lost"), True, None, bob, utc(2025, 1, 21),
         "Price")])
    assert conn.execute("select account_id, value_milestone_date "
                        "from staging.stg_salesforce__accounts order by account_id"
                        ).fetchall() == sorted([
        ("sf:" + sf_id("sf_account", "a1"), date(2025, 2, 1)),
        ("sf:" + sf_id("sf_account", "a2"), None)])
    # With the default settings no loss-reason or milestone field is read.
    with duckdb.connect(":memory:") as plain:
        land_salesforce(plain, connector(sandbox), Settings())
        assert plain.execute("select count(loss_reason), count(source_value) from "
                             "staging.stg_salesforce__opportunities").fetchone() == (0, 1)
        assert plain.execute("select count(value_milestone_date) from "
                             "staging.stg_salesforce__accounts").fetchone() == (0,)
