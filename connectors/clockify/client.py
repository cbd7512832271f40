"""Clockify API v1: workspace directory and per-user time entries.

Clockify sends no paging metadata, so a page shorter than `page-size` ends a listing. Time
entries are listed per user and window (`start`/`end` filter on the entry's start); durations
arrive as ISO-8601 strings and running entries have no `end`. Leave is kept: its `type` says so.
Users are listed with `status=ALL`, so that deactivated members (people who left) are read with
their entries. Each page is handed on as the response's bytes (a `RawPage`, connectors/pages.py):
DuckDB counts its records (which also proves it whole) and the loader reads it; only the users
listed for the time entries are parsed in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any

from connectors.clockify.streams import STREAMS
from connectors.errors import SourceNotConfigured
from connectors.http import ApiSession, default_timeout, require_secure_url, send
from connectors.pages import RawPage, array_page, warm
from connectors.streams import Stream, Window

PUBLIC_HOST = "https://api.clockify.me/api/v1"
# The documented maximum is unconfirmed, with 1000 to 5000 cited: take the low end. A cap below
# it would end listings early (a short page ends a listing), so CLOCKIFY_PAGE_SIZE can lower it.
PAGE_SIZE = 1000
# Members of every status: a CSM who left is INACTIVE, and a listing without a status may leave
# her out; her e-mail and her entries are still wanted for the months she worked.
MEMBERS = {"status": "ALL"}


class ClockifyConnector:
    source = "clockify"
    streams = STREAMS
    # The time-entry filter takes any range: a backfill reads each user once, not once a month.
    max_window_months: int | None = None

    def __init__(self, api_key: str | None, workspace_id: str | None,
                 base_url: str | None = None, page_size: int = PAGE_SIZE,
                 timeout: float | None = None) -> None:
        if not api_key or not workspace_id:
            raise SourceNotConfigured("clockify", "set CLOCKIFY_API_KEY and CLOCKIFY_WORKSPACE_ID")
        require_secure_url(base_url, "CLOCKIFY_BASE_URL", "clockify")
        self.base_url = (base_url or PUBLIC_HOST).rstrip("/")
        self.workspace_id = workspace_id
        self.page_size = page_size
        # The key travels in a custom header, which `requests` keeps across a redirect to
        # another host: the session refuses such redirects (connectors/http.py).
        self.session = ApiSession(timeout=default_timeout(timeout), source="clockify")
        self.session.headers["X-Api-Key"] = api_key
        self._scopes: dict[str, frozenset[str]] = {}
        warm()  # the DuckDB that counts pages, opened before the first request

    @property
    def request_count(self) -> int:
        return self.session.request_count

    @property
    def http_seconds(self) -> float:
        return self.session.http_seconds

    def read_scope(self, stream: Stream) -> frozenset[str] | None:
        """The members whose entries the last read of `stream` asked for."""
        return self._scopes.get(stream.name) if stream.scope_field else None

    def read(self, stream: Stream, window: Window | None = None,
             since: str | None = None) -> Iterator[RawPage]:
        """Clockify has no modified-since filter: `since` is not used; windows are re-pulled."""
        workspace = f"{self.base_url}/workspaces/{self.workspace_id}"
        if stream.name == "users":
            yield from self._pages(f"{workspace}/users", stream, MEMBERS)
            return
        if stream.name != "time_entries":
            yield from self._pages(f"{workspace}/{stream.name}", stream)
            return
        if window is None:
            raise ValueError("clockify time_entries needs a window")
        # Clockify wants UTC with a Z; a window may be in the reporting time zone.
        params = {"start": window.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "end": window.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        # Every member, deactivated ones too: entries are read per user, and a window re-pulled
        # without a user's entries would mark them all deleted.
        read: set[str] = set()
        for users in self._pages(f"{workspace}/users", STREAMS["users"], MEMBERS):
            for user in users:
                yield from self._pages(f"{workspace}/user/{user['id']}/time-entries", stream,
                                       params)
                read.add(user["id"])
        # Complete only once every member was read: a read cut short raises before this.
        self._scopes[stream.name] = frozenset(read)

    def _pages(self, url: str, stream: Stream,
               params: dict[str, Any] | None = None) -> Iterator[RawPage]:
        page = 1
        while True:
            batch = self._get(url, stream, {**(params or {}), "page": page,
                                            "page-size": self.page_size})
            yield batch
            if len(batch) < self.page_size:
                return
            page += 1

    def _get(self, url: str, stream: Stream, params: dict[str, Any]) -> RawPage:
        response = send(self.session, "GET", url, source="clockify", what=stream.name,
                        credentials="CLOCKIFY_API_KEY and CLOCKIFY_WORKSPACE_ID", params=params)
        return array_page(response.content, "clockify", stream.name)

