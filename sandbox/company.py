"""A synthetic company: the people, accounts, deals and time entries the fake APIs serve.

The model is vendor-neutral on purpose: each fake server renders its own vendor's view of it
(ids, field names, types), so the same company can be fed to Salesforce and HubSpot, Toggl and
Clockify. `generate_company` makes the seeded demo company; tests build tiny ones by hand.
"""

from __future__ import annotations

import calendar
import itertools
import random
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

CRM_SYSTEMS = ("salesforce", "hubspot")
TRACKERS = ("toggl", "clockify")

# The demo company's history: 24 whole months, fixed so that every run gives the same marts.
HISTORY_START = date(2024, 11, 1)
HISTORY_END = date(2026, 11, 1)


@dataclass
class Person:
    key: str
    name: str
    email: str
    crm: tuple[str, ...] = ("salesforce",)
    tracker: str | None = None
    tracker_email: str | None = None  # how the tracker spells the e-mail (case, spaces)
    # When the person left: from then on the fakes serve them as vendors serve leavers (an
    # archived HubSpot owner, an inactive Salesforce user, a deactivated tracker user).
    left_at: datetime | None = None


@dataclass
class Account:
    key: str
    name: str
    source: str  # "salesforce" | "hubspot"
    created_at: datetime
    # (instant, person key or None): the first entry is the owner from creation on.
    owners: list[tuple[datetime, str | None]] = field(default_factory=list)
    industry: str = "Software"
    # The value milestone (go-live) date a CRM field records, for time to value; None: not set.
    value_milestone: date | None = None

    @property
    def crm_id(self) -> str:
        return vendor_id("sf_account" if self.source == "salesforce" else "hs_company", self.key)

    @property
    def account_id(self) -> str:
        """The id the warehouse gives it: source-prefixed (docs/metrics.md, accounts)."""
        return f"{'sf' if self.source == 'salesforce' else 'hs'}:{self.crm_id}"

    def owner_at(self, instant: datetime) -> str | None:
        owner = None
        for changed_at, person in self.owners:
            if changed_at <= instant:
                owner = person
        return owner


@dataclass
class Deal:
    key: str
    account_key: str
    name: str
    amount: Decimal | None
    close_date: date | None
    won: bool = True
    closed: bool = True
    deal_type: str = "New Business"
    pipeline: str = "default"  # HubSpot pipeline id
    stage: str | None = None  # HubSpot stage id; derived from won/closed when None
    currency: str | None = None
    # Custom fields some CRMs carry (Salesforce Term_Months__c / Service_Start__c, HubSpot
    # contract_term_months / contract_start_date); str, to send what a user typed.
    term_months: int | str | None = None
    service_start: date | None = None
    # Attribution (docs/metrics.md, expansion sourcing): the deal's source (Salesforce
    # `LeadSource`, HubSpot's configured source property), who created it and when, and the
    # reason written on a lost deal.
    lead_source: str | None = None
    created_by: str | None = None  # a person key
    created_at: datetime | None = None  # None: the close date at 00:00 UTC, less 30 days
    loss_reason: str | None = None


@dataclass
class TimeEntry:
    key: str
    person_key: str
    start: datetime
    stop: datetime | None  # None: a running timer
    description: str = ""
    client: str | None = None
    project: str | None = None
    tags: tuple[str, ...] = ()
    kind: str = "REGULAR"  # Clockify's entry type: REGULAR, TIME_OFF, HOLIDAY, BREAK


@dataclass
class Activity:
    """A CRM activity: a call, an e-mail, a meeting or a to-do (docs/metrics.md, touchpoints).

    Each fake renders it as its vendor does: Salesforce a `Task` (calls, e-mail tasks, to-dos),
    an `Event` (meetings) and, for e-mails in an org with Enhanced Email, an `EmailMessage`;
    HubSpot a call, meeting or email engagement (to-dos are HubSpot tasks, not served).
    """

    key: str
    source: str  # the CRM it lives in: "salesforce" | "hubspot"
    kind: str  # "call" | "email" | "meeting" | "todo"
    person_key: str | None  # its owner (the person who did it); None: no owner
    account_keys: tuple[str, ...] = ()  # the accounts it is on (HubSpot: maybe several)
    at: datetime | None = None  # when it happened: a call or e-mail's time, a meeting's start
    # e-mail: "inbound" | "outbound" | "forwarded"; call: "inbound" | "outbound" | "internal"
    direction: str = "outbound"
    # call: "completed" | "no_answer" | "busy" | "failed" | "canceled";
    # meeting: "completed" | "scheduled" | "canceled" | "no_show" | "rescheduled";
    # todo: "completed" | "open"; e-mail: "sent"
    status: str = "completed"
    all_day: bool = False  # a Salesforce all-day event: dated, not timed
    archived: bool = False  # Salesforce `IsArchived`: served by `queryAll` only
    deleted: bool = False  # Salesforce recycle bin (`IsDeleted`, queryAll) / HubSpot archived
    subject: str = ""
    # Salesforce: an inbound e-mail linked to its account only through the task it belongs to
    # (`EmailMessage.ActivityId`), not through `RelatedToId`.
    linked_through_task: bool = False


