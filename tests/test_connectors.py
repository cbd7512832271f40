"""Each connector, through its real client library, against its fake over a real socket."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.clockify import ClockifyConnector
from connectors.errors import SourceAuthError, SourceNotConfigured
from connectors.http import ApiSession as ApiSessionBase
from connectors.http import retry_policy
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.hubspot import HubSpotConnector
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from connectors.streams import Window
from connectors.toggl import STREAMS as TOGGL
from connectors.toggl import TogglConnector
from sandbox.company import Company, generate_company
from sandbox.servers import Sandbox

pytestmark = pytest.mark.connectors

JANUARY = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def company() -> Company:
    # Enough records that every listing takes several pages.
    return generate_company(seed=11, csm_count=8, account_count=400, start=date(2024, 12, 1),
                            end=date(2025, 3, 1))


@pytest.fixture()
def sandbox(company: Company, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(company, salesforce_batch_size=200).start(str(tmp_path)) as sandbox:
        # requests lets REQUESTS_CA_BUNDLE override a session's verify: trust the fake's CA.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        yield sandbox


def salesforce(sandbox: Sandbox, token: str | None = None) -> SalesforceConnector:
    return SalesforceConnector(sandbox.salesforce.base_url,
                               token or sandbox.salesforce.access_token)


def test_salesforce_pages_follow_next_records_url(sandbox: Sandbox) -> None:
    stream = SALESFORCE["opportunities"]
    pages = list(salesforce(sandbox).read(stream))
    expected = sandbox.salesforce.objects["Opportunity"]
    assert len(expected) > 400
    assert [len(p) for p in pages[:-1]] == [200] * (len(pages) - 1)
    assert len(pages) == math.ceil(len(expected) / 200)
    assert sandbox.salesforce.request_count == len(pages)
    assert sorted(r["Id"] for p in pages for r in p) == sorted(r["Id"] for r in expected)
    assert all("attributes" not in r for p in pages for r in p)
    assert set(pages[0][0]) == set(stream.fields)


def test_salesforce_owner_history_is_filtered_to_the_owner_field(sandbox: Sandbox) -> None:
    rows = [r for p in salesforce(sandbox).read(SALESFORCE["account_history"]) for r in p]
    assert rows and {r["Field"] for r in rows} == {"Owner"}
    # Two rows per change: user ids and names.
    assert {r["DataType"] for r in rows} == {"EntityId", "Text"}


def test_salesforce_reports_api_usage(sandbox: Sandbox) -> None:
    connector = salesforce(sandbox)
    list(connector.read(SALESFORCE["users"]))
    assert connector.api_usage["api-usage"]["total"] == 15000


def test_salesforce_refused_token_is_a_clear_error_without_the_token(sandbox: Sandbox) -> None:
    with pytest.raises(SourceAuthError, match="SALESFORCE_ACCESS_TOKEN") as error:
        list(salesforce(sandbox, token="wrong-secret-token").read(SALESFORCE["accounts"]))
    assert "wrong-secret-token" not in str(error.value)


def test_salesforce_needs_credentials() -> None:
    with pytest.raises(SourceNotConfigured, match="SALESFORCE_INSTANCE_URL"):
        SalesforceConnector()


def test_hubspot_pages_with_after_cursors(sandbox: Sandbox) -> None:
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    deals = list(connector.read(HUBSPOT["deals"]))
    assert len(sandbox.hubspot.deals) > 100
    # The active listing's pages, then one (empty) page of archived deals.
    assert len(deals) == math.ceil(len(sandbox.hubspot.deals) / 100) + 1
    records = [r for p in deals for r in p]
    assert len({r["id"] for r in records}) == len(sandbox.hubspot.deals)
    # Properties stay strings, as HubSpot sends them; associations come along.
    assert all(isinstance(r["properties"]["amount"], str) for r in records
               if r["properties"]["amount"] is not None)
    assert all(r["associations"]["companies"]["results"] for r in records)

    companies = list(connector.read(HUBSPOT["companies"]))
    # propertiesWithHistory caps a page at 50.
    assert len(companies) == math.ceil(len(sandbox.hubspot.companies) / 50) + 1
    first = companies[0][0]
    assert first["propertiesWithHistory"]["hubspot_owner_id"][0]["timestamp"].endswith("Z")


def test_hubspot_waits_out_429_with_retry_after(sandbox: Sandbox) -> None:
    sandbox.hubspot.inject(429, {"status": "error", "errorType": "RATE_LIMIT",
                                 "policyName": "TEN_SECONDLY_ROLLING",
                                 "message": "You have reached your ten_secondly_rolling limit."},
                           headers={"Retry-After": "1"}, times=2, path_contains="/owners")
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    owners = [r for p in connector.read(HUBSPOT["owners"]) for r in p]
    assert len(owners) == len(sandbox.hubspot.owners)
    # Two refusals, then the page of active owners, then the (empty) page of archived ones.
    assert sandbox.hubspot.requests["/crm/v3/owners/"] == 4
    # The two waits of a second are time spent on the API, not the pipeline's own.
    assert connector.http_seconds >= 2


def test_hubspot_refused_token(sandbox: Sandbox) -> None:
    connector = HubSpotConnector("pat-wrong-token", sandbox.hubspot.base_url)
    with pytest.raises(SourceAuthError, match="HUBSPOT_ACCESS_TOKEN") as error:
        list(connector.read(HUBSPOT["companies"]))
    assert "pat-wrong-token" not in str(error.value)


def test_hubspot_closed_won_stages_come_from_pipeline_metadata(sandbox: Sandbox) -> None:
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    pipelines = [r for p in connector.read(HUBSPOT["deal_pipelines"]) for r in p]
    won = {(p["id"], s["id"]) for p in pipelines for s in p["stages"]
           if s["metadata"]["isClosed"] == "true" and s["metadata"]["probability"] == "1.0"}
    assert ("default", "closedwon") in won and ("renewals", "1043512") in won


def toggl(sandbox: Sandbox) -> TogglConnector:
    return TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                          sandbox.toggl.base_url, min_interval=0)


def test_toggl_report_pages_follow_next_headers(sandbox: Sandbox) -> None:
    pages = list(toggl(sandbox).read(TOGGL["time_entries"], JANUARY))
    records = [r for p in pages for r in p]
    # Asked with a day of margin either side of the window, stopped entries only.
    expected = {e["id"] for e in sandbox.toggl.entries
                if e["stop"] and "2024-12-31" <= e["start"][:10] <= "2025-02-01"}
    assert {r["id"] for r in records} == expected
    assert len(records) == len(expected)  # flattened, none doubled across pages
    assert sandbox.toggl.requests[
        f"/reports/api/v3/workspace/{sandbox.toggl.workspace_id}/search/time_entries"] == len(pages)
    assert len(pages) > 3
    assert {"user_id", "project_id", "tag_ids", "start", "stop", "seconds"} <= set(records[0])


def test_toggl_retries_a_5xx_on_post(sandbox: Sandbox) -> None:
    sandbox.toggl.inject(503, "Service Unavailable", times=1, path_contains="/search/")
    records = [r for p in toggl(sandbox).read(TOGGL["time_entries"], JANUARY) for r in p]
    assert len(records) == len({r["id"] for r in records}) > 0


def test_toggl_paces_requests(sandbox: Sandbox) -> None:
    connector = TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                               sandbox.toggl.base_url, min_interval=0.2)
    started = time.monotonic()
    for name in ("users", "clients", "tags"):
        list(connector.read(TOGGL[name]))
    # A lower bound only (sleeping guarantees it), never an upper one: not a timing test.
    elapsed = time.monotonic() - started
    assert elapsed >= 2 * 0.2
    assert connector.request_count == 3
    assert 2 * 0.2 <= connector.http_seconds <= elapsed  # the pacing is waiting on the API


def test_toggl_refused_token(sandbox: Sandbox) -> None:
    connector = TogglConnector("wrong-token", sandbox.toggl.workspace_id, sandbox.toggl.base_url,
                               min_interval=0)
    with pytest.raises(SourceAuthError, match="TOGGL_API_TOKEN") as error:
        list(connector.read(TOGGL["users"]))
    assert "wrong-token" not in str(error.value)


def clockify(sandbox: Sandbox, page_size: int = 200) -> ClockifyConnector:
    return ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                             f"{sandbox.clockify.base_url}/api/v1", page_size=page_size)


def test_clockify_pages_end_on_a_short_page(sandbox: Sandbox) -> None:
    connector = clockify(sandbox, page_size=25)
    records = [r for p in connector.read(CLOCKIFY["time_entries"], JANUARY) for r in p]
    expected = [e for entries in sandbox.clockify.entries.values() for e in entries
                if "2025-01-01" <= e["timeInterval"]["start"][:10] <= "2025-01-31"]
    assert sorted(r["id"] for r in records) == sorted(e["id"] for e in expected)
    users = len(sandbox.clockify.users)
    per_user = [sum(1 for e in expected if e["userId"] == u["id"]) for u in sandbox.clockify.users]
    # One users page, then per user ceil(n/25) pages, plus one more when n divides evenly.
    assert connector.request_count == 1 + sum(n // 25 + 1 for n in per_user)
    assert users > 1
    assert all(r["timeInterval"]["duration"].startswith("PT") for r in records
               if r["timeInterval"]["end"])


def test_clockify_refused_key(sandbox: Sandbox) -> None:
    connector = ClockifyConnector("wrong-key", sandbox.clockify.workspace_id,
                                  f"{sandbox.clockify.base_url}/api/v1")
    with pytest.raises(SourceAuthError, match="CLOCKIFY_API_KEY") as error:
        list(connector.read(CLOCKIFY["users"]))
    assert "wrong-key" not in str(error.value)


def test_salesforce_extra_fields_and_a_quoted_history_filter(sandbox: Sandbox) -> None:
    connector = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token,
                                    extra_fields={"opportunities": ("Term_Months__c",)})
    records = [r for p in connector.read(SALESFORCE["opportunities"]) for r in p]
    assert "Term_Months__c" in records[0]
    assert connector.soql(SALESFORCE["account_history"]).endswith(
        "WHERE Field = 'Owner' ORDER BY CreatedDate")
    # A value goes through format_soql: quotes are escaped, never spliced into the query.
    hostile = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token,
                                  history_field="x' OR Field != 'y")
    assert hostile.soql(SALESFORCE["account_history"]).endswith(
        "WHERE Field = 'x\\' OR Field != \\'y' ORDER BY CreatedDate")


def test_hubspot_archived_records_arrive_as_archived(sandbox: Sandbox) -> None:
    gone = sandbox.hubspot.companies[3]["id"]
    sandbox.hubspot.archive("companies", gone)
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    records = [r for p in connector.read(HUBSPOT["companies"]) for r in p]
    assert len(records) == len(sandbox.hubspot.companies)  # active and archived, once each
    archived = [r for r in records if r["archived"]]
    assert [r["id"] for r in archived] == [gone] and archived[0]["archivedAt"].endswith("Z")


def test_salesforce_large_pulls_go_through_bulk_api_2(sandbox: Sandbox) -> None:
    import duckdb

    from pipelines.crm import assets as crm
    from pipelines.settings import Settings
    from pipelines.time_tracking import assets as time_tracking
    from warehouse.loading import land
    from warehouse.schema import prepare

    stream = SALESFORCE["opportunities"]
    total = len(sandbox.salesforce.objects["Opportunity"])
    connector = SalesforceConnector(sandbox.salesforce.base_url,
                                    sandbox.salesforce.access_token, bulk_threshold=100,
                                    bulk_page_size=150)
    pages = list(connector.read(stream))
    paths = sandbox.salesforce.requests
    assert [len(p) for p in pages] == [150] * (total // 150) + [total % 150]
    assert sum(n for p, n in paths.items() if p.endswith("/results")) == len(pages)
    assert sum(n for p, n in paths.items() if p.endswith("/jobs/query")) == 1
    assert paths["/services/data/v59.0/queryAll/"] == 1  # one REST page told the size
    records = [r for p in pages for r in p]
    assert {r["Id"] for r in records} == {r["Id"] for r in sandbox.salesforce.objects[
        "Opportunity"]}
    assert all(isinstance(r["IsWon"], str) for r in records)  # CSV: text throughout

    # The staging SQL reads bulk CSV text as it reads REST JSON.
    rest = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token)
    rules = Settings()
    typed = []
    for source in (pages, list(rest.read(stream))):
        with duckdb.connect(":memory:") as conn:
            prepare(conn, [*crm.STREAMS, *time_tracking.STREAMS], rules.for_warehouse(),
                    rules.tables())
            land(conn, stream, source, "run")
            typed.append(conn.execute(
                "select * exclude (amount_raw) from staging.stg_salesforce__opportunities "
                "order by deal_id").fetchall())
    assert typed[0] == typed[1]


class LoginHostToFake(ApiSessionBase):
    """Routes simple-salesforce's login host to the fake (transport only; the client is real)."""

    def __init__(self, target: str) -> None:
        from connectors.salesforce.client import LOGIN_PATHS

        super().__init__(retry=retry_policy(never_retry=LOGIN_PATHS))
        self.target = target

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        url = str(url).replace("https://test.salesforce.com", self.target)
        return super().request(method, url, *args, **kwargs)


