"""A company small enough to compute every metric by hand (see test_metrics_hand_computed.py).

Three months are measured: January, February and March 2025, reporting time zone UTC, with the
settings `tiny_settings()` returns (a roster, an account alias, a currency rate, term fields).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sandbox.company import Account, Company, Deal, Person, TimeEntry, utc

ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"


def tiny_company() -> Company:
    people = [
        Person("alice", "Alice Adams", ALICE, ("salesforce",), "toggl", " Alice@Example.COM "),
        # Clockify knows bob by another e-mail, which the roster maps to him.
        Person("bob", "Bob Brown", BOB, ("salesforce",), "clockify", "Robert.Brown@Example.com"),
        Person("carol", "Carol Chen", CAROL, ("hubspot",), None),
        # Shares the Toggl workspace but owns nothing: not a CSM, hours count nowhere.
        Person("eng", "Erin Engineer", "erin@example.com", (), "toggl", "erin@example.com"),
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
    ]
    return Company(people=people, accounts=accounts, deals=deals, entries=entries)


def tiny_settings(company: Company, timezone: str = "UTC") -> str:
    """The settings file the hand-computed tests run with (TOML)."""
    umbrella = next(a.account_id for a in company.accounts if a.key == "a4")
    return f"""
reporting_timezone = "{timezone}"
default_annual_cost = 120000
salesforce_term_field = "Term_Months__c"
salesforce_start_field = "Service_Start__c"
hubspot_term_property = "contract_term_months"
hubspot_start_property = "contract_start_date"

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
