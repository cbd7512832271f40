"""A company small enough to compute every metric by hand (see test_metrics_hand_computed.py).

Three months are measured: January, February and March 2025, reporting time zone UTC, with the
settings `tiny_settings()` returns (a roster, an account alias, a currency rate, term fields).
Engagement, feedback and outcomes (docs/metrics.md, touchpoints to onboarding) come from the
activities, contacts and feedback below and from dave's four accounts, which exist for churn,
CSM-sourced expansion and onboarding without changing anybody else's book (see
test_engagement_hand_computed.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sandbox.company import (
    Account,
    Activity,
    Company,
    Contact,
    Deal,
    Feedback,
    Person,
    TimeEntry,
    utc,
)
from sandbox.servers import CUSTOM_FIELD_SETTINGS

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
DAVE = "dave@example.com"
# Far in the future: a meeting not yet started when the fakes are pulled.
FUTURE = utc(2099, 1, 15, 10)


def tiny_company() -> Company:
    people = [
        Person("alice", "Alice Adams", ALICE, ("salesforce",), "toggl", " Alice@Example.COM "),
        # Clockify knows bob by another e-mail, which the roster maps to him.
        Person("bob", "Bob Brown", BOB, ("salesforce",), "clockify", "Robert.Brown@Example.com"),
        Person("carol", "Carol Chen", CAROL, ("hubspot",), None),
        # Shares the Toggl workspace but owns nothing: not a CSM, hours count nowhere.
        Person("eng", "Erin Engineer", "erin@example.com", (), "toggl", "erin@example.com"),
        # Owns only the accounts added for engagement and outcomes (a20-a23), in both CRMs.
        Person("dave", "Dave Diaz", DAVE, ("salesforce", "hubspot"), "toggl", DAVE),
    ]
    created = utc(2023, 1, 1)
    accounts = [
        Account("a1", "Acme", "salesforce", created, [(created, "alice")]),
        Account("a2", "Globex, Inc.", "salesforce", created,
                [(created, "alice"), (utc(2025, 2, 10, 12), "bob")]),
        Account("a3", "Initech", "salesforce", created, [(created, "bob")]),
        Account("a4", "Umbrella", "hubspot", created, [(created, "carol")]),
        Account("a5", "Hooli", "hubspot", created, [(created, None)]),
        Account("a6", "Stark", "salesforce", created, [(created, "bob")]),
        Account("a7", "Wayne", "salesforce", created, [(created, "bob")]),
        # dave's: churns in February (a HubSpot lost deal gives its reason).
        Account("a20", "Oscorp", "hubspot", created, [(created, "dave")]),
        # dave's: CSM-sourced and other expansion, won and lost.
        Account("a21", "Nakatomi", "salesforce", created, [(created, "dave")]),
        # dave's new customers in March, with onboarding hours and a go-live date.
        Account("a22", "Vandelay", "salesforce", created, [(created, "dave")],
                value_milestone=date(2025, 4, 14)),
        Account("a23", "Gringotts", "hubspot", created, [(created, "dave")],
                value_milestone=date(2025, 3, 31)),
    ]
    deals = [
        Deal("d1", "a1", "Acme new", Decimal("120000"), date(2025, 1, 15)),
        Deal("d1-lost", "a1", "Acme extra", Decimal("99999"), date(2025, 1, 20), won=False),
        Deal("d2", "a2", "Globex", Decimal("60000"), date(2024, 12, 1)),
        Deal("d2-up", "a2", "Globex upsell", Decimal("12000"), date(2025, 2, 20)),
        Deal("d3", "a3", "Initech", Decimal("24000"), date(2024, 2, 10)),
        Deal("d4-old", "a4", "Umbrella 2023", Decimal("36000"), date(2023, 12, 1)),
        Deal("d4-back", "a4", "Umbrella comeback", Decimal("48000"), date(2025, 3, 5)),
        Deal("d5", "a5", "Hooli", Decimal("10000"), date(2024, 11, 20)),
        Deal("d5-noamount", "a5", "Hooli add-on", None, date(2025, 1, 10)),
        Deal("d6", "a6", "Stark", Decimal("50000"), date(2024, 2, 1)),
        Deal("d6-renewal", "a6", "Stark renewal", Decimal("40000"), date(2025, 2, 1)),
        # 1,000 EUR at 1.1 = 1,100 USD a year from 2025-04-10; a GBP deal has no rate.
        Deal("d5-eur", "a5", "Hooli EU", Decimal("1000"), date(2025, 4, 10), currency="EUR"),
        Deal("d5-gbp", "a5", "Hooli UK", Decimal("2000"), date(2025, 2, 15), currency="GBP"),
        # Two years for 48,000 from a service start after the close: 24,000 a year from April 2.
        Deal("d7", "a7", "Wayne 2y", Decimal("48000"), date(2024, 12, 20), term_months=24,
             service_start=date(2025, 4, 2)),
        Deal("d7-zero", "a7", "Wayne zero term", Decimal("1000"), date(2025, 1, 5),
             term_months=0),
        Deal("d4-typo", "a4", "Umbrella typo", Decimal("1000"), date(2025, 1, 5),
             term_months="twelve"),
        *_outcome_deals(),
    ]
    sf_a2 = accounts[1].account_id
    entries = [
        TimeEntry("e1", "alice", utc(2025, 1, 6, 9), utc(2025, 1, 6, 11), "Kickoff", "Acme",
                  "Onboarding", ("onboarding",)),
        TimeEntry("e2", "alice", utc(2025, 1, 31, 22), utc(2025, 2, 1, 2), "Go-live", None,
                  "globex inc"),
        TimeEntry("e3", "alice", utc(2025, 2, 3, 10), utc(2025, 2, 3, 11, 30), "Team sync",
                  "Internal", "Internal", ("internal",)),
        TimeEntry("e4", "alice", utc(2025, 2, 10, 9), utc(2025, 2, 10, 17), "Day off", None,
                  "Leave"),
        TimeEntry("e5", "alice", utc(2025, 3, 3, 9), utc(2025, 3, 3, 10), f"QBR prep [{sf_a2}]",
                  None, "Accounts"),
        TimeEntry("f1", "bob", utc(2025, 1, 15, 13), utc(2025, 1, 15, 16), "Training",
                  "Initech", "Success plan"),
        TimeEntry("f2", "bob", utc(2025, 2, 28, 23, 30), utc(2025, 3, 1, 0, 30), "misc"),
        TimeEntry("f3", "bob", utc(2025, 3, 10, 9), utc(2025, 3, 10, 17), "Holiday",
                  kind="TIME_OFF"),
        TimeEntry("f4", "bob", utc(2025, 3, 20, 10), None, "Running call", "Initech", "Calls"),
        TimeEntry("f5", "bob", utc(2025, 3, 12, 9), utc(2025, 3, 12, 9), "Zero", "Initech",
                  "Calls"),
        TimeEntry("f6", "bob", utc(2025, 3, 13, 9), utc(2025, 3, 14, 10), "Forgot to stop",
                  "Initech", "Calls"),
        TimeEntry("g1", "eng", utc(2025, 1, 7, 10), utc(2025, 1, 7, 12), "Integration", "Acme",
                  "Integration"),
        # A client name the settings' account aliases map to Umbrella.
        TimeEntry("e6", "alice", utc(2025, 3, 4, 9), utc(2025, 3, 4, 10), "Exec sync", "Big U",
                  "Exec"),
        # Late on March 31 (UTC): in Europe/Berlin, summer time, half of it is April.
        TimeEntry("f7", "bob", utc(2025, 3, 31, 21, 30), utc(2025, 3, 31, 23, 30), "misc"),
        *_onboarding_entries(),
    ]
    return Company(people=people, accounts=accounts, deals=deals, entries=entries,
                   activities=_activities(), contacts=_contacts(), feedback=_feedback())


def _outcome_deals() -> list[Deal]:
    """Lost deals with reasons on the existing accounts (no revenue, so no book moves) and dave's
    accounts' deals: sources, creators and reasons for docs/metrics.md's expansion sourcing and
    churn reasons."""
    return [
        # Stark's January contraction: "Price" is its latest loss in January's window; the
        # February loss is after January's end but the latest in the quarter's window.
        Deal("d6-lost", "a6", "Stark add-on", Decimal("8000"), date(2025, 1, 10), won=False,
             deal_type="Upsell", loss_reason="Price"),
        Deal("d6-lost-late", "a6", "Stark seats", Decimal("6000"), date(2025, 2, 15), won=False,
             deal_type="Upsell", loss_reason="Competitor"),
        # Initech's February churn: lost on 2024-09-20, before February's window (which opens
        # 2024-10-04) but inside the quarter's and the year's (2024-09-03).
        Deal("d3-lost-old", "a3", "Initech renewal", Decimal("24000"), date(2024, 9, 20),
             won=False, deal_type="Renewal", loss_reason="Budget"),
        # A CSM-sourced loss on Umbrella (HubSpot source property, any case).
        Deal("d4-lost", "a4", "Umbrella seats", Decimal("9000"), date(2025, 3, 20), won=False,
             deal_type="existingbusiness", lead_source="csm", created_by="carol",
             created_at=utc(2025, 3, 1, 9), loss_reason="Timing"),
        # Oscorp: 36,000 a year from 2024-03-01, so it churns on 2025-03-01 (February's end);
        # its loss reason is the same as Initech's, spelled otherwise.
        Deal("d20", "a20", "Oscorp", Decimal("36000"), date(2024, 3, 1)),
        Deal("d20-lost", "a20", "Oscorp renewal", Decimal("30000"), date(2025, 2, 5), won=False,
             deal_type="existingbusiness", loss_reason="  budget "),
        # Nakatomi: 20,000 a year from 2024-06-01; a CSM-sourced upsell won in January, a
        # CSM-sourced one lost and a web-sourced one won in March.
        Deal("d21", "a21", "Nakatomi", Decimal("20000"), date(2024, 6, 1)),
        Deal("d21-up", "a21", "Nakatomi upsell", Decimal("6000"), date(2025, 1, 20),
             deal_type="Upsell", lead_source="Customer Success", created_by="dave",
             created_at=utc(2025, 1, 6, 10)),
        Deal("d21-lost", "a21", "Nakatomi seats", Decimal("5000"), date(2025, 3, 10), won=False,
             deal_type="Upsell", lead_source="customer success", created_by="dave",
             created_at=utc(2025, 2, 3, 10), loss_reason="Competitor "),
        Deal("d21-web", "a21", "Nakatomi add-on", Decimal("4000"), date(2025, 3, 14),
             deal_type="Upsell", lead_source="Web", created_by="bob",
             created_at=utc(2025, 3, 1, 10)),
        # New customers: Vandelay from a partner, Gringotts CSM-sourced (a new booking, so not
        # in the CSM-sourced bookings, but a CSM-sourced win).
        Deal("d22", "a22", "Vandelay", Decimal("30000"), date(2025, 3, 3),
             lead_source="Partner Referral", created_by="dave", created_at=utc(2025, 2, 1, 9)),
        Deal("d23", "a23", "Gringotts", Decimal("12000"), date(2025, 3, 17),
             deal_type="newbusiness", lead_source="CSM", created_by="dave",
             created_at=utc(2025, 2, 20, 9)),
    ]


def _onboarding_entries() -> list[TimeEntry]:
    """dave's hours on his new customers: onboarding inside and outside 90 days of their first
    revenue (Vandelay 2025-03-03, Gringotts 2025-03-17), and a check-in that is not onboarding."""
    return [
        TimeEntry("h1", "dave", utc(2025, 3, 4, 9), utc(2025, 3, 4, 12), "Vandelay kickoff",
                  "Vandelay", "Onboarding", ("onboarding",)),
        TimeEntry("h2", "dave", utc(2025, 3, 5, 10), utc(2025, 3, 5, 11), "Check-in",
                  "Vandelay", "Accounts"),
        TimeEntry("h3", "dave", utc(2025, 4, 8, 13), utc(2025, 4, 8, 15), "Admin setup",
                  "Vandelay", "Onboarding", ("onboarding",)),
        # 2025-06-10 is 99 days after 2025-03-03: outside the 90-day window.
        TimeEntry("h4", "dave", utc(2025, 6, 10, 9), utc(2025, 6, 10, 10), "Late setup",
                  "Vandelay", "Onboarding", ("onboarding",)),
        TimeEntry("h5", "dave", utc(2025, 3, 18, 9), utc(2025, 3, 18, 10, 30),
                  "Gringotts kickoff", "Gringotts", "Onboarding", ("onboarding",)),
        # 2025-07-01 is 106 days after 2025-03-17.
        TimeEntry("h6", "dave", utc(2025, 7, 1, 9), utc(2025, 7, 1, 11), "Late setup",
                  "Gringotts", "Onboarding", ("onboarding",)),
    ]


def _activities() -> list[Activity]:
    """Touchpoints and ones that must not count, and inbound e-mails answered at known delays
    (docs/metrics.md, touchpoints and response time). carol's are all in March, the only month
    she has a row in."""
    sf, hs = "salesforce", "hubspot"
    return [
        # January
        Activity("s01", sf, "call", "alice", ("a1",), utc(2025, 1, 16, 10), subject="Intro"),
        Activity("s02", sf, "email", "alice", ("a1",), utc(2025, 1, 20, 9), subject="Agenda"),
        Activity("s03", sf, "todo", "alice", ("a1",), utc(2025, 1, 21, 9),
                 subject="Send deck"),  # a completed to-do: not a touchpoint
        Activity("s04", sf, "email", "alice", ("a1",), utc(2025, 1, 22, 9), "inbound",
                 subject="Question"),
        Activity("s05", sf, "call", "alice", ("a1",), utc(2025, 1, 22, 15),
                 subject="Answer"),  # 6 h after s04
        Activity("s06", sf, "call", "bob", ("a6",), utc(2025, 1, 22, 11), "internal",
                 subject="Internal prep"),
        Activity("s07", sf, "call", "bob", ("a3",), utc(2025, 1, 8, 14), archived=True,
                 subject="Renewal check"),  # archived: served by queryAll, counts
        Activity("s08", sf, "call", "bob", ("a6",), utc(2025, 1, 9, 10), deleted=True,
                 subject="Deleted call"),
        Activity("s09", sf, "meeting", "alice", ("a2",), utc(2025, 1, 28, 15),
                 subject="Globex review"),
        Activity("s10", sf, "email", "dave", ("a21",), utc(2025, 1, 27, 10),
                 subject="Nakatomi follow-up"),
        Activity("h01", hs, "call", "dave", ("a20",), utc(2025, 1, 13, 10),
                 subject="Oscorp check-in"),
        # February
        Activity("s11", sf, "email", "bob", ("a6",), utc(2025, 2, 3, 10), "inbound",
                 subject="Invoice question"),
        Activity("s12", sf, "email", "bob", ("a6",), utc(2025, 2, 4, 10),
                 subject="Re: Invoice question"),  # exactly 24 h after s11
        # Globex changes hands at 2025-02-10 12:00: alice's inbound e-mail, then bob's.
        Activity("s13", sf, "email", "alice", ("a2",), utc(2025, 2, 10, 11), "inbound",
                 subject="Outage?", linked_through_task=True),
        Activity("s14", sf, "email", "bob", ("a2",), utc(2025, 2, 10, 12), "inbound",
                 subject="Outage, again"),
        Activity("s15", sf, "meeting", "bob", ("a2",), utc(2025, 2, 12, 11),
                 subject="Outage review"),  # 48 h after s13, 47 h after s14
        Activity("s16", sf, "meeting", "bob", ("a6",), utc(2025, 2, 14), all_day=True,
                 subject="Onsite day"),
        Activity("s17", sf, "email", "dave", ("a21",), utc(2025, 2, 11, 10),
                 subject="Nakatomi usage"),
        Activity("h02", hs, "call", "dave", ("a20",), utc(2025, 2, 20, 10),
                 subject="Oscorp renewal"),
        # March
        Activity("s18", sf, "call", "alice", ("a2",), utc(2025, 3, 3, 9, 30),
                 subject="QBR prep call"),  # Globex is bob's by now
        Activity("s19", sf, "email", "alice", ("a1",), utc(2025, 3, 5, 10), "inbound",
                 subject="Export fails"),
        Activity("s20", sf, "call", "bob", ("a1",), utc(2025, 3, 7, 16),
                 subject="Covering for alice"),  # 54 h after s19, by someone else
        Activity("s21", sf, "call", "dave", ("a21",), utc(2025, 3, 17, 10),
                 subject="Nakatomi seats"),
        Activity("s22", sf, "meeting", "dave", ("a22",), utc(2025, 3, 4, 14),
                 subject="Vandelay kickoff"),
        Activity("s23", sf, "meeting", "bob", ("a6",), FUTURE, subject="Stark 2099"),
        Activity("h03", hs, "call", "carol", ("a4", "a5"), utc(2025, 3, 6, 11),
                 subject="Joint call"),  # on two companies: touches both
        Activity("h04", hs, "email", "carol", (), utc(2025, 3, 6, 15),
                 subject="No company"),  # on no account: counts nowhere
        Activity("h05", hs, "call", "carol", ("a4",), utc(2025, 3, 7, 10), status="no_answer",
                 subject="No answer"),
        Activity("h06", hs, "meeting", "carol", ("a4",), utc(2025, 3, 10, 15),
                 status="canceled", subject="Cancelled"),
        Activity("h07", hs, "meeting", "carol", ("a5",), utc(2025, 3, 12, 10),
                 status="scheduled", subject="Hooli sync"),  # outcome never set; it happened
        Activity("h08", hs, "email", "carol", ("a4",), utc(2025, 3, 24, 9), "inbound",
                 subject="Never answered"),
        Activity("h09", hs, "meeting", "carol", ("a4",), FUTURE, status="scheduled",
                 subject="Umbrella 2099"),
        Activity("h10", hs, "meeting", "dave", ("a23",), utc(2025, 3, 18, 14),
                 subject="Gringotts kickoff"),
        Activity("h11", hs, "email", "dave", ("a23",), utc(2025, 3, 19, 8), "inbound",
                 subject="Login help"),
        Activity("h12", hs, "email", "dave", ("a23",), utc(2025, 3, 19, 9), deleted=True,
                 subject="Deleted reply"),
        Activity("h13", hs, "email", "dave", ("a23",), utc(2025, 3, 19, 10, 30), "forwarded",
                 subject="Fwd: Login help"),  # 2.5 h after h11; the deleted reply does not count
    ]


def _contacts() -> list[Contact]:
    return [
        Contact("c1", "buyer@umbrella.example", ("a4",)),
        Contact("c2", "admin@gringotts.example", ("a23", "a5")),  # primary company first
    ]


def _feedback() -> list[Feedback]:
    """NPS and CSAT responses (docs/metrics.md, NPS and CSAT): promoters 9-10, passives 7-8,
    detractors 0-6; CSAT satisfied at 4 or more; a CES (ignored) and an NPS of 11 (quarantined)."""
    sf, hs = "salesforce", "hubspot"
    return [
        Feedback("n1", sf, "NPS", 10, utc(2025, 1, 20, 10), "a1"),
        Feedback("n2", sf, "NPS", 9, utc(2025, 1, 25, 10), "a1"),
        Feedback("n3", sf, "NPS", 8, utc(2025, 1, 27, 10), "a2"),
        Feedback("n4", sf, "NPS", 6, utc(2025, 1, 29, 10), "a2"),
        Feedback("n5", sf, "NPS", 7, utc(2025, 2, 11, 9), "a2"),  # Globex is bob's by now
        Feedback("n6", sf, "NPS", 0, utc(2025, 2, 12, 9), "a6"),
        Feedback("n7", sf, "CSAT", 4, utc(2025, 2, 13, 9), "a6"),
        Feedback("n8", sf, "CSAT", 3, utc(2025, 2, 5, 9), "a3"),
        Feedback("n9", sf, "NPS", 11, utc(2025, 2, 14, 9), "a6"),  # outside 0-10: quarantined
        Feedback("n10", hs, "NPS", 9, utc(2025, 3, 20, 9), contact_key="c1"),  # via contact
        Feedback("n11", hs, "CSAT", 5, utc(2025, 3, 25, 9), contact_key="c2"),
        Feedback("n12", hs, "NPS", 8, utc(2025, 3, 26, 9), "a5"),
        Feedback("n13", hs, "CES", 2, utc(2025, 3, 21, 9), "a4"),  # not NPS or CSAT: ignored
    ]


def tiny_settings(company: Company, timezone: str = "UTC") -> str:
    """The settings file the hand-computed tests run with (TOML)."""
    umbrella = next(a.account_id for a in company.accounts if a.key == "a4")
    return f"""
reporting_timezone = "{timezone}"
# A fixed day (docs/metrics.md, Periods): the outlook and every open period read the same
# whenever the tests run.
as_of = 2026-12-01T00:00:00Z
default_annual_cost = 120000
salesforce_term_field = "Term_Months__c"
salesforce_start_field = "Service_Start__c"
hubspot_term_property = "contract_term_months"
hubspot_start_property = "contract_start_date"
csm_sourced_values = ["Customer Success", "CSM"]
{CUSTOM_FIELD_SETTINGS}
[currency_rates]
EUR = 1.1

[account_aliases]
"Big U" = "{umbrella}"

[[roster]]
email = "alice@example.com"
start_date = 2025-01-15

[[roster]]
email = "bob@example.com"
aliases = ["robert.brown@example.com"]
annual_cost = 96000
fte = 0.5

[[roster]]
email = "dana@example.com"
name = "Dana Roster-Only"
"""
