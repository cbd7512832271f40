"""Toggl Track: API v9 for the workspace directory, Reports API v3 for time entries.

The detailed report groups entries into rows (same user, project, description, tags); this
client flattens them back to one record per time entry. Pages continue through the `X-Next-ID`,
`X-Next-Row-Number` and `X-Next-Timestamp` headers. Report dates are whole days in each user's
profile time zone, so a window is asked for with a day of margin on both sides; the loader keeps
only the entries that start inside the window. The documented safe rate is ~1 request/second
(429 beyond it, retried with backoff); since 2025 an hourly quota answers 402 with
`X-Toggl-Quota-Resets-In`: a short wait is waited out, a long one ends the pull cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import requests

from connectors.errors import SourceError, SourceLimitReached, SourceNotConfigured
from connectors.http import ApiSession, json_of, send
from connectors.streams import Page, Stream, Window
from connectors.toggl.streams import STREAMS

PUBLIC_HOST = "https://api.track.toggl.com"
REPORT_PAGE_SIZE = 50
PROJECTS_PER_PAGE = 200
_GROUP_FIELDS = ("user_id", "username", "project_id", "task_id", "description", "billable",
                 "tag_ids")


class TogglConnector:
    source = "toggl"
    streams = STREAMS
    # Reports API ranges are limited (31 or 366 days, docs differ): a month at a time.
    max_window_months: int | None = 1

    def __init__(self, api_token: str | None, workspace_id: str | int | None,
                 base_url: str | None = None, min_interval: float = 1.0,
                 max_quota_wait: float = 120.0) -> None:
        if not api_token or not workspace_id:
            raise SourceNotConfigured("toggl", "set TOGGL_API_TOKEN and TOGGL_WORKSPACE_ID")
        self.base_url = (base_url or PUBLIC_HOST).rstrip("/")
        self.workspace_id = str(workspace_id)
        self.session = ApiSession(min_interval=min_interval)
        # The longest wait for the hourly quota to refill before ending the pull (seconds).
        self.max_quota_wait = max_quota_wait
        self.session.auth = (api_token, "api_token")

    @property
    def request_count(self) -> int:
        return self.session.request_count

    def read(self, stream: Stream, window: Window | None = None,
             since: str | None = None) -> Iterator[Page]:
        """Full pulls (directory) and windows (time entries); `since` is not used yet."""
        workspace = f"{self.base_url}/api/v9/workspaces/{self.workspace_id}"
        if stream.name == "time_entries":
            if window is None:
                raise ValueError("toggl time_entries needs a window")
            yield from self._time_entries(window)
        elif stream.name == "projects":
            page = 1
            while True:
                batch = self._json("GET", f"{workspace}/projects", stream,
                                   params={"page": page, "per_page": PROJECTS_PER_PAGE})
                yield batch
                if len(batch) < PROJECTS_PER_PAGE:
                    return
                page += 1
        else:
            yield self._json("GET", f"{workspace}/{stream.name}", stream) or []

    def _time_entries(self, window: Window) -> Iterator[Page]:
        url = (f"{self.base_url}/reports/api/v3/workspace/{self.workspace_id}"
               "/search/time_entries")
        body: dict[str, Any] = {
            "start_date": (window.start - timedelta(days=1)).date().isoformat(),
            "end_date": (window.end + timedelta(days=1)).date().isoformat(),
            "page_size": REPORT_PAGE_SIZE, "order_by": "date", "order_dir": "ASC",
        }
        stream = STREAMS["time_entries"]
        while True:
            response = self._request("POST", url, stream, json=body)
            rows = json_of(response, "toggl", stream.name) or []
            yield [{**{f: row.get(f) for f in _GROUP_FIELDS}, **entry}
                   for row in rows for entry in row.get("time_entries", [])]
            next_id = response.headers.get("X-Next-ID")
            if not next_id:
                return
            body = {**body, "first_id": int(next_id),
                    "first_row_number": int(response.headers["X-Next-Row-Number"]),
                    "first_timestamp": int(response.headers["X-Next-Timestamp"])}

    def _json(self, method: str, url: str, stream: Stream, **kwargs: Any) -> Any:
        return json_of(self._request(method, url, stream, **kwargs), "toggl", stream.name)

    def _request(self, method: str, url: str, stream: Stream, **kwargs: Any) -> requests.Response:
        while True:
            try:
                return send(self.session, method, url, source="toggl", what=stream.name,
                            credentials="TOGGL_API_TOKEN and TOGGL_WORKSPACE_ID", **kwargs)
            except SourceError as error:
                if error.status != 402:
                    raise
                resets_in = float(error.headers.get("X-Toggl-Quota-Resets-In") or 3600)
                if resets_in > self.max_quota_wait:
                    raise SourceLimitReached(
                        "toggl", f"{stream.name}: the hourly API quota is spent and refills in "
                        f"{resets_in:.0f}s; what was landed is kept, run again after that"
                    ) from error
                time.sleep(resets_in)
