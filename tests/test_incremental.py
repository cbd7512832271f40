# ruff: noqa: F811
# (tests.small_sandbox's fixtures, imported, are named again as the tests' parameters)
"""Incremental pulls: the second run reads only what changed, deletes stay as deleted, and a
spent API quota mid-pull loses nothing and doubles nothing."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime

import duckdb
import pytest

from connectors.salesforce import STREAMS as SALESFORCE
from connectors.salesforce import SalesforceConnector
from connectors.salesforce.client import OVERLAP
from sandbox.servers import Sandbox
from tests.small_sandbox import company, sandbox  # noqa: F401 (fixtures)
from warehouse.loading import get_cursor, land
from warehouse.pull import pull_stream

SF_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
OPPORTUNITIES = SALESFORCE["opportunities"]
ACCOUNTS = SALESFORCE["accounts"]


def pull(conn: duckdb.DuckDBPyConnection, sandbox: Sandbox, stream, run_id: str):
    connector = SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token)
    since = get_cursor(conn, stream.source, stream.name)
    return land(conn, stream, connector.read(stream, since=since), run_id)


def count(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    row = conn.execute(f"select count(*), count(distinct _pk) from raw.{table}").fetchone()
    assert row is not None
    return row


def test_a_second_run_reads_only_the_changes(conn, sandbox: Sandbox) -> None:
    fake = sandbox.salesforce
    total = len(fake.objects["Opportunity"])
    first = pull(conn, sandbox, OPPORTUNITIES, "first")
    assert first.records == total and first.pages == -(-total // 200)
    requests_before = fake.request_count

    changed = fake.objects["Opportunity"][:2]
    # Records at the watermark (less the overlap) are read again on purpose, and merged.
    watermark = datetime.strptime(first.cursor or "", SF_TIME) - OVERLAP
    boundary = {r["Id"] for r in fake.objects["Opportunity"]
                if datetime.strptime(r["SystemModstamp"], SF_TIME) >= watermark}
    assert len(boundary) < 5
    fake.update("Opportunity", changed[0]["Id"], Amount=123456.0)
    fake.update("Opportunity", changed[1]["Id"], StageName="Closed Won", IsWon=True)
    second = pull(conn, sandbox, OPPORTUNITIES, "second")

    assert fake.request_count - requests_before == 1  # one page of changes
    assert second.records == len(boundary | {c["Id"] for c in changed})
    assert count(conn, "salesforce__opportunities") == (total, total)  # merged, not doubled
    amount = conn.execute("select _record->>'Amount' from raw.salesforce__opportunities "
                          "where _pk = $id", {"id": changed[0]["Id"]}).fetchone()
    assert amount == ("123456.0",)
    assert second.cursor is not None and second.cursor > (first.cursor or "")


def test_a_deleted_record_is_kept_as_deleted(conn, sandbox: Sandbox) -> None:
    fake = sandbox.salesforce
    pull(conn, sandbox, ACCOUNTS, "first")
    gone = fake.objects["Account"][7]["Id"]
    fake.delete("Account", gone)
    second = pull(conn, sandbox, ACCOUNTS, "second")
    assert gone in {r[0] for r in conn.execute(
        "select _pk from raw.salesforce__accounts where _run_id = 'second'").fetchall()}
    assert second.records < 5  # the deletion (and the watermark's boundary), not everything
    assert conn.execute("select (_record->>'IsDeleted')::boolean from raw.salesforce__accounts "
                        "where _pk = $id", {"id": gone}).fetchone() == (True,)


def test_an_api_limit_mid_paging_resumes_with_nothing_lost_or_doubled(conn, sandbox) -> None:
    fake = sandbox.salesforce
    total = len(fake.objects["Opportunity"])
    assert total > 400
    # The third page's request answers as Salesforce does when the org's daily limit is spent.
    fake.inject(403, [{"message": "TotalRequests Limit exceeded.",
                       "errorCode": "REQUEST_LIMIT_EXCEEDED"}], path_contains="-400")
    first = pull(conn, sandbox, OPPORTUNITIES, "cut-short")
    assert first.limit_reached and "REQUEST_LIMIT_EXCEEDED" not in (first.limit_reached or "x")
    assert first.rows_written == 400  # the two pages read are kept ...
    assert first.cursor is not None  # ... with the watermark where they reached

    second = pull(conn, sandbox, OPPORTUNITIES, "resumed")
    assert second.limit_reached is None
    assert second.records < total  # it resumed, it did not start over
    assert count(conn, "salesforce__opportunities") == (total, total)
    ids = {r[0] for r in conn.execute("select _pk from raw.salesforce__opportunities").fetchall()}
    assert ids == {r["Id"] for r in fake.objects["Opportunity"]}


def test_a_full_pull_cut_short_changes_nothing(conn, sandbox: Sandbox) -> None:
    from connectors.errors import SourceLimitReached

    pull(conn, sandbox, OPPORTUNITIES, "first")
    before = count(conn, "salesforce__opportunities")
    sandbox.salesforce.inject(403, [{"message": "limit", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
                              path_contains="-200")
    connector = SalesforceConnector(sandbox.salesforce.base_url,
                                    sandbox.salesforce.access_token)
    with pytest.raises(SourceLimitReached):
        land(conn, OPPORTUNITIES, connector.read(OPPORTUNITIES), "replace", write_mode="replace")
    assert count(conn, "salesforce__opportunities") == before


def test_a_member_removed_from_clockify_keeps_her_entries_on_a_re_pull(
        conn, sandbox: Sandbox) -> None:
    """Clockify lists entries per member; a member removed from the workspace is not listed
    even with status=ALL, so her entries cannot be read again. They are not deleted: a re-pull
    marks deleted only the entries of members it read (docs/connectors.md)."""
    from datetime import UTC

    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.clockify import ClockifyConnector
    from connectors.streams import Window

    february = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    stream = CLOCKIFY["time_entries"]
    connector = ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                  f"{sandbox.clockify.base_url}/api/v1")
    def pull(run_id: str) -> None:
        # The raw asset's own function: the scope is known once the pages are staged.
        pull_stream(stream, connector, lambda: nullcontext(conn), run_id, [february])

    pull("first")
    removed = next(u for u in sandbox.clockify.users if sandbox.clockify.entries.get(u["id"]))
    hers = conn.execute("select count(*) from raw.clockify__time_entries "
                        "where _record->>'userId' = $id", {"id": removed["id"]}).fetchone()[0]
    assert hers > 0
    sandbox.clockify.users = [u for u in sandbox.clockify.users if u is not removed]
    gone = next(e for uid, entries in sandbox.clockify.entries.items() if uid != removed["id"]
                for e in entries if e["timeInterval"]["start"].startswith("2025-02-1"))["id"]
    sandbox.clockify.delete_entry(gone)

    pull("again")
    deleted = conn.execute("select _pk from raw.clockify__time_entries "
                           "where _deleted_at is not null").fetchall()
    assert deleted == [(gone,)]  # the deletion among members read is still seen
    assert conn.execute("select count(*) from raw.clockify__time_entries "
                        "where _record->>'userId' = $id and _deleted_at is null",
                        {"id": removed["id"]}).fetchone()[0] == hers


def test_time_entries_that_vanish_from_a_re_pulled_window_are_marked_deleted(
        conn, sandbox: Sandbox) -> None:
    from datetime import UTC

    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.clockify import ClockifyConnector
    from connectors.streams import Window
    from connectors.toggl import STREAMS as TOGGL
    from connectors.toggl import TogglConnector

    february = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    clockify = ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                 f"{sandbox.clockify.base_url}/api/v1")
    toggl = TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                           sandbox.toggl.base_url, min_interval=0)
    for connector, stream in ((clockify, CLOCKIFY["time_entries"]),
                              (toggl, TOGGL["time_entries"])):
        land(conn, stream, connector.read(stream, february), "first", february)

    gone_c = next(e for entries in sandbox.clockify.entries.values() for e in entries
                  if e["timeInterval"]["start"].startswith("2025-02-1"))["id"]
    sandbox.clockify.delete_entry(gone_c)
    gone_t = next(e for e in sandbox.toggl.entries if e["start"].startswith("2025-02-1"))["id"]
    sandbox.toggl.delete_entry(gone_t)
    edited = next(e for e in sandbox.toggl.entries if e["start"].startswith("2025-02-2"))["id"]
    sandbox.toggl.update_entry(edited, description="Renamed in Toggl")

    for connector, stream in ((clockify, CLOCKIFY["time_entries"]),
                              (toggl, TOGGL["time_entries"])):
        land(conn, stream, connector.read(stream, february), "again", february)

    deleted = conn.execute(
        "select _pk from raw.clockify__time_entries where _deleted_at is not null "
        "union all select _pk from raw.toggl__time_entries where _deleted_at is not null"
    ).fetchall()
    assert sorted(r[0] for r in deleted) == sorted([gone_c, str(gone_t)])
    assert conn.execute("select _record->>'description' from raw.toggl__time_entries "
                        "where _pk = $id", {"id": str(edited)}).fetchone() == (
        "Renamed in Toggl",)
    for table in ("clockify__time_entries", "toggl__time_entries"):
        assert count(conn, table)[0] == count(conn, table)[1]  # nothing doubled


def hubspot_pull(conn, sandbox: Sandbox, run_id: str):
    from connectors.hubspot import STREAMS as HUBSPOT
    from connectors.hubspot import HubSpotConnector

    stream = HUBSPOT["companies"]
    connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
    return land(conn, stream, connector.read(stream, since=get_cursor(conn, "hubspot",
                                                                      "companies")), run_id)


def test_hubspot_companies_second_run_reads_only_the_changes(conn, sandbox: Sandbox) -> None:
    fake = sandbox.hubspot
    total = len(fake.companies)
    first = hubspot_pull(conn, sandbox, "first")
    assert first.records == total and first.cursor
    before = dict(fake.requests)

    changed = [fake.companies[2]["id"], fake.companies[5]["id"]]
    # Records at the watermark (less the overlap) are read again on purpose, and merged.
    watermark = datetime.fromisoformat((first.cursor or "").replace("Z", "+00:00")) - OVERLAP
    boundary = {c["id"] for c in fake.companies if datetime.fromisoformat(
        c["properties"]["hs_lastmodifieddate"].replace("Z", "+00:00")) >= watermark}
    assert len(boundary) < 5
    fake.update("companies", changed[0], name="Renamed Inc")
    fake.update("companies", changed[1], hubspot_owner_id=fake.owners[0]["id"])
    second = hubspot_pull(conn, sandbox, "second")

    made = {path: n - before.get(path, 0) for path, n in fake.requests.items()
            if n - before.get(path, 0)}
    # One search, one batch read of the changed ids, one page of the archived listing.
    assert made == {"/crm/v3/objects/companies/search": 1,
                    "/crm/v3/objects/companies/batch/read": 1,
                    "/crm/v3/objects/companies": 1}
    assert second.records == len(boundary | set(changed))
    assert count(conn, "hubspot__companies") == (total, total)
    row = conn.execute("""
        select _record->'properties'->>'name',
               json_array_length(_record->'propertiesWithHistory'->'hubspot_owner_id')
        from raw.hubspot__companies where _pk = $id""", {"id": changed[1]}).fetchone()
    history = fake.companies[5]["_history"]["hubspot_owner_id"]
    assert row == (fake.companies[5]["properties"]["name"], len(history))  # history came too
    assert second.cursor is not None and second.cursor > (first.cursor or "")


def test_hubspot_search_windows_past_ten_thousand_at_one_timestamp(conn, sandbox) -> None:
    fake = sandbox.hubspot
    hubspot_pull(conn, sandbox, "first")
    # 10,050 companies modified at the very same millisecond: no single query can page them.
    fake.add_companies(10_050, datetime.now(UTC))
    second = hubspot_pull(conn, sandbox, "second")
    landed = {r[0] for r in conn.execute(
        "select _pk from raw.hubspot__companies where _run_id = 'second'").fetchall()}
    assert {str(90_000_000 + n) for n in range(10_050)} <= landed
    # Records at that one timestamp are read again in id order once a window fills with them
    # (search sorts on one property), and merged: read twice at most, landed once.
    assert 10_050 <= second.records <= 2 * 10_050 + 10
    total = len(fake.companies)
    assert count(conn, "hubspot__companies") == (total, total)
    searches = fake.requests["/crm/v3/objects/companies/search"]
    assert searches >= -(-10_050 // 200)  # every page read, none past the cap (it would 400)


def test_hubspot_search_429_on_post_is_waited_out(conn, sandbox: Sandbox) -> None:
    fake = sandbox.hubspot
    hubspot_pull(conn, sandbox, "first")
    fake.update("companies", fake.companies[1]["id"], name="Changed")
    fake.inject(429, {"status": "error", "errorType": "RATE_LIMIT",
                      "policyName": "TEN_SECONDLY_ROLLING",
                      "message": "You have reached your ten_secondly_rolling limit."},
                headers={"Retry-After": "1", "X-HubSpot-RateLimit-Remaining": "0"},
                path_contains="/search")
    before = fake.requests["/crm/v3/objects/companies/search"]
    second = hubspot_pull(conn, sandbox, "second")
    assert fake.requests["/crm/v3/objects/companies/search"] - before == 2  # refused, retried
    assert fake.companies[1]["id"] in {r[0] for r in conn.execute(
        "select _pk from raw.hubspot__companies where _run_id = 'second'").fetchall()}
    assert second.limit_reached is None


def toggl_quota(sandbox: Sandbox, requests: int, refill: float) -> None:
    sandbox.toggl.limit(requests, 402, "You have hit your hourly limit for API calls.", refill,
                        lambda wait: {"X-Toggl-Quota-Remaining": "0",
                                      "X-Toggl-Quota-Resets-In": str(max(1, round(wait)))})


def test_toggl_hourly_quota_is_waited_out_when_it_refills_soon(conn, sandbox) -> None:
    from connectors.streams import Window
    from connectors.toggl import STREAMS as TOGGL
    from connectors.toggl import TogglConnector

    january = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    connector = TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                               sandbox.toggl.base_url, min_interval=0, max_quota_wait=5)
    toggl_quota(sandbox, requests=1, refill=1.0)  # the second page is refused for a second
    stats = land(conn, TOGGL["time_entries"], connector.read(TOGGL["time_entries"], january),
                 "quota", january)
    assert stats.pages == 2
    search = f"/reports/api/v3/workspace/{sandbox.toggl.workspace_id}/search/time_entries"
    assert sandbox.toggl.requests[search] == stats.pages + 1  # one 402, then the page again
    expected = {e["id"] for e in sandbox.toggl.entries
                if e["stop"] and e["start"].startswith("2025-01")}
    landed = {int(r[0]) for r in conn.execute(
        "select _pk from raw.toggl__time_entries").fetchall()}
    assert landed == expected and stats.rows_written == len(expected) > 0  # nothing lost


def test_toggl_quota_that_refills_late_ends_the_pull_cleanly(conn, sandbox) -> None:
    from connectors.errors import SourceLimitReached
    from connectors.streams import Window
    from connectors.toggl import STREAMS as TOGGL
    from connectors.toggl import TogglConnector

    january = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    connector = TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                               sandbox.toggl.base_url, min_interval=0, max_quota_wait=5)
    land(conn, TOGGL["time_entries"], connector.read(TOGGL["time_entries"], january), "ok",
         january)
    before = count(conn, "toggl__time_entries")
    toggl_quota(sandbox, requests=1, refill=3600)
    with pytest.raises(SourceLimitReached, match="refills in 3600s"):
        land(conn, TOGGL["time_entries"], connector.read(TOGGL["time_entries"], january),
             "cut", january)
    assert count(conn, "toggl__time_entries") == before  # the landed window is untouched


@pytest.mark.parametrize("vendor", ["salesforce", "hubspot", "toggl", "clockify"])
def test_a_truncated_page_fails_cleanly_and_a_rerun_lands_everything(
        conn, sandbox: Sandbox, vendor: str) -> None:
    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.clockify import ClockifyConnector
    from connectors.errors import SourceError
    from connectors.hubspot import STREAMS as HUBSPOT
    from connectors.hubspot import HubSpotConnector
    from connectors.streams import Window
    from connectors.toggl import STREAMS as TOGGL
    from connectors.toggl import TogglConnector

    january = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    connector, stream, window, second_page = {
        "salesforce": (SalesforceConnector(sandbox.salesforce.base_url,
                                           sandbox.salesforce.access_token),
                       OPPORTUNITIES, None, "-200"),
        "hubspot": (HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url),
                    HUBSPOT["deals"], None, "/deals"),
        "toggl": (TogglConnector(sandbox.toggl.api_token, sandbox.toggl.workspace_id,
                                 sandbox.toggl.base_url, min_interval=0),
                  TOGGL["time_entries"], january, "/search/"),
        "clockify": (ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                       f"{sandbox.clockify.base_url}/api/v1", page_size=20),
                     CLOCKIFY["time_entries"], january, "/time-entries"),
    }[vendor]
    server = getattr(sandbox, vendor)
    # The first page is fine; the next one is cut off mid-document.
    if vendor in ("hubspot", "toggl", "clockify"):
        server.inject(0, path_contains=second_page)  # let one through
    server.inject(200, raw=b'{"results": [{"id": "1", "prop', path_contains=second_page)
    with pytest.raises(SourceError, match="not valid JSON"):
        land(conn, stream, connector.read(stream, window), "broken", window)
    table = f"raw.{stream.table}"
    assert conn.execute(f"select count(*) from {table}").fetchone() == (0,)  # nothing half-landed
    stats = land(conn, stream, connector.read(stream, window), "again", window)
    assert stats.rows_written > 0
    assert count(conn, stream.table) == (stats.rows_written, stats.rows_written)


def test_hubspot_deals_second_run_reads_only_changes_with_their_companies(
        conn, sandbox: Sandbox) -> None:
    from connectors.hubspot import STREAMS as HUBSPOT
    from connectors.hubspot import HubSpotConnector

    stream = HUBSPOT["deals"]
    fake = sandbox.hubspot
    connector = HubSpotConnector(fake.access_token, fake.base_url)
    first = land(conn, stream, connector.read(stream), "first")
    deal = fake.deals[4]
    fake.update("deals", deal["id"], amount="999.00")
    before = dict(fake.requests)
    land(conn, stream, connector.read(stream, since=first.cursor), "second")
    made = {p: n - before.get(p, 0) for p, n in fake.requests.items() if n - before.get(p, 0)}
    assert made == {"/crm/v3/objects/deals/search": 1, "/crm/v3/objects/deals/batch/read": 1,
                    "/crm/v4/associations/deals/companies/batch/read": 1,
                    "/crm/v3/objects/deals": 1}
    row = conn.execute("""
        select _record->'properties'->>'amount',
               _record->'associations'->'companies'->'results'->0->>'id'
        from raw.hubspot__deals where _pk = $id""", {"id": deal["id"]}).fetchone()
    company = deal["associations"]["companies"]["results"][0]["id"]
    assert row == ("999.00", company)  # the change, and still its company
    assert count(conn, "hubspot__deals") == (len(fake.deals), len(fake.deals))


def test_a_later_run_pulls_only_its_own_months_time_entries(tmp_path) -> None:
    """Trackers have no modified-since filter: a scheduled run re-pulls its month (the trailing
    window) and the months after it that its onboarding windows reach (docs/backfilling.md), in
    the same requests, never the history."""
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions
    from tests.conftest import marts_only, point_at, run_pipeline
    from tests.tiny_company import tiny_company

    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes, \
            pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, fakes, tmp_path / "warehouse.duckdb")
        instance = DagsterInstance.ephemeral()
        run_pipeline("2025-01-01", "2025-03-01", instance, bi=False)
        toggl, clockify = fakes.toggl.request_count, fakes.clockify.request_count
        job = build_definitions().resolve_job_def("monthly_metrics")
        # The scheduled run's pulls and marts; BI (publish, Hyper, the report) calls no API.
        result = job.execute_in_process(instance=instance, partition_key="2025-03-01",
                                        asset_selection=marts_only(job))
        assert result.success
        # March to June (the onboarding months after it) in one report page
        assert fakes.toggl.request_count - toggl == 1
        assert fakes.clockify.request_count - clockify == 2  # the users page, bob's one page


def test_full_refresh_run_config_pulls_a_merge_stream_whole(tmp_path) -> None:
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import build_definitions
    from tests.conftest import point_at
    from tests.tiny_company import tiny_company

    with Sandbox(tiny_company()).start(str(tmp_path)) as fakes, \
            pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, fakes, tmp_path / "warehouse.duckdb")
        job = build_definitions().resolve_job_def("pull_sources")
        instance = DagsterInstance.ephemeral()
        key = AssetKey(["raw", "salesforce", "accounts"])

        def mode(run_config: dict | None = None) -> str:
            result = job.execute_in_process(instance=instance, run_config=run_config)
            events = [e for e in result.asset_materializations_for_node("raw_sources")
                      if e.asset_key == key]
            assert len(events) == 1
            return events[0].metadata["mode"].value

        assert mode() == "full"  # no cursor yet
        assert mode() == "incremental"
        refresh = {"ops": {"raw_sources": {"config": {"full_refresh": True}}}}
        assert mode(refresh) == "full"


@pytest.mark.parametrize("vendor", ["clockify", "hubspot"])
def test_a_retry_after_beyond_the_cap_fails_at_once_instead_of_waiting(
        conn, sandbox: Sandbox, vendor: str) -> None:
    import time

    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.clockify import ClockifyConnector
    from connectors.errors import SourceError
    from connectors.hubspot import STREAMS as HUBSPOT
    from connectors.hubspot import HubSpotConnector

    if vendor == "clockify":
        connector = ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                      f"{sandbox.clockify.base_url}/api/v1")
        stream = CLOCKIFY["users"]
    else:
        connector = HubSpotConnector(sandbox.hubspot.access_token, sandbox.hubspot.base_url)
        stream = HUBSPOT["owners"]
    getattr(sandbox, vendor).inject(429, {"message": "slow down"}, {"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(SourceError, match="Retry-After of 3600s"):
        land(conn, stream, connector.read(stream), "patient")
    assert time.monotonic() - started < 30  # not the hour the API asked for


def test_a_lone_surrogate_from_the_api_is_landed_as_a_replacement_character(
        conn, sandbox: Sandbox) -> None:
    """The fake sends `"\\ud83d"` in its JSON, as a client that cut an emoji in half would
    have stored it; the record lands, with U+FFFD in its place, and so do its neighbours."""
    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.clockify import ClockifyConnector
    from connectors.streams import Window

    february = Window(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    cut = next(e for entries in sandbox.clockify.entries.values() for e in entries
               if e["timeInterval"]["start"].startswith("2025-02-1"))
    cut["description"] = "Kickoff call \ud83d"
    connector = ClockifyConnector(sandbox.clockify.api_key, sandbox.clockify.workspace_id,
                                  f"{sandbox.clockify.base_url}/api/v1")
    stream = CLOCKIFY["time_entries"]
    stats = land(conn, stream, connector.read(stream, february), "cut", february)
    assert stats.repaired == 1 and stats.quarantined == 0
    assert conn.execute("select _record->>'description' from raw.clockify__time_entries "
                        "where _pk = $id", {"id": cut["id"]}).fetchone() == (
        "Kickoff call \ufffd",)
    expected = sum(1 for entries in sandbox.clockify.entries.values() for e in entries
                   if e["timeInterval"]["start"].startswith("2025-02"))
    assert stats.rows_written == expected


def test_a_pull_that_would_empty_most_of_a_table_needs_run_config_to_go_ahead(
        sandbox: Sandbox, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import build_definitions
    from tests.conftest import point_at

    point_at(monkeypatch, sandbox, tmp_path / "warehouse.duckdb")
    job = build_definitions().resolve_implicit_global_asset_job_def()
    key = AssetKey(["raw", "toggl", "projects"])
    instance = DagsterInstance.ephemeral()
    assert job.execute_in_process(instance=instance, asset_selection=[key]).success
    total = len(sandbox.toggl.projects)
    assert total >= 10
    sandbox.toggl.projects = sandbox.toggl.projects[:2]  # a token that now sees two projects

    refused = job.execute_in_process(instance=instance, asset_selection=[key],
                                     raise_on_error=False)
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description or ""
    assert f"{total - 2} of {total}" in message and "allow_mass_delete" in message
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.toggl__projects").fetchone() == (total,)

    allowed = {"ops": {"raw_sources": {"config": {"allow_mass_delete": True}}}}
    assert job.execute_in_process(instance=instance, asset_selection=[key],
                                  run_config=allowed).success
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.toggl__projects").fetchone() == (2,)


def test_a_field_added_to_a_stream_is_read_for_every_record_once(conn, sandbox: Sandbox) -> None:
    """A cursor says which records changed since the last pull, not which fields were read: when
    the fields a stream reads change (a setting names a loss-reason field; a new version reads
    one more), the next pull reads every record again, once, so no old record lacks the field."""
    from contextlib import nullcontext

    from warehouse.pull import pull_stream

    def connector(**extra: tuple[str, ...]) -> SalesforceConnector:
        return SalesforceConnector(sandbox.salesforce.base_url, sandbox.salesforce.access_token,
                                   extra_fields=extra)

    total = len(sandbox.salesforce.objects["Opportunity"])
    first = pull_stream(OPPORTUNITIES, connector(), lambda: nullcontext(conn), "first")
    assert first.mode == "full" and first.records == total
    again = pull_stream(OPPORTUNITIES, connector(), lambda: nullcontext(conn), "again")
    assert again.mode == "incremental" and again.records < 5
    wider = pull_stream(OPPORTUNITIES, connector(opportunities=("Loss_Reason__c",)),
                        lambda: nullcontext(conn), "wider")
    assert wider.mode == "full" and wider.records == total
    missing = conn.execute("select count(*) from raw.salesforce__opportunities "
                           "where not json_exists(_record, '$.Loss_Reason__c')").fetchone()
    assert missing == (0,)
    after = pull_stream(OPPORTUNITIES, connector(opportunities=("Loss_Reason__c",)),
                        lambda: nullcontext(conn), "after")
    assert after.mode == "incremental" and after.records < 5
