"""Fake Clockify API v1: workspace users, clients, projects, tags and per-user time entries.

Clockify sends no paging metadata: a page shorter than `page-size` is the last one. Durations
are ISO-8601 (`PT2H54M`); running entries have a null `end` and `duration`; leave is an entry
whose `type` is not REGULAR. Auth is the `X-Api-Key` header. A person who left is an INACTIVE
member: listed only when the users listing asks for that `status` (or ALL), and their entries
stay readable per user.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.company import Company, TimeEntry, vendor_id
from sandbox.servers.base import FakeServer, HttpError, Request, Response

V1 = "/api/v1"


def iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def clockify_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClockify(FakeServer):
    name = "clockify"

    def __init__(self, company: Company, api_key: str = "sandbox-clockify-key",
                 workspace_id: str = "64b7f0c2a1e4c93d5f6e7a81") -> None:
        super().__init__()
        self.api_key = api_key
        self.workspace_id = workspace_id
        self.users, self.clients, self.projects, self.tags, self.entries = render(
            company, workspace_id)
        wid = r"(?P<wid>[0-9a-f]+)"
        self.route("GET", f"{V1}/user", self.me)
        self.route("GET", f"{V1}/workspaces/{wid}/users", self.list_users)
        self.route("GET", f"{V1}/workspaces/{wid}/clients", self.listing("clients"))
        self.route("GET", f"{V1}/workspaces/{wid}/projects", self.listing("projects"))
        self.route("GET", f"{V1}/workspaces/{wid}/tags", self.listing("tags"))
        self.route("GET", f"{V1}/workspaces/{wid}/user/(?P<uid>[0-9a-f]+)/time-entries",
                   self.time_entries)

    def delete_entry(self, entry_id: str) -> dict[str, Any]:
        """Clockify deletes without a trace: the entry simply stops being listed."""
        for entries in self.entries.values():
            for entry in entries:
                if entry["id"] == entry_id:
                    entries.remove(entry)
                    return entry
        raise KeyError(entry_id)

    def authenticate(self, request: Request) -> None:
        if request.headers.get("x-api-key") != self.api_key:
            raise HttpError(401, {"message": "Full authentication is required to access this "
                                  "resource", "code": 1000})

    def _check(self, wid: str) -> None:
        if wid != self.workspace_id:
            raise HttpError(403, {"message": "Access denied to workspace", "code": 1003})

    def me(self, request: Request) -> Response:
        return Response(200, {"id": "0" * 24, "email": "api@example.com", "name": "API",
                              "activeWorkspace": self.workspace_id,
                              "settings": {"timeZone": "UTC"}})

    def listing(self, kind: str) -> Any:
        def handler(request: Request, wid: str) -> Response:
            self._check(wid)
            return Response(200, _page(request, getattr(self, kind)))
        return handler

    def list_users(self, request: Request, wid: str) -> Response:
        """Members filtered by `status` (ACTIVE, PENDING, DECLINED, INACTIVE or ALL). Without
        it only active members are listed: the documented default is unconfirmed, and this is
        the one a connector must survive (a deactivated user vanishes from the listing)."""
        self._check(wid)
        wanted = (request.arg("status") or "ACTIVE").upper()
        if wanted not in ("ACTIVE", "PENDING", "DECLINED", "INACTIVE", "ALL"):
            raise HttpError(400, {"message": f"Invalid status {wanted}", "code": 501})
        return Response(200, _page(request, [u for u in self.users
                                             if wanted in ("ALL", u["status"])]))

    def time_entries(self, request: Request, wid: str, uid: str) -> Response:
        self._check(wid)
        start = _parse(request.arg("start"))
        end = _parse(request.arg("end"))
        rows = [e for e in self.entries.get(uid, [])
                if (start is None or _parse(e["timeInterval"]["start"]) >= start)
                and (end is None or _parse(e["timeInterval"]["start"]) <= end)]
        if (request.arg("in-progress") or "").lower() == "true":
            rows = [e for e in rows if e["timeInterval"]["end"] is None]
        rows.sort(key=lambda e: e["timeInterval"]["start"], reverse=True)  # newest first, as real
        return Response(200, _page(request, rows))


def _page(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    page = max(int(request.arg("page") or 1), 1)
    size = min(max(int(request.arg("page-size") or 50), 1), 5000)
    return items[(page - 1) * size : page * size]


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, {"message": f"Invalid date {text}", "code": 501}) from None


def render(company: Company, wid: str) -> tuple[list, list, list, list, dict[str, list]]:
    """The company's Clockify workspace; time entries keyed by Clockify user id."""
    people = company.tracker_people("clockify")
    entries = company.entries_in("clockify")
    users = [{"id": vendor_id("clockify_user", p.key), "email": p.tracker_email or p.email,
              "name": p.name, "activeWorkspace": wid,
              "status": "ACTIVE" if p.left_at is None else "INACTIVE",
              "settings": {"timeZone": "UTC"}} for p in people]
    client_names = sorted({e.client for e in entries if e.client})
    clients = [{"id": vendor_id("clockify_client", n), "name": n, "workspaceId": wid,
                "archived": False} for n in client_names]
    project_keys = sorted({(e.client or "", e.project) for e in entries if e.project})
    projects = [{"id": vendor_id("clockify_project", f"{c}/{p}"), "name": p,
                 "clientId": vendor_id("clockify_client", c) if c else "", "clientName": c,
                 "workspaceId": wid, "billable": False, "archived": False,
                 "hourlyRate": {"amount": 0, "currency": "USD"}} for c, p in project_keys]
    tag_names = sorted({t for e in entries for t in e.tags})
    tags = [{"id": vendor_id("clockify_tag", n), "name": n, "workspaceId": wid,
             "archived": False} for n in tag_names]
    by_user: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        rendered = _entry(entry, wid)
        by_user.setdefault(rendered["userId"], []).append(rendered)
    return users, clients, projects, tags, by_user


def _entry(entry: TimeEntry, wid: str) -> dict[str, Any]:
    seconds = int((entry.stop - entry.start).total_seconds()) if entry.stop else None
    return {
        "id": vendor_id("clockify_entry", entry.key), "description": entry.description,
        "tagIds": [vendor_id("clockify_tag", t) for t in entry.tags],
        "userId": vendor_id("clockify_user", entry.person_key), "billable": False,
        "taskId": None,
        "projectId": (vendor_id("clockify_project", f"{entry.client or ''}/{entry.project}")
                      if entry.project else None),
        "workspaceId": wid,
        "timeInterval": {"start": clockify_time(entry.start),
                         "end": clockify_time(entry.stop) if entry.stop else None,
                         "duration": iso_duration(seconds) if seconds is not None else None},
        "hourlyRate": {"amount": 0, "currency": "USD"}, "customFieldValues": [],
        "type": entry.kind, "kioskId": None, "isLocked": False,
    }
