"""A large company for the benchmark: CSMs and accounts in full, time entries made on request.

At scale 1: 300 CSMs, 20,000 accounts with their deal history over 36 months, and 3,000,000
Clockify time entries. The CRM is rendered whole by the ordinary fakes; the entries are
generated per user and window when the connector asks (seeded, so every read of a window gives
the same entries), so the fake's memory stays small however many entries it serves.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.company import Company, Person, _accounts_and_deals, add_months
from sandbox.servers.base import HttpError, Request, Response
from sandbox.servers.clockify import FakeClockify, _page, _parse, clockify_time, iso_duration

FIRST_MONTH = date(2023, 11, 1)
MONTHS = 36
WORKSPACE = "64b7f0c2a1e4c93d5f6e7a81"


@dataclass(frozen=True)
class Scale:
    factor: float = 1.0

    @property
    def csms(self) -> int:
        return max(2, round(300 * self.factor))

    @property
    def accounts(self) -> int:
        return max(10, round(20_000 * self.factor))

    @property
    def entries(self) -> int:
        return round(3_000_000 * self.factor)

    @property
    def last_month(self) -> date:
        return add_months(FIRST_MONTH, MONTHS - 1)

    @property
    def end(self) -> date:
        return add_months(FIRST_MONTH, MONTHS)


def large_company(scale: Scale, seed: int = 11) -> Company:
    rng = random.Random(seed)
    people = [Person(f"c{i:04d}", f"Csm {i:04d}", f"csm{i:04d}@example.com",
                     ("salesforce", "hubspot"), "clockify") for i in range(scale.csms)]
    accounts, deals = _accounts_and_deals(rng, people, scale.accounts, FIRST_MONTH, scale.end)
    return Company(people=people, accounts=accounts, deals=deals, entries=[])


def weekdays(start: date, end: date) -> int:
    return sum(1 for n in range((end - start).days) if (start + timedelta(n)).weekday() < 5)


class LazyClockify(FakeClockify):
    """FakeClockify whose time entries are made per (user, window) on request."""

    def __init__(self, company: Company, scale: Scale) -> None:
        super().__init__(company, workspace_id=WORKSPACE)
        per_user = scale.entries / max(len(company.people), 1)
        self.per_day = per_user / weekdays(FIRST_MONTH, scale.end)
        self.accounts_of: dict[str, list[str]] = {}
        for account in company.accounts:
            owner = account.owners[-1][1]
            if owner:
                self.accounts_of.setdefault(owner, []).append(account.crm_id)
        self.key_of = {u["id"]: p.key for u, p in zip(self.users, company.people, strict=True)}
        self._last: tuple[tuple[str, str, str], list[dict[str, Any]]] | None = None

    def time_entries(self, request: Request, wid: str, uid: str) -> Response:
        self._check(wid)
        if uid not in self.key_of:
            raise HttpError(404, {"message": "User not found", "code": 501})
        key = (uid, request.arg("start") or "", request.arg("end") or "")
        if self._last is None or self._last[0] != key:  # pages of one listing share the rows
            self._last = (key, self._window(uid, _parse(key[1]), _parse(key[2])))
        return Response(200, _page(request, self._last[1]))

    def _window(self, uid: str, start: datetime | None, end: datetime | None
                ) -> list[dict[str, Any]]:
        start = start or datetime(FIRST_MONTH.year, FIRST_MONTH.month, 1, tzinfo=UTC)
        end = end or datetime.now(UTC)
        person = self.key_of[uid]
        mine = self.accounts_of.get(person) or ["001Kd0000000000AAM"]
        rows = []
        day = start.date()
        while day <= end.date():
            if day.weekday() < 5:
                rng = random.Random(f"{person}-{day}")
                count = int(self.per_day) + (rng.random() < self.per_day % 1)
                at = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
                for n in range(count):
                    minutes = rng.randint(15, 45)
                    if start <= at <= end:
                        rows.append(self._entry(uid, person, day, n, at, minutes,
                                                rng.choice(mine)))
                    at += timedelta(minutes=minutes)
            day += timedelta(days=1)
        rows.reverse()  # newest first, as Clockify lists them
        return rows

    def _entry(self, uid: str, person: str, day: date, n: int, at: datetime, minutes: int,
               account: str) -> dict[str, Any]:
        digest = hashlib.blake2b(f"{person}-{day}-{n}".encode(), digest_size=12).hexdigest()
        return {
            "id": digest, "description": f"Account work [{account}]", "tagIds": [],
            "userId": uid, "billable": False, "taskId": None, "projectId": None,
            "workspaceId": self.workspace_id,
            "timeInterval": {"start": clockify_time(at),
                             "end": clockify_time(at + timedelta(minutes=minutes)),
                             "duration": iso_duration(minutes * 60)},
            "hourlyRate": {"amount": 0, "currency": "USD"}, "customFieldValues": [],
            "type": "REGULAR", "kioskId": None, "isLocked": False,
        }
