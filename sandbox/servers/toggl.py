"""Fake Toggl Track: API v9 directory endpoints and Reports API v3 detailed search.

Report rows carry one time entry each, as Toggl's detailed search does by default; with
`"grouped": true` a row groups the entries that share user, project, description, tags and
billable. Pages are at most 50 rows and continue through the `X-Next-ID`, `X-Next-Row-Number`
and `X-Next-Timestamp` response headers sent back as `first_*` fields. A report spans at most a
year of dates (400 beyond). Running entries are not in reports. Auth is HTTP Basic
`<token>:api_token`. A person who left is no longer in the workspace's users list, but the
reports still carry their entries.

`hourly_quota(requests, window_seconds)` turns on Toggl's hourly quota (per user and
organization; `/me` has its own and is not counted): the count starts with a window's first
request and resets `window_seconds` later. Every answer then carries `X-Toggl-Quota-Remaining`
and `X-Toggl-Quota-Resets-In` (whole seconds, rounded up), and a request beyond the quota is
answered 402, counted in `quota_refusals`. Tests scale the hour down (30 requests per 3 s).
"""

from __future__ import annotations

import base64
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.company import Company, TimeEntry, vendor_id
from sandbox.servers.base import FakeServer, HttpError, Request, Response

V9 = "/api/v9"
REPORTS = "/reports/api/v3"
MAX_PAGE = 50
QUOTA_SPENT = "You have hit your hourly limit for API calls."


def toggl_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class HourlyQuota:
    """Toggl's request quota: the count starts with a window's first request and resets
    `window_seconds` after it (what Toggl calls its sliding window)."""

    requests: int
    window_seconds: float = 3600.0
    opened_at: float | None = None
    used: int = 0

    def take(self, now: float) -> bool:
        """Count one request; False when the quota is spent (the request is refused)."""
        if self.opened_at is None or now >= self.opened_at + self.window_seconds:
            self.opened_at, self.used = now, 0
        if self.used >= self.requests:
            return False
        self.used += 1
        return True

    def headers(self, now: float) -> dict[str, str]:
        assert self.opened_at is not None
        resets_in = max(0.0, self.opened_at + self.window_seconds - now)
        return {"X-Toggl-Quota-Remaining": str(self.requests - self.used),
                "X-Toggl-Quota-Resets-In": str(math.ceil(resets_in))}


