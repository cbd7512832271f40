"""The sandbox company is seeded and exercises the rules docs/metrics.md describes."""

from __future__ import annotations

from datetime import date

from sandbox.company import Company, generate_company


def test_the_same_seed_gives_the_same_company(demo_company: Company) -> None:
    again = generate_company()
    assert again == demo_company
    assert generate_company(seed=8) != demo_company


def test_its_size(demo_company: Company) -> None:
    csms = [p for p in demo_company.people if p.crm]
    assert len(csms) == 12
    assert len(demo_company.accounts) == 150
    sources = {a.source for a in demo_company.accounts}
    assert sources == {"salesforce", "hubspot"}
    assert len(demo_company.accounts_in("salesforce")) > len(demo_company.accounts_in("hubspot"))
    assert {p.tracker for p in demo_company.people} == {"toggl", "clockify"}


def test_it_exercises_the_rules(demo_company: Company) -> None:
    entries = demo_company.entries
    assert any(len(a.owners) > 1 for a in demo_company.accounts)  # owner changes
    assert any(a.owners[-1][1] is None for a in demo_company.accounts)  # no owner
    assert any(not d.won and d.closed for d in demo_company.deals)  # lost renewals
    assert any(d.deal_type == "Upsell" for d in demo_company.deals)
    assert any(d.currency == "EUR" for d in demo_company.deals)
    assert any(e.stop is None for e in entries)  # a running timer
    assert any(e.kind == "TIME_OFF" for e in entries)  # leave in Clockify
    assert any(e.project == "Leave" for e in entries)  # leave in Toggl
    assert any(e.stop and e.start.month != e.stop.month for e in entries)  # across a month end
    assert any(e.client == "Internal" for e in entries)
    assert any(e.client == "Misc prospects" for e in entries)  # unmatched time
    assert any("[sf:" in e.description for e in entries)  # an account id in the description
    assert any(e.tags for e in entries)
    assert min(e.start.date() for e in entries) >= date(2024, 11, 1)