@dataclass
class Contact:
    """A HubSpot contact, for feedback submitted by a person rather than a company."""

    key: str
    email: str
    account_keys: tuple[str, ...] = ()  # its companies, the primary first


@dataclass
class Feedback:
    """A survey response (docs/metrics.md, NPS and CSAT): HubSpot's feedback submissions, or a
    Salesforce custom object named in the settings."""

    key: str
    source: str  # "hubspot" | "salesforce"
    survey_type: str  # "NPS" | "CSAT" | "CES" | "CUSTOM"
    score: float | str | None  # what the survey recorded; a string to send what was typed
    at: datetime
    account_key: str | None = None  # the company it is associated with directly
    contact_key: str | None = None  # the contact who submitted it (HubSpot)


@dataclass
class Company:
    people: list[Person]
    accounts: list[Account]
    deals: list[Deal]
    entries: list[TimeEntry]
    activities: list[Activity] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)

    def person(self, key: str) -> Person:
        return next(p for p in self.people if p.key == key)

    def crm_people(self, system: str) -> list[Person]:
        return [p for p in self.people if system in p.crm]

    def tracker_people(self, tracker: str) -> list[Person]:
        return [p for p in self.people if p.tracker == tracker]

    def accounts_in(self, system: str) -> list[Account]:
        return [a for a in self.accounts if a.source == system]

    def deals_in(self, system: str) -> list[Deal]:
        sources = {a.key: a.source for a in self.accounts}
        return [d for d in self.deals if sources[d.account_key] == system]

    def activities_in(self, system: str) -> list[Activity]:
        return [a for a in self.activities if a.source == system]

    def feedback_in(self, system: str) -> list[Feedback]:
        return [f for f in self.feedback if f.source == system]

    def entries_in(self, tracker: str) -> list[TimeEntry]:
        trackers = {p.key: p.tracker for p in self.people}
        return [e for e in self.entries if trackers[e.person_key] == tracker]


_SF_PREFIX = {"sf_account": "001", "sf_user": "005", "sf_opportunity": "006",
              "sf_history": "017", "sf_task": "00T", "sf_event": "00U", "sf_email": "02s",
              "sf_feedback": "a0F"}


def vendor_id(kind: str, key: str) -> str:
    """A stable vendor-shaped id for a company key: 18-char Salesforce ids, numeric HubSpot and
    Toggl ids, 24-hex Clockify ids."""
    crc = zlib.crc32(f"{kind}:{key}".encode())
    if kind in _SF_PREFIX:
        return f"{_SF_PREFIX[kind]}Kd{crc:010d}AAM"
    if kind.startswith("clockify"):
        return f"{crc:08x}{zlib.crc32(key.encode()):08x}{len(key):08x}"
    return str(10_000_000 + crc % 89_999_999)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, 1)


_FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Kemi", "Liam", "Maya", "Noor", "Omar", "Priya"]
_LAST = ["Lopez", "Okafor", "Nguyen", "Patel", "Schmidt", "Haddad", "Kim", "Rossi", "Silva",
         "Berg", "Adeyemi", "Walsh", "Cohen", "Rahman", "Ito", "Novak"]
_NOUNS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
          "Cyberdyne", "Soylent", "Aperture", "Vandelay", "Pied Piper", "Dunder", "Oscorp",
          "Massive", "Virtucon", "Gringotts", "Monarch", "Nakatomi", "Oceanic", "Paper St",
          "Sirius", "Stratton", "Zorg", "Bluth", "Krusty", "Prestige", "Gekko"]
_SUFFIX = ["Corp", "Labs", "Systems", "Group", "Health", "Logistics"]
_ACTIVITIES = [
    ("Onboarding session", ("onboarding",)),
    ("Quarterly business review", ("qbr",)),
    ("Admin training", ("training",)),
    ("Support escalation", ("support",)),
    ("Renewal call", ("renewal",)),
    ("Expansion workshop", ("expansion",)),
    ("Check-in call", ()),
]


def generate_company(
    seed: int = 7,
    csm_count: int = 12,
    account_count: int = 150,
    start: date = HISTORY_START,
    end: date = HISTORY_END,
    entries_per_day: int = 3,
) -> Company:
    """The seeded demo company: the same seed always gives the same company."""
    rng = random.Random(seed)
    people = _people(rng, csm_count)
    csms = people[:csm_count]
    accounts, deals = _accounts_and_deals(rng, csms, account_count, start, end)
    entries = _time_entries(rng, people, accounts, start, end, entries_per_day)
    # Engagement, feedback and attribution (issue 14) draw from random streams of their own, so
    # the accounts, deals and hours above stay exactly what they were before them.
    spans = _customer_spans(accounts, deals)
    deals += _attribution(random.Random(seed + 1), accounts, deals, spans, end)
    entries = _onboarding(random.Random(seed + 2), accounts, entries, spans, start, end)
    activities = _activities(random.Random(seed + 3), csms, accounts, spans, start, end)
    contacts = _contacts(random.Random(seed + 4), accounts)
    feedback = _feedback(random.Random(seed + 5), accounts, contacts, spans, start, end)
    return Company(people=people, accounts=accounts, deals=deals, entries=entries,
                   activities=activities, contacts=contacts, feedback=feedback)


