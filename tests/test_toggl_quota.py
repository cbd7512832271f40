"""Toggl within its quota: year-long report windows, and pacing from the quota headers.

Against the fake Toggl over a real socket. The fake enforces Toggl's hourly quota, scaled down
(requests per window, the window's length in seconds): it sends `X-Toggl-Quota-Remaining` and
`X-Toggl-Quota-Resets-In` on every answer, answers 402 once the quota is spent, and counts the
402s it sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from dagster import AssetsDefinition, TimeWindow, asset, materialize

from connectors.errors import SourceLimitReached
from connectors.streams import Window
from connectors.toggl import STREAMS as TOGGL
from connectors.toggl import TogglConnector
from connectors.toggl.client import PROJECTS_PER_PAGE, REPORT_PAGE_SIZE
from pipelines.partitions import read_windows
from pipelines.time_tracking.resources import TogglResource
from sandbox.company import Company
from sandbox.servers import FakeToggl

BERLIN = ZoneInfo("Europe/Berlin")
# The demo company's whole history, as the pipeline's monthly partitions cut it.
BACKFILL = TimeWindow(datetime(2024, 11, 1, tzinfo=BERLIN), datetime(2026, 11, 1, tzinfo=BERLIN))
SEARCH = "/reports/api/v3/workspace/{wid}/search/time_entries"


@pytest.fixture()
def fake(demo_company: Company) -> Iterator[FakeToggl]:
    with FakeToggl(demo_company) as server:
        yield server


def connector(fake: FakeToggl, **kwargs: object) -> TogglConnector:
    kwargs.setdefault("min_interval", 0)
    return TogglConnector(fake.api_token, fake.workspace_id, fake.base_url, **kwargs)


def pull(connector: TogglConnector, window: TimeWindow) -> set[int]:
    """The entries a backfill of `window` lands: read window by window as the raw asset reads
    them, kept when they start inside their window."""
    landed: set[int] = set()
    for part in read_windows(window, connector.max_window_months):
        for page in connector.read(TOGGL["time_entries"], part):
            landed |= {r["id"] for r in page
                       if part.start <= datetime.fromisoformat(r["start"]) < part.end}
    return landed


def in_range(fake: FakeToggl, window: TimeWindow) -> set[int]:
    return {e["id"] for e in fake.entries if e["stop"] and not e["server_deleted_at"]
            and window.start <= datetime.fromisoformat(e["start"]) < window.end}


def test_a_backfill_issues_within_5_percent_of_the_page_minimum(fake: FakeToggl) -> None:
    client = connector(fake)
    assert client.max_window_months == 12  # a year a window, what the Reports API allows
    landed = pull(client, BACKFILL)
    assert landed == in_range(fake, BACKFILL)
    search = fake.requests[SEARCH.format(wid=fake.workspace_id)]
    minimum = math.ceil(len(landed) / REPORT_PAGE_SIZE)
    assert REPORT_PAGE_SIZE == 50 and minimum > 200
    assert search <= 1.05 * minimum, f"{search} requests for {len(landed)} entries ({minimum})"

    # The workspace directory: one request a listing, projects paged 200 at a time.
    for name in ("users", "clients", "projects", "tags"):
        list(client.read(TOGGL[name]))
    minimums = {"users": 1, "clients": 1, "tags": 1,
                "projects": len(fake.projects) // PROJECTS_PER_PAGE + 1}
    for name, least in minimums.items():
        assert fake.requests[f"/api/v9/workspaces/{fake.workspace_id}/{name}"] == least, name
    assert fake.request_count <= 1.05 * (minimum + sum(minimums.values()))
    assert client.request_count == fake.request_count


def test_report_ranges_stay_within_a_year(fake: FakeToggl) -> None:
    """A 12-month window with its margins spans more dates than one report may: it is asked
    as ranges of at most a year, and no entry is read twice."""
    leap = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    records = [r for p in connector(fake).read(TOGGL["time_entries"], leap) for r in p]
    assert len(records) == len({r["id"] for r in records})
    asked = fake.report_ranges
    assert all((last - first).days < 366 for first, last in asked)
    assert min(f for f, _ in asked).isoformat() == "2023-12-31"
    assert max(last for _, last in asked).isoformat() == "2025-01-01"


def test_the_fake_enforces_an_hourly_quota_with_its_headers(fake: FakeToggl) -> None:
    fake.hourly_quota(3, window_seconds=1.5)
    url = f"{fake.base_url}/api/v9/workspaces/{fake.workspace_id}/users"
    auth = (fake.api_token, "api_token")
    answers = [requests.get(url, auth=auth, timeout=10) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 402]
    assert [a.headers["X-Toggl-Quota-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(1 <= int(a.headers["X-Toggl-Quota-Resets-In"]) <= 2 for a in answers)
    assert fake.quota_refusals == 1
    time.sleep(1.6)  # the window that opened with the first request has closed
    again = requests.get(url, auth=auth, timeout=10)
    assert again.status_code == 200 and again.headers["X-Toggl-Quota-Remaining"] == "2"


def test_a_pull_longer_than_one_quota_window_draws_no_402(fake: FakeToggl) -> None:
    fake.hourly_quota(30, window_seconds=3)
    logged: list[str] = []
    client = connector(fake, max_quota_wait=10, log=logged.append)
    window = TimeWindow(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    started = time.monotonic()
    landed = pull(client, window)
    elapsed = time.monotonic() - started
    assert landed == in_range(fake, window)
    assert fake.request_count > 30  # more than one window's quota
    assert fake.quota_refusals == 0
    assert elapsed >= 3  # a lower bound only (the quota guarantees it), never an upper one
    # The time spent waiting on the API, the pacing's sleeps included, is most of a paced pull.
    assert elapsed / 2 <= client.http_seconds <= elapsed


def test_a_spent_quota_is_waited_for_and_logged(fake: FakeToggl) -> None:
    fake.hourly_quota(1, window_seconds=2)
    logged: list[str] = []
    client = connector(fake, max_quota_wait=10, log=logged.append)
    started = time.monotonic()
    list(client.read(TOGGL["users"]))  # spends the window's one request: 0 remaining
    list(client.read(TOGGL["tags"]))
    assert time.monotonic() - started >= 2
    assert fake.quota_refusals == 0
    assert any("quota" in line and "waiting" in line for line in logged), logged
    assert not any(fake.api_token in line for line in logged)


def test_a_quota_that_resets_late_ends_the_pull_without_a_402(fake: FakeToggl) -> None:
    fake.hourly_quota(1, window_seconds=60)
    client = connector(fake, max_quota_wait=5)
    list(client.read(TOGGL["users"]))
    with pytest.raises(SourceLimitReached, match=r"refills in (59|60)s"):
        list(client.read(TOGGL["tags"]))
    assert fake.quota_refusals == 0  # known spent from the headers: not even asked
    assert fake.request_count == 1


def test_every_toggl_stream_of_a_run_shares_one_pace(fake: FakeToggl) -> None:
    """The raw assets build a connector each; the run's resource gives them one pacer, so the
    second asset knows the quota the first one spent and waits instead of drawing a 402."""
    def reader(name: str) -> AssetsDefinition:
        @asset(name=f"read_{name}")
        def _read(toggl: TogglResource) -> None:
            list(toggl.connector().read(TOGGL[name]))
        return _read

    fake.hourly_quota(1, window_seconds=2)
    resource = TogglResource(api_token=fake.api_token, workspace_id=str(fake.workspace_id),
                             base_url=fake.base_url, min_request_interval=0, max_quota_wait=10)
    result = materialize([reader("users"), reader("tags")], resources={"toggl": resource})
    assert result.success
    assert fake.request_count == 2 and fake.quota_refusals == 0


def test_402s_that_never_reset_end_the_pull_instead_of_looping(fake: FakeToggl) -> None:
    """A 402 announcing a reset in 0 s, again and again: a few tries, then a clean end."""
    fake.inject(402, "You have hit your hourly limit for API calls.",
                {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "0"}, times=50)
    with pytest.raises(SourceLimitReached, match="402 4 times in a row"):
        list(connector(fake, max_quota_wait=5).read(TOGGL["users"]))
    assert fake.request_count == 4
