"""A large company for the benchmark: CSMs and accounts in full, time entries made on request.

At scale 1: 300 CSMs, 20,000 accounts with their deal history over 36 months, and 3,000,000
time entries, every CSM tracking the same hours: three in four on Clockify (2,250,000 entries),
one in four on Toggl (750,000). The CRM is rendered whole by the ordinary fakes; the entries
are generated when the connector asks (seeded, so every read gives the same entries): per user
and window for Clockify, per day of a report for Toggl, so the fakes' memory stays small however
many entries they serve.

The CRM also holds the engagement and feedback of docs/metrics.md (touchpoints, NPS and CSAT),
made by the demo company's own per-account generator (sandbox/company.py) so that the
benchmark's activities have the demo's mix of kinds, exclusions, two-company activities and
inbound threads: `ACTIVITY_ROUNDS` rounds of it per account, about 1.8 activities per account
and paying month a round. Feedback follows the demo's campaigns (NPS in March and September, half
the paying accounts answering; CSAT after support, 15% of paying months), one HubSpot contact
per company submitting it. The fakes hold the rendered records in memory (the Salesforce fake
copies a query's result again), so the volume is what keeps them under ~2 GB at scale 1.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.company import (
    _CSAT_WEIGHTS,
    _NPS_WEIGHTS,
    Activity,
    Company,
    Contact,
    Feedback,
    Person,
    _account_activities,
    _accounts_and_deals,
    _at,
    _customer_spans,
    _paying,
    add_months,
    vendor_id,
)
from sandbox.servers.base import HttpError, Request, Response
from sandbox.servers.clockify import FakeClockify, _page, _parse, clockify_time, iso_duration
from sandbox.servers.toggl import FakeToggl, report_row, toggl_time

FIRST_MONTH = date(2023, 11, 1)
MONTHS = 36
WORKSPACE = "64b7f0c2a1e4c93d5f6e7a81"
# Rounds of the demo's per-account activity generator (about 1.8 activities per account and
# paying month each): see the module docstring for why not more.
ACTIVITY_ROUNDS = 1


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
                     ("salesforce", "hubspot"), "toggl" if i % 4 == 3 else "clockify")
              for i in range(scale.csms)]
    accounts, deals = _accounts_and_deals(rng, people, scale.accounts, FIRST_MONTH, scale.end)
    spans = _customer_spans(accounts, deals)
    activities = _activities(random.Random(seed + 3), people, accounts, spans, scale.end)
    contacts = [Contact(f"c{a.key}", f"admin@{a.key}.example", (a.key,))
                for a in accounts if a.source == "hubspot"]
    feedback = _feedback(random.Random(seed + 5), accounts, spans, scale.end)
    return Company(people=people, accounts=accounts, deals=deals, entries=[],
                   activities=activities, contacts=contacts, feedback=feedback)


def _activities(rng: random.Random, people: list[Person], accounts: list, spans: dict,
                end: date) -> list[Activity]:
    """The demo's activities, account by account (its company-wide extras, future meetings
    and undated calls, scan every account per person: left out at this size)."""
    pools = {s: [p.key for p in people if s in p.crm] for s in ("salesforce", "hubspot")}
    hubspot = [a for a in accounts if a.source == "hubspot"]
    made: list[Activity] = []
    for account in accounts:
        for n in range(ACTIVITY_ROUNDS):
            batch = _account_activities(rng, account, spans[account.key],
                                        pools[account.source], hubspot, FIRST_MONTH, end)
            made += batch if n == 0 else [replace(a, key=f"{a.key}-r{n}") for a in batch]
    return made


def _feedback(rng: random.Random, accounts: list, spans: dict, end: date) -> list[Feedback]:
    """NPS campaigns twice a year and CSAT after support, from paying accounts (the demo's
    rates and scores, without its hand-placed invalid ones); HubSpot's through the company's
    contact, as submissions mostly arrive."""
    made: list[Feedback] = []
    for account in accounts:
        mine, answers = spans[account.key], []
        for year in range(FIRST_MONTH.year, end.year + 1):
            for campaign in (3, 9):
                day = date(year, campaign, rng.randint(8, 24))
                if FIRST_MONTH <= day < end and _paying(mine, day) and rng.random() < 0.5:
                    answers.append(("NPS", rng.choices(range(11), _NPS_WEIGHTS)[0], day))
        month = FIRST_MONTH
        while month < end:
            day = month + timedelta(days=rng.randint(0, 27))
            month = add_months(month, 1)
            if day < end and _paying(mine, day) and rng.random() < 0.15:
                answers.append(("CSAT", rng.choices(range(1, 6), _CSAT_WEIGHTS)[0], day))
        hubspot = account.source == "hubspot"
        for n, (survey, score, day) in enumerate(answers):
            # HubSpot: 40% linked only through the submitting contact.
            direct = not hubspot or rng.random() >= 0.4
            made.append(Feedback(f"fb-{account.key}-{n}", account.source, survey, score,
                                 _at(day, rng.randint(7, 20)),
                                 account.key if direct else None,
                                 f"c{account.key}" if hubspot else None))
    return made


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
        self.key_of = {u["id"]: p.key for u, p in
                       zip(self.users, company.tracker_people("clockify"), strict=True)}
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


class LazyToggl(FakeToggl):
    """FakeToggl whose detailed report is made a day at a time on request, one entry a row:
    a year's report of a large workspace is never held whole. The day's entries of every Toggl
    user are seeded by person and day, so paging through a report (or reading it again) gives
    the same rows."""

    def __init__(self, company: Company, scale: Scale, quota_requests: int | None = None,
                 quota_window_seconds: float = 3600.0) -> None:
        super().__init__(company, quota_requests=quota_requests,
                         quota_window_seconds=quota_window_seconds)
        people = company.tracker_people("toggl")
        # Every CSM tracks the same hours, whichever tracker she uses.
        per_user = scale.entries / max(len(company.people), 1)
        self.per_day = per_user / weekdays(FIRST_MONTH, scale.end)
        self.people = [(p.key, int(vendor_id("toggl_user", p.key)), p.name) for p in people]
        self.accounts_of: dict[str, list[str]] = {}
        for account in company.accounts:
            owner = account.owners[-1][1]
            if owner:
                self.accounts_of.setdefault(owner, []).append(account.crm_id)
        self.history = (FIRST_MONTH, scale.end - timedelta(days=1))
        self._index: dict[tuple[date, date], tuple[list[date], list[int]]] = {}
        self._days: dict[date, list[dict[str, Any]]] = {}

    def report_page(self, first: date, last: date, grouped: bool, offset: int, size: int
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        days, ends = self._days_of(first, last)
        rows: list[dict[str, Any]] = []
        at = bisect.bisect_right(ends, offset)  # the day holding row `offset`
        position = offset
        while len(rows) <= size and at < len(days):
            made = self._rows_of(days[at])
            begin = position - (ends[at] - len(made))
            taken = made[begin : begin + size + 1 - len(rows)]
            rows += taken
            position += len(taken)
            at += 1
        rows = [{**row, "row_number": offset + n + 1} for n, row in enumerate(rows)]
        return rows[:size], (rows[size] if len(rows) > size else None)

    def _days_of(self, first: date, last: date) -> tuple[list[date], list[int]]:
        """The report's working days in the company's history, and the rows up to each."""
        if (first, last) not in self._index:
            days, ends, total = [], [], 0
            day = max(first, self.history[0])
            while day <= min(last, self.history[1]):
                if day.weekday() < 5:
                    total += sum(self._count(key, day) for key, _, _ in self.people)
                    days.append(day)
                    ends.append(total)
                day += timedelta(days=1)
            self._index[(first, last)] = (days, ends)
        return self._index[(first, last)]

    def _count(self, person: str, day: date) -> int:
        rng = random.Random(f"toggl-{person}-{day}")
        return int(self.per_day) + (rng.random() < self.per_day % 1)

    def _rows_of(self, day: date) -> list[dict[str, Any]]:
        """The day's report rows, ordered by start as the report is; the last few days kept."""
        if day not in self._days:
            if len(self._days) > 4:
                self._days.clear()
            rows = []
            for key, uid, name in self.people:
                rng = random.Random(f"toggl-{key}-{day}")
                count = int(self.per_day) + (rng.random() < self.per_day % 1)
                mine = self.accounts_of.get(key) or ["001Kd0000000000AAM"]
                at = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
                for n in range(count):
                    minutes = rng.randint(15, 45)
                    rows.append(report_row(self._entry(key, uid, day, n, at, minutes,
                                                       rng.choice(mine)), name))
                    at += timedelta(minutes=minutes)
            rows.sort(key=lambda r: (r["time_entries"][0]["start"], r["time_entries"][0]["id"]))
            self._days[day] = rows
        return self._days[day]

    def _entry(self, person: str, uid: int, day: date, n: int, at: datetime, minutes: int,
               account: str) -> dict[str, Any]:
        digest = hashlib.blake2b(f"toggl-{person}-{day}-{n}".encode(), digest_size=7).digest()
        stop = at + timedelta(minutes=minutes)
        return {"id": int.from_bytes(digest, "big"), "user_id": uid, "project_id": None,
                "billable": False, "description": f"Account work [{account}]", "tag_ids": [],
                "duration": minutes * 60, "start": toggl_time(at), "stop": toggl_time(stop),
                "at": toggl_time(stop)}