def _people(rng: random.Random, csm_count: int) -> list[Person]:
    people = []
    for i in range(csm_count):
        first, last = _FIRST[i % len(_FIRST)], _LAST[i % len(_LAST)]
        email = f"{first}.{last}@example.com".lower()
        # Two CSMs work both CRMs; two others only HubSpot; the rest only Salesforce.
        crm = ("salesforce", "hubspot") if i < 2 else ("hubspot",) if i < 4 else ("salesforce",)
        tracker = "toggl" if i % 2 == 0 else "clockify"
        # Trackers spell some e-mails differently; identity folds case and whitespace.
        tracker_email = f" {first}.{last}@Example.com " if i % 3 == 0 else email
        people.append(Person(f"p{i:02d}", f"{first} {last}", email, crm, tracker, tracker_email))
    # A solutions engineer shares the Toggl workspace; their hours count nowhere in the marts.
    people.append(Person("eng", "Sam Engineer", "sam.engineer@example.com", (), "toggl",
                         "sam.engineer@example.com"))
    return people


def _accounts_and_deals(
    rng: random.Random, csms: list[Person], count: int, start: date, end: date
) -> tuple[list[Account], list[Deal]]:
    accounts: list[Account] = []
    deals: list[Deal] = []
    sf_owners = [p.key for p in csms if "salesforce" in p.crm]
    hs_owners = [p.key for p in csms if "hubspot" in p.crm]
    months = (end.year - start.year) * 12 + end.month - start.month
    for i in range(count):
        source = "hubspot" if i % 5 == 4 else "salesforce"
        name = f"{_NOUNS[i % len(_NOUNS)]} {_SUFFIX[(i // len(_NOUNS)) % len(_SUFFIX)]}"
        # Some accounts were customers before the history starts, the others land during it.
        first_month = rng.randint(-14, months - 3)
        created = add_months(start, min(first_month, 0) - 2)
        owners_pool = hs_owners if source == "hubspot" else sf_owners
        owner: str | None = rng.choice(owners_pool)
        if source == "hubspot" and i % 25 == 9:
            owner = None  # no owner at all: lands in `unassigned`
        account = Account(f"a{i:03d}", name, source, _at(created), [(_at(created), owner)])
        if owner is not None and rng.random() < 0.25:
            # A reassignment mid-history, at some hour of some day.
            moved = add_months(start, rng.randint(1, months - 2))
            moved_at = _at(moved) + timedelta(days=rng.randint(0, 20), hours=rng.randint(8, 17))
            account.owners.append((moved_at, rng.choice([p for p in owners_pool if p != owner])))
        accounts.append(account)
        deals.extend(_deal_history(rng, account, add_months(start, first_month), end))
    # A deal in another currency with no conversion rate configured: quarantined by the metrics.
    if any(a.source == "hubspot" for a in accounts):
        eur_account = next(a for a in accounts if a.source == "hubspot")
        deals.append(Deal(f"d-eur-{eur_account.key}", eur_account.key, "EUR add-on",
                          Decimal("5000.00"), add_months(start, 6), currency="EUR",
                          deal_type="existingbusiness"))
    return accounts, deals


def _deal_history(rng: random.Random, account: Account, first: date, end: date) -> list[Deal]:
    """Yearly renewals that grow, shrink or stop; mid-term upsells; sometimes a comeback."""
    deals: list[Deal] = []
    close = first + timedelta(days=rng.randint(0, 25))
    annual = Decimal(rng.randrange(20_000, 240_000, 500))
    n = 0
    while close < end:
        kind = "New Business" if n == 0 else "Renewal"
        deals.append(Deal(f"d{account.key}-{n}", account.key, f"{account.name} {kind} {close.year}",
                          annual, close, deal_type=kind))
        n += 1
        if rng.random() < 0.3:  # an upsell in the middle of the term
            upsell_close = close + timedelta(days=rng.randint(60, 250))
            if upsell_close < end:
                extra = Decimal(rng.randrange(5_000, 40_000, 500))
                deals.append(Deal(f"d{account.key}-{n}", account.key,
                                  f"{account.name} Upsell {upsell_close.year}", extra,
                                  upsell_close, deal_type="Upsell"))
                n += 1
        roll = rng.random()
        if roll < 0.12:  # churn by non-renewal; some come back later (reactivation)
            if rng.random() < 0.35:
                close = close + timedelta(days=365 + rng.randint(90, 200))
                annual = Decimal(rng.randrange(20_000, 120_000, 500))
                continue
            deals.append(Deal(f"d{account.key}-{n}", account.key, f"{account.name} Renewal lost",
                              annual, close + timedelta(days=365), won=False,
                              deal_type="Renewal"))
            break
        if roll < 0.30:
            annual = (annual * Decimal(rng.uniform(0.6, 0.95))).quantize(Decimal("1"))
        elif roll < 0.65:
            annual = (annual * Decimal(rng.uniform(1.05, 1.5))).quantize(Decimal("1"))
        close = close + timedelta(days=365)
    # An open opportunity: neither won nor lost, never revenue.
    if rng.random() < 0.2:
        deals.append(Deal(f"d{account.key}-open", account.key, f"{account.name} Pipeline",
                          Decimal(rng.randrange(10_000, 50_000, 500)), end + timedelta(days=30),
                          won=False, closed=False, deal_type="Upsell"))
    return deals


