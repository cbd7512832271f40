"""Every kind of broken record is kept aside with its reason, end to end into `marts.quarantine`;
names full of quotes, SQL and emoji reach the marts exactly as the CRM spelled them."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.company import Company, Deal, vendor_id
from tests.conftest import read_rows, run_pipeline, tiny_fakes
from tests.session_helpers import shared_build
from tests.tiny_company import tiny_company

ODD_ACCOUNT = "Stark \"Industries\" O'Neil; DROP TABLE marts.account_period_metrics; -- 🚀 株式会社"
ODD_CSM = "Zoë 'Chen' 👩‍💼 Ünïcødé'); delete from raw._state; --"
ODD_DESCRIPTION = "Sync'); DROP TABLE raw.quarantine; -- 🎉 naïve café"


def odd_company() -> Company:
    company = tiny_company()
    company.accounts = [dataclasses.replace(a, name=ODD_ACCOUNT) if a.key == "a6" else a
                        for a in company.accounts]
    company.people = [dataclasses.replace(p, name=ODD_CSM) if p.key == "carol" else p
                      for p in company.people]
    company.entries = [dataclasses.replace(e, description=ODD_DESCRIPTION) if e.key == "e3" else e
                       for e in company.entries]
    # A won deal with no close date.
    company.deals = [dataclasses.replace(d, close_date=None) if d.key == "d3" else d
                     for d in company.deals]
    company.deals += IMPOSSIBLE_AMOUNTS
    # A NUL in a name from each CRM: PostgreSQL's text cannot hold it.
    company.accounts = [dataclasses.replace(a, name=NUL_NAMES[a.key]) if a.key in NUL_NAMES
                        else a for a in company.accounts]
    return company


NUL_NAMES = {"a4": "Umbrella\x00 Corp", "a7": "Way\x00ne"}


# Amounts no won deal can be booked with (docs/metrics.md, ARR): a refund typed as a negative deal,
# amounts beyond decimal(18, 2) in each CRM, and one that fits but whose annual value (one
# month's term) does not. A zero amount is an amount: booked, adding no ARR.
IMPOSSIBLE_AMOUNTS = [
    Deal("d8-refund", "a1", "Acme refund", Decimal("-5000"), date(2025, 1, 20)),
    Deal("d8-huge-sf", "a3", "Initech typo", Decimal("1e20"), date(2025, 1, 20)),
    Deal("d8-huge-hs", "a4", "Umbrella extra zeros", Decimal("1e20"), date(2025, 1, 20)),
    Deal("d8-month", "a7", "Wayne one month", Decimal("9000000000000000"), date(2025, 1, 20),
         term_months=1),
    Deal("d8-free", "a6", "Stark pilot", Decimal("0"), date(2025, 1, 20)),
    # Fits decimal(18, 2) alone, but not summed with the rest of the book: above the per-deal cap.
    Deal("d8-sum", "a1", "Acme typo", Decimal("9999999999990000"), date(2025, 1, 20)),
]


def build_quarantine(folder: Path) -> None:
    with tiny_fakes(folder, odd_company()) as fakes:
        # A won opportunity whose account was deleted.
        stark = vendor_id("sf_opportunity", "d6")
        next(o for o in fakes.salesforce.objects["Opportunity"] if o["Id"] == stark)[
            "AccountId"] = None
        # An amount typed as text.
        hooli = next(d for d in fakes.hubspot.deals if d["properties"]["dealname"] == "Hooli")
        hooli["properties"]["amount"] = "12k"
        # A start in ISO 8601's basic format, which the API never sends and DuckDB cannot read.
        kickoff = next(e for e in fakes.toggl.entries if e["description"] == "Kickoff")
        kickoff["start"] = "20250106T090000Z"
        # An entry with no id.
        training = next(e for es in fakes.clockify.entries.values() for e in es
                        if e["description"] == "Training")
        training["id"] = None
        run_pipeline("2025-01-01", "2025-03-01", bi=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session, whichever workers run this module (tests/session_helpers.py)."""
    return shared_build("quarantine", build_quarantine, tmp_path_factory) / "warehouse.duckdb"


def test_every_broken_record_is_kept_aside_with_its_reason(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select source, stream, record_id, reason from marts.quarantine order by all""")
    found = {(r["source"], r["stream"], r["record_id"], r["reason"]) for r in rows}
    hooli = next(r["record_id"] for r in rows if r["reason"] == "amount is not a number")
    assert hooli.startswith("hs:")
    kickoff = "toggl:" + vendor_id("toggl_entry", "e1")
    expected = {
        ("salesforce", "deals", "sf:" + vendor_id("sf_opportunity", "d6"), "no account"),
        ("salesforce", "deals", "sf:" + vendor_id("sf_opportunity", "d3"), "no close date"),
        ("hubspot", "deals", hooli, "amount is not a number"),
        ("toggl", "time_entries", kickoff, "no readable start"),
        ("clockify", "time_entries", None, "no primary key (id)"),
    }
    assert expected <= found, sorted(expected - found)
    # The tiny company's own rejects (test_metrics_hand_computed) are there too, and nothing else.
    assert {r["reason"] for r in rows} == {
        "no account", "no close date", "amount is not a number", "no amount",
        "currency GBP has no conversion rate to USD", "non-positive term",
        "term is not a whole number of months", "no readable start", "no primary key (id)",
        "zero or negative length", "longer than 24 hours", "negative amount",
        "amount beyond decimal(18, 2)", "annual value beyond decimal(18, 2)",
        "annual value beyond 1e12, the per-deal cap",
        "NPS score outside 0-10"}  # the tiny company's NPS of 11


def test_impossible_amounts_are_quarantined_not_booked(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select record_id, reason from marts.quarantine where stream = 'deals'""")
    reasons = {r["record_id"]: r["reason"] for r in rows}
    hubspot = read_rows(warehouse, """
        select deal_id from staging.stg_hubspot__deals where deal_name = 'Umbrella extra zeros'""")
    keys = ("d8-refund", "d8-huge-sf", "d8-month", "d8-sum")
    assert {sf(key): reasons.get(sf(key)) for key in keys} == {
        sf("d8-refund"): "negative amount", sf("d8-huge-sf"): "amount beyond decimal(18, 2)",
        sf("d8-month"): "annual value beyond decimal(18, 2)",
        sf("d8-sum"): "annual value beyond 1e12, the per-deal cap"}
    assert reasons.get(hubspot[0]["deal_id"]) == "amount beyond decimal(18, 2)"
    booked = read_rows(warehouse, """
        select deal_id, annual_value from intermediate.int_revenue__schedules
        where deal_id in (select record_id from marts.quarantine) or deal_id = $free""",
                       {"free": sf("d8-free")})
    assert booked == [{"deal_id": sf("d8-free"), "annual_value": Decimal("0.00")}]


