"""A synthetic company: the people, accounts, deals and time entries the fake APIs serve.

The model is vendor-neutral on purpose: each fake server renders its own vendor's view of it
(ids, field names, types), so the same company can be fed to Salesforce and HubSpot, Toggl and
Clockify. `generate_company` makes the seeded demo company; tests build tiny ones by hand.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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
    return Company(people=people, accounts=accounts, deals=deals, entries=entries)


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


def _at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