def _time_entries(
    rng: random.Random,
    people: list[Person],
    accounts: list[Account],
    start: date,
    end: date,
    per_day: int,
) -> list[TimeEntry]:
    entries: list[TimeEntry] = []
    day = start
    while day < end:
        if day.weekday() < 5:
            for person in people:
                if person.tracker is not None:
                    entries.extend(_day_of_work(rng, person, accounts, day, per_day))
        day += timedelta(days=1)
    csm = people[0]
    # Work that runs across a month boundary (and, in Europe/Berlin, a DST change in March).
    for month_end in (date(2025, 1, 31), date(2025, 3, 31), date(2026, 2, 28)):
        if start <= month_end < end:
            entries.append(TimeEntry(f"x-{month_end}", csm.key, _at(month_end, 22),
                                     _at(month_end, 22) + timedelta(hours=4),
                                     "Go-live support (overnight)", accounts[0].name,
                                     "Onboarding", ("onboarding",)))
    # A week of leave, as Clockify time off and as a Toggl project.
    clockify_csm = next(p for p in people if p.tracker == "clockify")
    toggl_csm = next(p for p in people if p.tracker == "toggl")
    leave_day = date(2025, 8, 4)
    for d in range(5):
        at = _at(leave_day + timedelta(days=d), 9)
        entries.append(TimeEntry(f"leave-c-{d}", clockify_csm.key, at, at + timedelta(hours=8),
                                 "Vacation", None, None, (), kind="TIME_OFF"))
        entries.append(TimeEntry(f"leave-t-{d}", toggl_csm.key, at, at + timedelta(hours=8),
                                 "Vacation", None, "Leave", ("pto",)))
    # A timer that is still running: not counted until it stops.
    last_day = end - timedelta(days=1)
    entries.append(TimeEntry("running", clockify_csm.key, _at(last_day, 15), None,
                             "Call prep", accounts[1].name, "Accounts", ()))
    return entries


def _day_of_work(
    rng: random.Random, person: Person, accounts: list[Account], day: date, per_day: int
) -> list[TimeEntry]:
    mine = [a for a in accounts if a.owner_at(_at(day, 12)) == person.key] or accounts[:3]
    at = _at(day, 8) + timedelta(minutes=rng.randint(0, 90))
    entries = []
    for n in range(per_day):
        minutes = rng.randint(30, 180)
        key = f"{person.key}-{day.isoformat()}-{n}"
        roll = rng.random()
        if roll < 0.15:
            entry = TimeEntry(key, person.key, at, at + timedelta(minutes=minutes),
                              "Team meeting", "Internal", "Internal", ("internal",))
        elif roll < 0.22:
            # Unmatched: a client name the CRM has never heard of.
            entry = TimeEntry(key, person.key, at, at + timedelta(minutes=minutes),
                              "Prospect research", "Misc prospects", "Research", ())
        else:
            account = rng.choice(mine)
            description, tags = rng.choice(_ACTIVITIES)
            style = rng.random()
            if style < 0.6:  # the client names the account
                client, project = account.name, rng.choice(["Success plan", "Onboarding"])
            elif style < 0.85:  # the project names the account
                client, project = None, account.name.upper()
            else:  # the description carries the account's key
                client, project = None, "Accounts"
                description = f"{description} [{account.account_id}]"
            entry = TimeEntry(key, person.key, at, at + timedelta(minutes=minutes), description,
                              client, project, tags)
        entries.append(entry)
        at = at + timedelta(minutes=minutes + rng.randint(0, 30))
    return entries


# --- Engagement, feedback and attribution (issue 14) -------------------------------------------
# Each function below takes a random stream of its own (see `generate_company`). The shapes they
# give the demo are the cases docs/metrics.md spells out: touchpoints that count and ones that
# must not, inbound e-mails answered fast, slow and never, NPS and CSAT (and a CES and invalid
# scores), CSM-sourced and other expansion won and lost, churn with and without a reason, and
# onboarding hours and go-live dates for new customers.

Span = tuple[date, date]  # [first paying day, day after the last)
Weighted = tuple[tuple[object, int], ...]

# Deal sources (Salesforce LeadSource picklist values, and what the demo's HubSpot source
# property holds); the CSM-sourced values are `Customer Success` and `CSM`, any case.
_NEW_SOURCES: Weighted = (("Web", 35), ("Partner Referral", 25), ("Phone Inquiry", 12),
                          ("Purchased List", 8), ("Other", 10), (None, 10))
_EXPANSION_SOURCES: Weighted = (("Customer Success", 45), ("CSM", 12),
                                (" customer success ", 4), ("Partner Referral", 12), ("Web", 12),
                                ("Other", 5), (None, 10))
_RENEWAL_SOURCES: Weighted = (("Existing Customer", 55), ("Customer Success", 5), (None, 40))
# Loss reasons with a realistic Pareto; None: the field was left empty.
_CHURN_REASONS: Weighted = (("Budget cuts", 28), ("Switched to competitor", 20),
                            ("Low adoption", 16), ("Champion left", 12), ("Missing features", 10),
                            ("Acquired", 6), (None, 15))
_CONTRACTION_REASONS: Weighted = (("Reduced headcount", 40), ("Budget cuts", 30),
                                  ("Low adoption", 20), (None, 10))