def test_salesforce_username_password_login_and_relogin(sandbox: Sandbox) -> None:
    fake = sandbox.salesforce
    connector = SalesforceConnector(username=fake.username, password=fake.password,
                                    security_token=fake.security_token, domain="test",
                                    session=LoginHostToFake(fake.base_url))
    assert len([r for p in connector.read(SALESFORCE["users"]) for r in p]) == len(
        fake.objects["User"])
    fake.access_token = "rotated-session"  # the session expires: 401, then a fresh login
    assert len([r for p in connector.read(SALESFORCE["users"]) for r in p]) == len(
        fake.objects["User"])
    assert fake.requests["/services/Soap/u/59.0"] == 2


def test_salesforce_refused_login_names_the_variables_not_the_secret(sandbox) -> None:
    fake = sandbox.salesforce
    with pytest.raises(SourceAuthError, match="SALESFORCE_PASSWORD") as error:
        SalesforceConnector(username=fake.username, password="hunter2-wrong",
                            security_token=fake.security_token, domain="test",
                            session=LoginHostToFake(fake.base_url))
    assert "hunter2-wrong" not in str(error.value)
    assert "INVALID_LOGIN" in str(error.value)


@pytest.fixture()
def leavers(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The tiny company after Alice (Salesforce, Toggl), Bob (Salesforce, Clockify) and Carol
    (HubSpot) left: served as each vendor serves leavers (docs/metrics.md, "Who is a CSM")."""
    from tests.tiny_company import tiny_company

    company = tiny_company()
    for key in ("alice", "bob", "carol"):
        company.person(key).left_at = datetime(2025, 3, 15, tzinfo=UTC)
    with Sandbox(company).start(str(tmp_path)) as sandbox:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        yield sandbox


def test_hubspot_archived_owners_are_read_and_marked(leavers: Sandbox) -> None:
    connector = HubSpotConnector(leavers.hubspot.access_token, leavers.hubspot.base_url)
    owners = [r for p in connector.read(HUBSPOT["owners"]) for r in p]
    # dave (tests/tiny_company.py) has not left: listed first, with the active owners.
    assert [(o["email"], o["archived"]) for o in owners] == [("dave@example.com", False),
                                                             ("carol@example.com", True)]
    # The fake lists archived owners only when asked, as HubSpot does.
    assert leavers.hubspot.requests["/crm/v3/owners/"] == 2


def test_salesforce_inactive_users_are_read(leavers: Sandbox) -> None:
    users = [r for p in salesforce(leavers).read(SALESFORCE["users"]) for r in p]
    assert {(u["Email"], u["IsActive"]) for u in users} == {
        ("alice@example.com", False), ("bob@example.com", False),
        ("dave@example.com", True)}  # dave has not left
    assert " WHERE " not in salesforce(leavers).soql(SALESFORCE["users"])  # no IsActive filter


def test_clockify_reads_inactive_members_and_their_entries(leavers: Sandbox) -> None:
    connector = clockify(leavers)
    users = [r for p in connector.read(CLOCKIFY["users"]) for r in p]
    assert [(u["email"], u["status"]) for u in users] == [("Robert.Brown@Example.com",
                                                            "INACTIVE")]
    entries = [r for p in connector.read(CLOCKIFY["time_entries"], JANUARY) for r in p]
    assert [e["description"] for e in entries] == ["Training"]  # Bob's one January entry