def sf(deal_key: str) -> str:
    return "sf:" + vendor_id("sf_opportunity", deal_key)


def test_the_quarantined_record_is_kept_whole(warehouse: Path) -> None:
    [row] = read_rows(warehouse, """
        select record->>'description' as description, record->>'start' as start
        from raw.quarantine where reason = 'no readable start'""")
    assert row == {"description": "Kickoff", "start": "20250106T090000Z"}


def test_quotes_sql_and_emoji_reach_the_marts_intact(warehouse: Path) -> None:
    accounts = read_rows(warehouse, """
        select distinct account_name from marts.account_period_metrics
        where account_id = $id""", {"id": "sf:" + vendor_id("sf_account", "a6")})
    assert accounts == [{"account_name": ODD_ACCOUNT}]
    csms = read_rows(warehouse, """
        select distinct csm_name from marts.csm_period_metrics where csm_name like 'Zo%'""")
    assert csms == [{"csm_name": ODD_CSM}]
    [entry] = read_rows(warehouse, """
        select description from intermediate.int_time_entries__unified
        where entry_id = $id""", {"id": "toggl:" + vendor_id("toggl_entry", "e3")})
    assert entry["description"] == ODD_DESCRIPTION
    # Nothing the names say was executed.
    tables = read_rows(warehouse, """
        select table_schema || '.' || table_name as name from information_schema.tables
        where table_name in ('account_period_metrics', 'quarantine', '_state')""")
    assert {t["name"] for t in tables} >= {
        "marts.account_period_metrics", "raw.quarantine", "raw._state", "marts.quarantine"}


def test_a_nul_in_a_crm_name_reaches_the_marts_without_it(warehouse: Path) -> None:
    """The fakes send `"\\u0000"` inside an account name of each CRM; the names land without
    it, so no mart text holds a character PostgreSQL refuses."""
    names = read_rows(warehouse, """
        select distinct account_id, account_name from marts.account_period_metrics
        where account_id in ($sf, $hs)""", {"sf": "sf:" + vendor_id("sf_account", "a7"),
                                              "hs": "hs:" + vendor_id("hs_company", "a4")})
    assert sorted(r["account_name"] for r in names) == ["Umbrella Corp", "Wayne"]
    leftover = read_rows(warehouse, """
        select count(*) as n from raw.salesforce__accounts, raw.hubspot__companies
        where contains(raw.salesforce__accounts._record::varchar, chr(0))
           or contains(raw.hubspot__companies._record::varchar, chr(0))""")
    assert leftover == [{"n": 0}]


def test_the_accepted_deals_always_sum_within_decimal_18_2(tmp_path: Path) -> None:
    """10,001 deals just under the per-deal cap would sum past decimal(18, 2): the largest is
    quarantined, naming why, and every accepted deal's annual value sums within it."""
    import duckdb

    from connectors.clockify import STREAMS as CLOCKIFY
    from connectors.hubspot import STREAMS as HUBSPOT
    from connectors.salesforce import STREAMS as SALESFORCE
    from connectors.toggl import STREAMS as TOGGL
    from pipelines.settings import Settings
    from warehouse.schema import prepare

    streams = [*SALESFORCE.values(), *HUBSPOT.values(), *TOGGL.values(), *CLOCKIFY.values()]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        prepare(conn, streams, Settings().for_warehouse(), Settings().tables())
        opportunities = "staging.stg_salesforce__opportunities"
        conn.execute(f"create table hand as select * from {opportunities} where false")
        conn.execute("""
            insert into hand by name
            select 'sf:' || lpad(i::varchar, 6, '0') as deal_id, 'salesforce' as source,
                   'sf:001' as account_id, 'big' as deal_name,
                   999999999999.00::decimal(18, 2) as amount, '999999999999' as amount_raw,
                   date '2025-01-20' as close_date, true as is_won, false as is_deleted
            from range(10001) t(i)""")
        conn.execute(f"drop table {opportunities}")
        conn.execute(f"create view {opportunities} as select * from hand")
        rejected = conn.execute("""
            select deal_id, reject_reason from intermediate.int_revenue__won_deals
            where reject_reason is not null""").fetchall()
        assert rejected == [("sf:010000",
                             "annual value would take the summed ARR beyond decimal(18, 2)")]
        total = conn.execute("select sum(annual_value) from intermediate.int_revenue__schedules"
                             ).fetchone()
        assert total == (Decimal("999999999999.00") * 10000,)
        assert conn.execute("select cast(sum(annual_value) as decimal(18, 2)) "
                            "from intermediate.int_revenue__schedules").fetchone() == total