_LOST_EXPANSION_REASONS: Weighted = (("Budget cuts", 35), ("No decision", 30), ("Timing", 20),
                                     ("Switched to competitor", 5), (None, 10))
_ONBOARDING_WORK = ("Onboarding kickoff", "Implementation workshop", "Onboarding session",
                    "Data migration (onboarding)")
_SUBJECTS = {
    "call": ("Check-in call", "Renewal call", "Support follow-up", "Adoption review call"),
    "email": ("Follow-up", "Renewal paperwork", "Release notes", "Success plan"),
    "meeting": ("Quarterly business review", "Success plan review", "Admin training"),
    "todo": ("Send QBR deck", "Update success plan", "Chase renewal signature"),
}
# NPS 0-10 and CSAT 1-5 scores, skewed happy as real surveys are.
_NPS_WEIGHTS = (2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28)
_CSAT_WEIGHTS = (6, 9, 13, 30, 42)
# How long before a churn an account shows it: fewer touches, lower scores.
_RISK_DAYS = 270


def _pick(rng: random.Random, options: Weighted) -> Any:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights)[0]


def _respell(rng: random.Random, value: str | None) -> str | None:
    """The same picklist value typed by hand sometimes: other case, stray spaces."""
    if value is None or rng.random() >= 0.15:
        return value
    return rng.choice([value.lower(), f" {value} ", value.upper()])


def _plus_months(day: date, months: int) -> date:
    first = add_months(day, months)
    return first.replace(day=min(day.day, calendar.monthrange(first.year, first.month)[1]))


def _customer_spans(accounts: list[Account], deals: list[Deal]) -> dict[str, list[Span]]:
    """When each account pays: its won deals' schedules merged (service start or close date, the
    term or 12 months, as the metrics read the demo's deals)."""
    schedules: dict[str, list[Span]] = {a.key: [] for a in accounts}
    for deal in deals:
        if deal.won and deal.closed and deal.close_date and deal.amount and not deal.currency:
            begin = deal.service_start or deal.close_date
            term = deal.term_months if isinstance(deal.term_months, int) else 12
            schedules[deal.account_key].append((begin, _plus_months(begin, term)))
    spans: dict[str, list[Span]] = {}
    for key, items in schedules.items():
        merged: list[Span] = []
        for begin, finish in sorted(items):
            if merged and begin <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
            else:
                merged.append((begin, finish))
        spans[key] = merged
    return spans


def _paying(spans: list[Span], day: date) -> bool:
    return any(begin <= day < finish for begin, finish in spans)


def _at_risk(spans: list[Span], day: date, end: date) -> bool:
    """The account stops paying within `_RISK_DAYS` of the day (inside the history)."""
    return any(day < finish <= day + timedelta(days=_RISK_DAYS) and finish < end
               for _, finish in spans)