class FakeToggl(FakeServer):
    name = "toggl"

    def __init__(self, company: Company, api_token: str = "sandbox-toggl-token",
                 workspace_id: int = 4242, quota_requests: int | None = None,
                 quota_window_seconds: float = 3600.0) -> None:
        super().__init__()
        self.api_token = api_token
        self.workspace_id = workspace_id
        self.users, self.clients, self.projects, self.tags, self.entries = render(
            company, workspace_id)
        self._reports: dict[tuple[date, date, bool], list[dict[str, Any]]] = {}
        # Toggl's hourly quota (None: unlimited), apart from the base's generic `limit`.
        self.quota_limit = (HourlyQuota(quota_requests, quota_window_seconds)
                            if quota_requests is not None else None)
        self.quota_refusals = 0  # 402s sent
        self.report_ranges: list[tuple[date, date]] = []  # distinct date ranges asked
        self._quota_lock = threading.Lock()
        wid = r"(?P<wid>\d+)"
        self.route("GET", f"{V9}/me", self.me)
        self.route("GET", f"{V9}/workspaces/{wid}/users", self.directory("users"))
        self.route("GET", f"{V9}/workspaces/{wid}/clients", self.directory("clients"))
        self.route("GET", f"{V9}/workspaces/{wid}/tags", self.directory("tags"))
        self.route("GET", f"{V9}/workspaces/{wid}/projects", self.list_projects)
        self.route("POST", f"{REPORTS}/workspace/{wid}/search/time_entries", self.search)

    def hourly_quota(self, requests: int, window_seconds: float = 3600.0) -> None:
        """Enforce Toggl's quota from now on: `requests` per window of `window_seconds`."""
        with self._quota_lock:
            self.quota_limit = HourlyQuota(requests, window_seconds)

    def dispatch(self, request: Request) -> Response:
        quota = self.quota_limit
        if quota is None or request.path == f"{V9}/me":
            return super().dispatch(request)
        with self._quota_lock:
            now = time.monotonic()
            allowed = quota.take(now)
            headers = quota.headers(now)
        if not allowed:
            with self._lock:
                self.requests[request.path] += 1
                self.quota_refusals += 1
            return Response(402, QUOTA_SPENT, headers)
        response = super().dispatch(request)
        return Response(response.status, response.body, {**response.headers, **headers},
                        response.raw, response.drop)

    def update_entry(self, entry_id: int, **fields: Any) -> dict[str, Any]:
        entry = next(e for e in self.entries if e["id"] == entry_id)
        entry.update(fields, at=toggl_time(datetime.now(UTC)))
        self._reports.clear()
        return entry

    def delete_entry(self, entry_id: int) -> dict[str, Any]:
        """Deleted entries carry server_deleted_at and drop out of reports."""
        return self.update_entry(entry_id, server_deleted_at=toggl_time(datetime.now(UTC)))

    def authenticate(self, request: Request) -> None:
        expected = base64.b64encode(f"{self.api_token}:api_token".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            raise HttpError(403, "Incorrect username and/or password")

    def _workspace(self, wid: str) -> None:
        if int(wid) != self.workspace_id:
            raise HttpError(403, "User cannot access the selected workspace")

    def me(self, request: Request) -> Response:
        return Response(200, {"id": 1, "email": "api@example.com", "fullname": "API",
                              "timezone": "UTC", "default_workspace_id": self.workspace_id})

    def directory(self, kind: str) -> Any:
        def handler(request: Request, wid: str) -> Response:
            self._workspace(wid)
            return Response(200, getattr(self, kind))
        return handler

    def list_projects(self, request: Request, wid: str) -> Response:
        self._workspace(wid)
        page = int(request.arg("page") or 1)
        per_page = min(int(request.arg("per_page") or 151), 200)
        return Response(200, self.projects[(page - 1) * per_page : page * per_page])

    def search(self, request: Request, wid: str) -> Response:
        self._workspace(wid)
        body = request.json()
        try:
            first = date.fromisoformat(body["start_date"])
            last = date.fromisoformat(body["end_date"])
        except (KeyError, ValueError):
            raise HttpError(400, "start_date and end_date are required (YYYY-MM-DD)") from None
        if (last - first).days > 366:
            raise HttpError(400, "The maximum date range is one year")
        if (first, last) not in self.report_ranges:
            self.report_ranges.append((first, last))
        size = min(int(body.get("page_size") or MAX_PAGE), MAX_PAGE)
        offset = int(body.get("first_row_number") or 1) - 1
        page, following = self.report_page(first, last, bool(body.get("grouped")), offset, size)
        headers = {}
        if following is not None:
            headers = {"X-Next-ID": str(following["time_entries"][0]["id"]),
                       "X-Next-Row-Number": str(following["row_number"]),
                       "X-Next-Timestamp": str(int(datetime.fromisoformat(
                           following["time_entries"][0]["start"]).timestamp()))}
        return Response(200, page, headers)

    def report_page(self, first: date, last: date, grouped: bool, offset: int, size: int
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Rows `offset` to `offset + size` of the report, and the row after them (None when
        these are the last)."""
        key = (first, last, grouped)
        if key not in self._reports:  # paging re-asks the same report: build it once
            self._reports[key] = _report_rows(self.entries, first, last, grouped)
        rows = self._reports[key]
        following = rows[offset + size] if offset + size < len(rows) else None
        return rows[offset : offset + size], following


def report_row(entry: dict[str, Any], username: str) -> dict[str, Any]:
    """A detailed report row holding one time entry (more join it when grouped)."""
    return {
        "user_id": entry["user_id"], "username": username, "project_id": entry["project_id"],
        "task_id": None, "billable": entry["billable"], "description": entry["description"],
        "tag_ids": entry["tag_ids"], "billable_amount_in_cents": None,
        "hourly_rate_in_cents": None, "currency": "USD",
        "time_entries": [{"id": entry["id"], "seconds": entry["duration"],
                          "start": entry["start"], "stop": entry["stop"], "at": entry["at"]}]}


def _report_rows(entries: list[dict[str, Any]], first: date, last: date,
                 grouped: bool = False) -> list[dict[str, Any]]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    stop = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    groups: dict[tuple, dict[str, Any]] = {}
    for entry in entries:
        begins = datetime.fromisoformat(entry["start"])
        if entry["stop"] is None or entry["server_deleted_at"] or not start <= begins < stop:
            continue
        key = ((entry["user_id"], entry["project_id"], entry["description"],
                tuple(entry["tag_ids"]), entry["billable"]) if grouped else (entry["id"],))
        row = groups.get(key)
        if row is None:
            groups[key] = report_row(entry, entry["_username"])
        else:
            row["time_entries"] += report_row(entry, entry["_username"])["time_entries"]
    rows = sorted(groups.values(), key=lambda r: (r["time_entries"][0]["start"],
                                                   r["time_entries"][0]["id"]))
    for number, row in enumerate(rows, start=1):
        row["row_number"] = number
    return rows


def render(company: Company, wid: int) -> tuple[list, list, list, list, list]:
    """The company's Toggl workspace: users, clients, projects, tags and time entries."""
    people = company.tracker_people("toggl")
    entries = company.entries_in("toggl")
    at = toggl_time(datetime(2026, 11, 1, 3, tzinfo=UTC))
    # A leaver removed from the workspace is no longer listed; reports keep their entries.
    users = [{"id": int(vendor_id("toggl_user", p.key)), "email": p.tracker_email or p.email,
              "fullname": p.name} for p in people if p.left_at is None]
    client_names = sorted({e.client for e in entries if e.client})
    clients = [{"id": int(vendor_id("toggl_client", n)), "wid": wid, "name": n, "archived": False,
                "at": at} for n in client_names]
    project_keys = sorted({(e.client or "", e.project) for e in entries if e.project})
    projects = [{"id": int(vendor_id("toggl_project", f"{c}/{p}")), "workspace_id": wid,
                 "client_id": int(vendor_id("toggl_client", c)) if c else None, "name": p,
                 "active": True, "billable": False, "at": at, "server_deleted_at": None}
                for c, p in project_keys]
    tag_names = sorted({t for e in entries for t in e.tags})
    tags = [{"id": int(vendor_id("toggl_tag", n)), "workspace_id": wid, "name": n, "at": at}
            for n in tag_names]
    names = {p.key: p.name for p in people}
    rendered = [_entry(e, wid, names) for e in entries]
    return users, clients, projects, tags, rendered


def _entry(entry: TimeEntry, wid: int, names: dict[str, str]) -> dict[str, Any]:
    project_id = (int(vendor_id("toggl_project", f"{entry.client or ''}/{entry.project}"))
                  if entry.project else None)
    duration = (int((entry.stop - entry.start).total_seconds()) if entry.stop
                else -int(entry.start.timestamp()))
    return {
        "id": int(vendor_id("toggl_entry", entry.key)), "workspace_id": wid,
        "user_id": int(vendor_id("toggl_user", entry.person_key)),
        "_username": names[entry.person_key], "project_id": project_id,
        "description": entry.description, "billable": False,
        "tag_ids": [int(vendor_id("toggl_tag", t)) for t in entry.tags],
        "start": toggl_time(entry.start), "stop": toggl_time(entry.stop) if entry.stop else None,
        "duration": duration, "at": toggl_time(entry.stop or entry.start),
        "server_deleted_at": None,
    }
