"""Toggl Track: API v9 for the workspace directory, Reports API v3 for time entries.

The detailed report is asked ungrouped (`"grouped": false`, Toggl's default), one time entry a
row, flattened to one record per entry either way. Pages are 50 rows and continue through the
`X-Next-ID`, `X-Next-Row-Number` and `X-Next-Timestamp` headers. Report dates are whole days in
each user's profile time zone (UTC-12 to UTC+14), so a window is asked from the date 12 hours
before it starts to the date 14 hours after it ends, and the loader keeps only the entries that
start inside it. One report spans at most a year of dates: a window is read a year at a time
(`max_window_months = 12`), its dates cut into consecutive ranges of at most 366 days, none read
twice. Every request is paced from Toggl's quota headers (connectors/toggl/pacing.py): the
remaining requests spread over the time until the hourly quota resets, none left waited out
when the reset is near, else the pull ends cleanly; a 402 all the same (another client of the
token) is handled the same way. 429 (the ~1 request/second leaky bucket) retries with backoff.
Pages are handed on as the response's bytes (`RawPage`, connectors/pages.py): the loader
flattens a report's rows into entries in DuckDB (`toggl_report`), as `decode` does in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, timedelta
from typing import Any

import requests

from connectors.errors import SourceError, SourceLimitReached, SourceNotConfigured
from connectors.http import ApiSession, default_timeout, require_secure_url, send
from connectors.pages import RawPage, array_page, checked, warm
from connectors.streams import Stream, Window
from connectors.toggl.pacing import QuotaPacer
from connectors.toggl.streams import STREAMS

PUBLIC_HOST = "https://api.track.toggl.com"
REPORT_PAGE_SIZE = 50
PROJECTS_PER_PAGE = 200
# The most dates one report may span: a year (Toggl's limit; a leap year's days).
MAX_REPORT_DAYS = 366
# Report dates are in each user's profile time zone, from UTC-12 to UTC+14.
_BEHIND_UTC, _AHEAD_OF_UTC = timedelta(hours=12), timedelta(hours=14)
# 402s in a row (each after waiting for the announced reset) before a request gives up.
MAX_REFUSALS = 4


class TogglConnector:
    source = "toggl"
    streams = STREAMS
    # A report spans at most a year: a year a window, so that a backfill costs about one
    # request per 50 entries (a short page per year, not per month). The window is also what
    # one landing replaces: a pull cut short by the quota keeps the years landed before it.
    max_window_months: int | None = 12

    def __init__(self, api_token: str | None, workspace_id: str | int | None,
                 base_url: str | None = None, min_interval: float = 1.0,
                 max_quota_wait: float = 300.0, log: Callable[[str], None] | None = None,
                 pacer: QuotaPacer | None = None, timeout: float | None = None) -> None:
        if not api_token or not workspace_id:
            raise SourceNotConfigured("toggl", "set TOGGL_API_TOKEN and TOGGL_WORKSPACE_ID")
        require_secure_url(base_url, "TOGGL_BASE_URL", "toggl")
        self.base_url = (base_url or PUBLIC_HOST).rstrip("/")
        self.workspace_id = str(workspace_id)
        # Pacing is the pacer's (min_interval is its floor), not the session's.
        self.session = ApiSession(timeout=default_timeout(timeout), source="toggl")
        # `max_quota_wait`: the longest wait for the quota to reset before ending the pull.
        self.pacer = pacer or QuotaPacer(min_interval, max_quota_wait, log)
        self.session.auth = (api_token, "api_token")
        warm()  # the DuckDB that counts pages, opened before the first request

    @property
    def request_count(self) -> int:
        return self.session.request_count

    @property
    def http_seconds(self) -> float:
        return self.session.http_seconds + self.pacer.waited_seconds

    def read(self, stream: Stream, window: Window | None = None,
             since: str | None = None) -> Iterator[RawPage]:
        """Full pulls (directory) and windows (time entries); `since` is not used yet."""
        workspace = f"{self.base_url}/api/v9/workspaces/{self.workspace_id}"
        if stream.name == "time_entries":
            if window is None:
                raise ValueError("toggl time_entries needs a window")
            yield from self._time_entries(window)
        elif stream.name == "projects":
            page = 1
            while True:
                batch = self._page("GET", f"{workspace}/projects", stream,
                                   params={"page": page, "per_page": PROJECTS_PER_PAGE})
                yield batch
                if len(batch) < PROJECTS_PER_PAGE:
                    return
                page += 1
        else:
            response = self._request("GET", f"{workspace}/{stream.name}", stream)
            yield checked(response.content, "array", "toggl", stream.name)[0]

    def _time_entries(self, window: Window) -> Iterator[RawPage]:
        url = (f"{self.base_url}/reports/api/v3/workspace/{self.workspace_id}"
               "/search/time_entries")
        stream = STREAMS["time_entries"]
        for first, last in report_ranges(window):
            body: dict[str, Any] = {
                "start_date": first.isoformat(), "end_date": last.isoformat(),
                "grouped": False, "page_size": REPORT_PAGE_SIZE, "order_by": "date",
                "order_dir": "ASC",
            }
            while True:
                response = self._request("POST", url, stream, json=body)
                yield checked(response.content, "toggl_report", "toggl", stream.name)[0]
                next_id = response.headers.get("X-Next-ID")
                if not next_id:
                    break
                body = {**body, "first_id": int(next_id),
                        "first_row_number": int(response.headers["X-Next-Row-Number"]),
                        "first_timestamp": int(response.headers["X-Next-Timestamp"])}

    def _page(self, method: str, url: str, stream: Stream, **kwargs: Any) -> RawPage:
        response = self._request(method, url, stream, **kwargs)
        return array_page(response.content, "toggl", stream.name)

    def _request(self, method: str, url: str, stream: Stream, **kwargs: Any) -> requests.Response:
        for _ in range(MAX_REFUSALS):
            self.pacer.wait(stream.name)  # may end the pull: the quota resets too late
            try:
                response = send(self.session, method, url, source="toggl", what=stream.name,
                                credentials="TOGGL_API_TOKEN and TOGGL_WORKSPACE_ID", **kwargs)
            except SourceError as error:
                if error.status != 402:
                    raise
                self.pacer.refused(error.headers)  # waited out, or ends the pull, above
                continue
            self.pacer.observe(response.headers)
            return response
        raise SourceLimitReached(
            "toggl", f"{stream.name}: the hourly API quota answered 402 {MAX_REFUSALS} times "
            "in a row, even after its announced reset; what was landed is kept, run again later")


def report_ranges(window: Window) -> list[tuple[date, date]]:
    """The report date ranges that cover `window` in every user's time zone: consecutive,
    inclusive, at most `MAX_REPORT_DAYS` dates each."""
    first = (window.start.astimezone(UTC) - _BEHIND_UTC).date()
    last = (window.end.astimezone(UTC) - timedelta(microseconds=1) + _AHEAD_OF_UTC).date()
    ranges = []
    while first <= last:
        end = min(last, first + timedelta(days=MAX_REPORT_DAYS - 1))
        ranges.append((first, end))
        first = end + timedelta(days=1)
    return ranges