def _attribution(
    rng: random.Random, accounts: list[Account], deals: list[Deal], spans: dict[str, list[Span]],
    end: date,
) -> list[Deal]:
    """Sources, creators, creation dates and loss reasons on the deals (set in place), and the
    lost deals a CRM also holds: lost upsells, and the seats a contracting renewal dropped."""
    by_key = {a.key: a for a in accounts}
    pools = {s: sorted({p for a in accounts if a.source == s for _, p in a.owners if p})
             for s in CRM_SYSTEMS}
    of_account: dict[str, list[Deal]] = {a.key: [] for a in accounts}
    for deal in deals:
        account = by_key[deal.account_key]
        if deal.close_date is None:
            continue
        if deal.deal_type == "New Business":
            deal.lead_source, lead_days, by_owner = _pick(rng, _NEW_SOURCES), (30, 120), 0.1
        elif deal.deal_type == "Renewal":
            deal.lead_source, lead_days, by_owner = _pick(rng, _RENEWAL_SOURCES), (60, 100), 0.7
        else:  # upsells, HubSpot existingbusiness
            deal.lead_source, lead_days, by_owner = _pick(rng, _EXPANSION_SOURCES), (20, 90), 0.4
        _created(rng, deal, account, pools[account.source], lead_days, by_owner)
        if deal.closed and not deal.won and deal.deal_type == "Renewal":
            deal.loss_reason = _respell(rng, _pick(rng, _CHURN_REASONS))
        of_account[deal.account_key].append(deal)
    extra: list[Deal] = []
    for account in accounts:
        for n, (begin, finish) in enumerate(spans[account.key]):
            # Expansion the CSM pitched and lost (about one account in four a year).
            for year in range(max(1, (min(finish, end) - begin).days // 365)):
                close = begin + timedelta(days=365 * year + rng.randint(30, 330))
                if rng.random() >= 0.25 or close >= min(finish, end):
                    continue
                lost = Deal(f"d{account.key}-lost-{n}-{year}", account.key,
                            f"{account.name} Upsell {close.year}",
                            Decimal(rng.randrange(5_000, 40_000, 500)), close, won=False,
                            deal_type="Upsell", lead_source=_pick(rng, _EXPANSION_SOURCES),
                            loss_reason=_respell(rng, _pick(rng, _LOST_EXPANSION_REASONS)))
                _created(rng, lost, account, pools[account.source], (20, 90), 0.6)
                extra.append(lost)
        base = sorted((d for d in of_account[account.key] if d.won
                       and d.deal_type in ("New Business", "Renewal") and d.close_date),
                      key=lambda d: d.close_date or date.min)
        for before, after in itertools.pairwise(base):
            assert before.close_date and after.close_date and before.amount and after.amount
            if (after.amount >= before.amount or rng.random() >= 0.65
                    or (after.close_date - before.close_date).days > 400):
                continue
            # A contracting renewal: the seats not renewed, closed lost with their reason.
            close = after.close_date - timedelta(days=rng.randint(0, 25))
            down = Deal(f"d{account.key}-down-{after.key}", account.key,
                        f"{account.name} Seats not renewed {close.year}",
                        before.amount - after.amount, close, won=False, deal_type="Renewal",
                        lead_source="Existing Customer",
                        loss_reason=_respell(rng, _pick(rng, _CONTRACTION_REASONS)))
            _created(rng, down, account, pools[account.source], (45, 90), 0.8)
            extra.append(down)
    return extra


def _created(rng: random.Random, deal: Deal, account: Account, pool: list[str],
             lead_days: tuple[int, int], by_owner: float) -> None:
    """Who created the deal and when: CSM-sourced deals mostly by the account's owner then
    (sometimes a colleague), others by the owner with probability `by_owner`, else by someone
    outside the CS team (None: a sales rep or an integration user)."""
    assert deal.close_date is not None
    day = deal.close_date - timedelta(days=rng.randint(*lead_days))
    deal.created_at = _at(day, 9) + timedelta(minutes=rng.randint(0, 480))
    owner = account.owner_at(deal.created_at)
    sourced = (deal.lead_source or "").strip().lower() in ("customer success", "csm")
    roll = rng.random()
    if sourced and pool and (owner is None or roll >= 0.85):
        deal.created_by = rng.choice(pool)  # a colleague logged it
    elif sourced:
        deal.created_by = owner
    else:
        deal.created_by = owner if roll < by_owner else None


def _onboarding(
    rng: random.Random, accounts: list[Account], entries: list[TimeEntry],
    spans: dict[str, list[Span]], start: date, end: date,
) -> list[TimeEntry]:
    """New customers get onboarding hours in their first three weeks: two to four of their
    owner's entries on other accounts then become the new customer's onboarding. The hours stay
    the same hours, so each person's totals do not change. Most also get a go-live date (the
    value milestone) some weeks after the start."""
    by_id = {a.account_id: a for a in accounts}
    by_label = {a.name: a for a in accounts} | {a.name.upper(): a for a in accounts}

    def account_of(entry: TimeEntry) -> Account | None:
        found = re.search(r"\[((?:sf|hs):[^\]]+)\]", entry.description)
        return (by_label.get(entry.client or "") or by_label.get(entry.project or "")
                or (by_id.get(found.group(1)) if found else None))

    entries = list(entries)
    days: dict[tuple[str, date], list[int]] = {}
    for i, entry in enumerate(entries):
        days.setdefault((entry.person_key, entry.start.date()), []).append(i)
    used: set[int] = set()
    for account in accounts:
        if not spans[account.key] or not start <= spans[account.key][0][0] < end:
            continue
        first = spans[account.key][0][0]
        owner = account.owner_at(_at(first, 12))
        if owner is None:
            continue
        candidates = []
        for offset in range(21):
            for i in days.get((owner, first + timedelta(days=offset)), []):
                entry, was = entries[i], account_of(entries[i])
                if (i not in used and was is not None and was.key != account.key
                        and was.owner_at(entry.start) == owner and entry.project != "Onboarding"
                        and "onboarding" not in entry.tags):
                    candidates.append(i)
        for i in rng.sample(candidates, min(len(candidates), rng.randint(2, 4))):
            used.add(i)
            entries[i] = replace(entries[i], description=rng.choice(_ONBOARDING_WORK),
                                 client=account.name, project="Onboarding", tags=("onboarding",))
        if rng.random() < 0.7:  # the go-live date the CRM records, for time to value
            live = first + timedelta(days=rng.randint(21, 110))
            account.value_milestone = live if live < end else None
    return entries


def _activities(
    rng: random.Random, csms: list[Person], accounts: list[Account],
    spans: dict[str, list[Span]], start: date, end: date,
) -> list[Activity]:
    """Calls, e-mails, meetings and to-dos on each account while it pays (about 20 a year),
    fewer as it heads for churn; inbound e-mail threads; meetings still to come; two calls
    logged without a date."""
    pools = {s: [p.key for p in csms if s in p.crm] for s in CRM_SYSTEMS}
    hubspot = [a for a in accounts if a.source == "hubspot"]
    activities: list[Activity] = []
    for account in accounts:
        activities += _account_activities(rng, account, spans[account.key], pools[account.source],
                                          hubspot, start, end)
    owner_at_end = {a.key: a.owner_at(_at(end)) for a in accounts}
    for person in csms:  # meetings booked for after the history: not yet touchpoints
        for system in person.crm:
            mine = [a for a in accounts
                    if a.source == system and owner_at_end[a.key] == person.key]
            if mine:
                at = _at(end + timedelta(days=rng.randint(90, 150)), rng.randint(9, 16))
                activities.append(Activity(f"act-future-{person.key}-{system}", system,
                                           "meeting", person.key, (rng.choice(mine).key,), at,
                                           status="scheduled", subject="Renewal planning"))
    paying = [a for a in accounts if a.source == "salesforce" and spans[a.key]]
    for n, account in enumerate(paying[:2]):  # logged calls with neither a date nor a time
        activities.append(Activity(f"act-undated-{n}", "salesforce", "call",
                                   account.owners[0][1], (account.key,), None,
                                   subject="Logged call"))
    return activities


def _account_activities(
    rng: random.Random, account: Account, spans: list[Span], pool: list[str],
    hubspot: list[Account], start: date, end: date,
) -> list[Activity]:
    made: list[Activity] = []
    salesforce = account.source == "salesforce"
    closing = _at(end)

    def who(at: datetime) -> str | None:
        owner, roll = account.owner_at(at), rng.random()
        if roll < 0.015:
            return None  # an owner the CRM no longer resolves
        return rng.choice(pool) if owner is None or roll < 0.09 else owner

    def add(kind: str, at: datetime | None, person: str | None,
            keys: tuple[str, ...] | None = None, **fields: Any) -> None:
        made.append(Activity(f"act-{account.key}-{len(made):03d}", account.source, kind, person,
                             (account.key,) if keys is None else keys, at, **fields))

    def regular(day: date) -> None:
        at = _at(day, 8) + timedelta(minutes=rng.randint(0, 540))
        kind = _pick(rng, (("call", 30), ("email", 25), ("meeting", 30), ("todo", 15)))
        fields: dict[str, Any] = {"subject": rng.choice(_SUBJECTS[kind])}
        if kind == "call" and salesforce:
            fields["direction"] = _pick(rng, (("outbound", 70), ("inbound", 20), ("internal", 10)))
            if fields["direction"] == "internal":
                fields["subject"] = "Account planning (internal)"
        elif kind == "call":
            fields["direction"] = _pick(rng, (("outbound", 75), ("inbound", 25)))
            fields["status"] = _pick(rng, (("completed", 75), ("no_answer", 15), ("busy", 5),
                                           ("failed", 5)))
        elif kind == "email":
            fields["status"] = "sent"
            if not salesforce:
                fields["direction"] = _pick(rng, (("outbound", 92), ("forwarded", 8)))
        elif kind == "meeting":
            at = at.replace(minute=30 if at.minute >= 30 else 0)
            if salesforce and rng.random() < 0.1:
                at, fields["all_day"], fields["subject"] = _at(day), True, "On-site workshop"
            elif not salesforce:  # Salesforce events have no outcome: a cancelled one is deleted
                fields["status"] = _pick(rng, (("completed", 65), ("scheduled", 15),
                                               ("canceled", 8), ("no_show", 6),
                                               ("rescheduled", 6)))
        else:
            fields["status"] = _pick(rng, (("completed", 60), ("open", 40)))
        roll = rng.random()
        if roll < 0.015:
            fields["deleted"] = True
        elif (salesforce and at.date() < end - timedelta(days=365) and roll < 0.1
              and fields.get("status") != "open"):
            fields["archived"] = True  # Salesforce archives activities a year old
        roll = rng.random()
        keys = None
        if roll < 0.015:
            keys = ()  # logged against no account
        elif not salesforce and roll < 0.05 and len(hubspot) > 1:
            other = rng.choice(hubspot)
            if other.key != account.key:
                keys = (account.key, other.key)  # one meeting or call with two companies
        add(kind, at, who(at), keys, **fields)

    def thread(day: date) -> None:
        """An inbound e-mail, answered within hours, after days, or left to the next touch."""
        at = _at(day, 6) + timedelta(minutes=rng.randint(0, 14 * 60))
        add("email", at, account.owner_at(at) or rng.choice(pool), direction="inbound",
            status="sent", subject=rng.choice(("Question about invoice", "Feature request",
                                               "Login problem", "Renewal terms")),
            linked_through_task=salesforce and rng.random() < 0.3)
        roll = rng.random()
        if roll < 0.55:
            answer = at + timedelta(minutes=rng.randint(15, 8 * 60))
        elif roll < 0.82:
            answer = at + timedelta(hours=rng.randint(26, 90))
        elif roll < 0.92:
            answer = at + timedelta(days=rng.randint(5, 10))
        else:
            return
        if answer < closing:
            by_mail = rng.random() < 0.8
            add("email" if by_mail else "call", answer, who(answer),
                status="sent" if by_mail else "completed", subject="Re: your question")

    onboarding_start = spans[0][0] if spans and start <= spans[0][0] < end else None
    month = start
    while month < end:
        following = add_months(month, 1)
        days = [begin + timedelta(days=n) for first, finish in spans
                for begin in [max(first, month)]
                for n in range((min(finish, following, end) - begin).days)]
        month = following
        if not days:
            continue
        weekdays = [d for d in days if d.weekday() < 5] or days
        if onboarding_start in days:
            kickoff = onboarding_start + timedelta(days=rng.randint(1, 6))
            at = _at(kickoff, rng.randint(9, 16))
            if at < closing:
                add("meeting", at, who(at), subject="Onboarding kickoff")
        factor = 0.5 if _at_risk(spans, days[0], end) else 1.0
        for _ in range(4):
            if rng.random() < 0.3 * factor:
                regular(rng.choice(weekdays))
        for _ in range(2):
            if rng.random() < 0.18:
                thread(rng.choice(days))
    # Inbound e-mails nobody ever answers: the last word on the account is the customer's.
    last = max((a.at for a in made if a.at), default=None)
    if spans and last is not None:
        finish = spans[-1][1]
        if finish < end and rng.random() < 0.35:
            at = _at(finish + timedelta(days=rng.randint(3, 20)), 10)
        elif _paying(spans, end - timedelta(days=1)) and rng.random() < 0.12:
            at = _at(end - timedelta(days=rng.randint(2, 4)), rng.randint(7, 17))
        else:
            at = closing
        at = max(at, last + timedelta(hours=2))
        if at < closing:
            add("email", at, account.owner_at(at) or rng.choice(pool), direction="inbound",
                status="sent", subject="Data export and cancellation"
                if finish < end else "Question before renewal")
    return made


def _contacts(rng: random.Random, accounts: list[Account]) -> list[Contact]:
    """One to three contacts per HubSpot company; a few also at a second company; one at none."""
    hubspot = [a for a in accounts if a.source == "hubspot"]
    contacts = []
    for account in hubspot:
        domain = account.name.lower().replace(" ", "") + ".example"
        for n in range(rng.randint(1, 3)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            keys: tuple[str, ...] = (account.key,)
            other = rng.choice(hubspot)
            if rng.random() < 0.1 and other.key != account.key:
                keys += (other.key,)
            contacts.append(Contact(f"c{account.key}-{n}", f"{first}.{last}@{domain}".lower(),
                                    keys))
    contacts.append(Contact("c-none", "a.reader@mail.example"))
    return contacts


def _feedback(
    rng: random.Random, accounts: list[Account], contacts: list[Contact],
    spans: dict[str, list[Span]], start: date, end: date,
) -> list[Feedback]:
    """NPS twice a year (a rolling schedule: each account in two months of its own) and CSAT
    after support cases, from paying customers, lower before a churn; in HubSpot through a
    contact, the company or both. Then a few HubSpot CES responses, and scores no survey
    allows."""
    primary: dict[str, list[Contact]] = {}
    for contact in contacts:
        if contact.account_keys:
            primary.setdefault(contact.account_keys[0], []).append(contact)
    feedback: list[Feedback] = []
    made: Counter[str] = Counter()

    def add(account: Account, survey: str, score: float | str, at: datetime) -> None:
        key = f"fb-{account.key}-{made[account.key]}"
        made[account.key] += 1
        people = primary.get(account.key, [])
        if account.source == "salesforce" or not people:
            feedback.append(Feedback(key, account.source, survey, score, at, account.key))
            return
        contact, roll = rng.choice(people).key, rng.random()
        if roll < 0.4:  # through the submitting contact only
            feedback.append(Feedback(key, "hubspot", survey, score, at, None, contact))
        elif roll < 0.8:
            feedback.append(Feedback(key, "hubspot", survey, score, at, account.key, contact))
        else:
            feedback.append(Feedback(key, "hubspot", survey, score, at, account.key))

    for account in accounts:
        mine = spans[account.key]
        first = rng.randint(1, 6)  # each account's survey months, so every month has responses
        for year in range(start.year, end.year + 1):
            for campaign in (first, first + 6):
                day = date(year, campaign, rng.randint(8, 24))
                if start <= day < end and _paying(mine, day) and rng.random() < 0.5:
                    score = rng.choices(range(11), _NPS_WEIGHTS)[0]
                    if _at_risk(mine, day, end):
                        score = max(0, score - rng.randint(2, 5))
                    add(account, "NPS", score, _at(day, rng.randint(7, 20)))
        month = start
        while month < end:
            day = month + timedelta(days=rng.randint(0, 27))
            month = add_months(month, 1)
            if day < end and _paying(mine, day) and rng.random() < 0.15:
                score = rng.choices(range(1, 6), _CSAT_WEIGHTS)[0]
                if _at_risk(mine, day, end) and rng.random() < 0.5:
                    score = max(1, score - 1)
                add(account, "CSAT", score, _at(day, rng.randint(7, 20)))
    # Mid-history (the demo: May 2026), on customers paying then.
    day = start + (min(end, date(2026, 7, 1)) - start) * 3 // 4
    steady = [a for a in accounts if _paying(spans[a.key], day)]
    hubspot = [a for a in steady if a.source == "hubspot"]
    salesforce = [a for a in steady if a.source == "salesforce"]
    for n, account in enumerate((hubspot * 6)[:6]):  # Customer Effort Score (1-7): ignored
        add(account, "CES", rng.randint(1, 7), _at(day, 9 + n))
    # Scores no survey allows: quarantined, never averaged.
    for survey, score, account in zip(("NPS", "NPS"), ("n/a", 11), hubspot, strict=False):
        add(account, survey, score, _at(day, 15))
    for survey, score, account in zip(("CSAT", "NPS"), (7, -1), salesforce, strict=False):
        add(account, survey, score, _at(day, 15))
    # A response from a contact at no company: it belongs to no account.
    feedback.append(Feedback("fb-nobody-0", "hubspot", "NPS", 8, _at(day, 12), None, "c-none"))
    return feedback


def _at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
