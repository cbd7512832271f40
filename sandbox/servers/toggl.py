"""Fake Toggl Track: API v9 directory endpoints and Reports API v3 detailed search.

Reports rows group time entries that share user, project, description, tags and billable, as
the real report does; pages are at most 50 rows and continue through the `X-Next-ID`,
`X-Next-Row-Number` and `X-Next-Timestamp` response headers sent back as `first_*` fields.
Running entries are not in reports. Auth is HTTP Basic `<token>:api_token`.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.company import Company, TimeEntry, vendor_id
from sandbox.servers.base import FakeServer, HttpError, Request, Response

V9 = "/api/v9"
REPORTS = "/reports/api/v3"
MAX_PAGE = 50


def toggl_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class FakeToggl(FakeServer):
    name = "toggl"

    def __init__(self, company: Company, api_token: str = "sandbox-toggl-token",
                 workspace_id: int = 4242) -> None:
        super().__init__()
        self.api_token = api_token
        self.workspace_id = workspace_id
        self.users, self.clients, self.projects, self.tags, self.entries = render(
            company, workspace_id)
        self._reports: dict[tuple[date, date], list[dict[str, Any]]] = {}
        wid = r"(?P<wid>\d+)"
        self.route("GET", f"{V9}/me", self.me)
        self.route("GET", f"{V9}/workspaces/{wid}/users", self.directory("users"))
        self.route("GET", f"{V9}/workspaces/{wid}/clients", self.directory("clients"))
        self.route("GET", f"{V9}/workspaces/{wid}/tags", self.directory("tags"))
        self.route("GET", f"{V9}/workspaces/{wid}/projects", self.list_projects)
        self.route("POST", f"{REPORTS}/workspace/{wid}/search/time_entries", self.search)

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
        size = min(int(body.get("page_size") or MAX_PAGE), MAX_PAGE)
        if (first, last) not in self._reports:  # paging re-asks the same report: build it once
            self._reports[(first, last)] = _report_rows(self.entries, first, last)
        rows = self._reports[(first, last)]
        offset = int(body.get("first_row_number") or 1) - 1
        page = rows[offset : offset + size]
        headers = {}
        if offset + size < len(rows):
            following = rows[offset + size]
            headers = {"X-Next-ID": str(following["time_entries"][0]["id"]),
                       "X-Next-Row-Number": str(following["row_number"]),
                       "X-Next-Timestamp": str(int(datetime.fromisoformat(
                           following["time_entries"][0]["start"]).timestamp()))}
        return Response(200, page, headers)


def _report_rows(entries: list[dict[str, Any]], first: date, last: date) -> list[dict[str, Any]]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    stop = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    groups: dict[tuple, dict[str, Any]] = {}
    for entry in entries:
        begins = datetime.fromisoformat(entry["start"])
        if entry["stop"] is None or entry["server_deleted_at"] or not start <= begins < stop:
            continue
        key = (entry["user_id"], entry["project_id"], entry["description"],
               tuple(entry["tag_ids"]), entry["billable"])
        row = groups.setdefault(key, {
            "user_id": entry["user_id"], "username": entry["_username"],
            "project_id": entry["project_id"], "task_id": None, "billable": entry["billable"],
            "description": entry["description"], "tag_ids": entry["tag_ids"],
            "billable_amount_in_cents": None, "hourly_rate_in_cents": None, "currency": "USD",
            "time_entries": []})
        row["time_entries"].append({"id": entry["id"], "seconds": entry["duration"],
                                    "start": entry["start"], "stop": entry["stop"],
                                    "at": entry["at"]})
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
    users = [{"id": int(vendor_id("toggl_user", p.key)), "email": p.tracker_email or p.email,
              "fullname": p.name} for p in people]
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
