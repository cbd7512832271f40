"""The tiny company's metrics, computed by hand, asserted exactly (through fakes and Dagster).

ARR by account at each instant (deals are 12-month schedules from their close date):

    account  owner(s)               Jan 1    Feb 1    Mar 1    Apr 1
    a1 Acme     alice                   0  120,000  120,000  120,000   new in January
    a2 Globex   alice -> bob (Feb 10) 60,000  60,000  72,000   72,000   +12,000 upsell Feb 20
    a3 Initech  bob                24,000   24,000        0        0   ends Feb 10: churn
    a4 Umbrella carol                   0        0        0   48,000   back Mar 5: reactivation
    a5 Hooli    (no owner)         10,000   10,000   10,000   10,000   unassigned
    a6 Stark    bob                50,000   40,000   40,000   40,000   renewed lower: contraction

    a20 Oscorp   dave              36,000   36,000        0        0   ends Mar 1: churn
    a21 Nakatomi dave              20,000   26,000   26,000   30,000   +6,000 Jan 20, +4,000 Mar 14
    a22 Vandelay dave                   0        0        0   30,000   new Mar 3
    a23 Gringotts dave                  0        0        0   12,000   new Mar 17
(dave's four accounts are there for tests/test_engagement_hand_computed.py: they change only the
team's totals and dave's own rows; dave tracks hours only from March, on Vandelay and Gringotts.)

Later deals, seen only by the year 2025: 1,000 EUR for Hooli from Apr 10 (x 1.1 = 1,100 USD),
and Wayne's 48,000 over 24 months from a service start of Apr 2 (24,000 a year).

Hours (UTC): alice 2 h Jan 6 (Acme, client), 4 h across Jan 31 -> Feb 1 (Globex, project name),
1.5 h internal Feb 3, a day of leave Feb 10, 1 h Mar 3 (Globex by its id in the description),
1 h Mar 4 (client "Big U", an alias of Umbrella); bob (known to Clockify by a roster alias) 3 h
Jan 15 (Initech), 1 h unmatched across Feb 28 -> Mar 1, 2 h unmatched late on Mar 31, a day of
time off, a running timer, a zero-length and a 25-hour entry (both quarantined); an engineer's
2 h count nowhere.

Roster: alice starts on 2025-01-15 (default cost 120,000, FTE 1); bob costs 96,000 at FTE 0.5;
dana is on the roster only. Eight working hours a weekday.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import AssetKey

from tests.conftest import TinyBuild, read_rows
from tests.tiny_company import ALICE, BOB, CAROL, DAVE, tiny_company

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


@pytest.fixture(scope="module")
def warehouse(tiny_built: TinyBuild) -> Path:
    return tiny_built.warehouse


def csm(warehouse: Path, month: date, csm_id: str, grain: str = "month") -> dict:
    rows = read_rows(warehouse, "select * from marts.csm_period_metrics where period_start = $m "
                     "and csm_id = $c and period_grain = $g",
                     {"m": month, "c": csm_id, "g": grain})
    assert len(rows) == 1, (month, csm_id, rows)
    return rows[0]


def team(warehouse: Path, month: date, grain: str = "month") -> dict:
    rows = read_rows(warehouse, "select * from marts.team_period_metrics where period_start = $m "
                     "and period_grain = $g", {"m": month, "g": grain})
    assert len(rows) == 1
    return rows[0]


def test_rows_exist_for_people_with_a_book_or_hours(warehouse: Path) -> None:
    rows = read_rows(warehouse, "select period_start, csm_id from marts.csm_period_metrics "
                     "where period_grain = 'month' order by all")
    assert [(r["period_start"], r["csm_id"]) for r in rows] == [
        (JAN, ALICE), (JAN, BOB), (JAN, DAVE), (JAN, "unassigned"),
        (FEB, ALICE), (FEB, BOB), (FEB, DAVE), (FEB, "unassigned"),
        (MAR, ALICE), (MAR, BOB), (MAR, CAROL), (MAR, DAVE), (MAR, "unassigned"),
    ]


def test_january_new_business_and_a_contraction(warehouse: Path) -> None:
    alice = csm(warehouse, JAN, ALICE)
    assert alice["csm_name"] == "Alice Adams"
    assert (alice["accounts_at_start"], alice["starting_arr"]) == (1, Decimal("60000.00"))
    assert (alice["accounts_managed"], alice["arr_managed"]) == (2, Decimal("180000.00"))
    assert alice["new_arr"] == Decimal("120000.00")
    assert alice["nrr"] == 1.0 and alice["grr"] == 1.0 and alice["logo_retention"] == 1.0
    # 2 h on Acme + 2 h of the Jan 31 entry before midnight; the engineer's hours are not hers.
    assert alice["hours_worked"] == pytest.approx(4.0)
    assert alice["hours_on_accounts"] == pytest.approx(4.0)
    assert alice["hours_unattributed"] == 0
    assert alice["accounts_per_hour"] == pytest.approx(2 / 4)
    assert alice["hours_per_account"] == pytest.approx(4 / 2)
    assert alice["arr_per_hour"] == pytest.approx(180000 / 4)

    bob = csm(warehouse, JAN, BOB)
    assert (bob["accounts_at_start"], bob["starting_arr"]) == (2, Decimal("74000.00"))
    assert bob["contraction_arr"] == Decimal("10000.00")
    assert bob["net_retained_arr"] == Decimal("64000.00")
    assert bob["nrr"] == pytest.approx(64000 / 74000)
    assert bob["grr"] == pytest.approx(64000 / 74000)
    assert bob["hours_worked"] == pytest.approx(3.0)
    assert bob["accounts_per_hour"] == pytest.approx(2 / 3)

    unassigned = csm(warehouse, JAN, "unassigned")
    assert (unassigned["accounts_managed"], unassigned["arr_managed"]) == (1, Decimal("10000.00"))
    assert unassigned["hours_worked"] == 0 and unassigned["accounts_per_hour"] is None

    jan = team(warehouse, JAN)
    # dave adds a CSM and two customers: Oscorp 36,000 and Nakatomi 20,000 -> 26,000.
    assert (jan["csm_count"], jan["customer_count"]) == (3, 7)
    assert jan["csm_ratio"] == pytest.approx(7 / 3)
    assert jan["total_arr"] == Decimal("316000.00")  # 254,000 + 36,000 + 26,000
    assert jan["revenue_efficiency"] == pytest.approx(316000 / 3)
    assert jan["starting_arr"] == Decimal("200000.00")  # 144,000 + 36,000 + 20,000
    assert (jan["new_arr"], jan["contraction_arr"]) == (Decimal("120000.00"), Decimal("10000.00"))
    assert jan["expansion_arr"] == Decimal("6000.00")  # Nakatomi
    assert jan["nrr"] == pytest.approx(196000 / 200000)  # (200,000 + 6,000 - 10,000) / 200,000
    assert jan["logo_retention"] == 1.0
    assert jan["hours_worked"] == pytest.approx(7.0)
    assert jan["account_efficiency"] == pytest.approx(7 / 7)


def test_february_reassignment_expansion_and_churn(warehouse: Path) -> None:
    # Globex moved from alice to bob on Feb 10: in alice's starting book, bob's ending book.
    alice = csm(warehouse, FEB, ALICE)
    assert (alice["accounts_at_start"], alice["starting_arr"]) == (2, Decimal("180000.00"))
    assert (alice["accounts_managed"], alice["arr_managed"]) == (1, Decimal("120000.00"))
    assert alice["expansion_arr"] == Decimal("12000.00")  # the starting owner's movement
    assert alice["nrr"] == pytest.approx(192000 / 180000)
    assert alice["grr"] == 1.0 and alice["logo_retention"] == 1.0
    # 2 h after midnight of the Jan 31 entry + 1.5 h internal; the day of leave is not work.
    assert alice["hours_worked"] == pytest.approx(3.5)
    assert alice["hours_on_accounts"] == pytest.approx(2.0)
    assert alice["hours_unattributed"] == pytest.approx(1.5)
    assert alice["accounts_per_hour"] == pytest.approx(1 / 3.5)

    bob = csm(warehouse, FEB, BOB)
    assert (bob["accounts_at_start"], bob["starting_arr"]) == (2, Decimal("64000.00"))
    assert (bob["accounts_managed"], bob["arr_managed"]) == (2, Decimal("112000.00"))
    assert (bob["churned_arr"], bob["accounts_churned"]) == (Decimal("24000.00"), 1)
    assert bob["contraction_arr"] == 0  # a drop to zero is churn, never contraction
    assert bob["nrr"] == pytest.approx(40000 / 64000)
    assert bob["logo_retention"] == pytest.approx(0.5)
    assert bob["hours_worked"] == pytest.approx(0.5)
    assert bob["hours_unattributed"] == pytest.approx(0.5)

    feb = team(warehouse, FEB)
    assert (feb["csm_count"], feb["customer_count"]) == (3, 5)  # Oscorp churned too
    assert feb["starting_arr"] == Decimal("316000.00")  # January's ending ARR
    assert feb["total_arr"] == Decimal("268000.00")  # 242,000 + Nakatomi 26,000
    # Initech 24,000 + Oscorp 36,000.
    assert (feb["expansion_arr"], feb["churned_arr"]) == (Decimal("12000.00"), Decimal("60000.00"))
    assert feb["nrr"] == pytest.approx(268000 / 316000)
    assert feb["grr"] == pytest.approx(256000 / 316000)
    assert feb["logo_retention"] == pytest.approx(5 / 7)
    assert feb["hours_worked"] == pytest.approx(4.0)
    assert feb["hours_unattributed"] == pytest.approx(2.0)


def test_march_reactivation_and_null_ratios(warehouse: Path) -> None:
    carol = csm(warehouse, MAR, CAROL)
    assert carol["reactivation_arr"] == Decimal("48000.00")  # a return from zero
    assert carol["new_arr"] == 0 and carol["expansion_arr"] == 0
    assert (carol["accounts_at_start"], carol["starting_arr"]) == (0, 0)
    assert carol["nrr"] is None and carol["grr"] is None and carol["logo_retention"] is None
    assert carol["hours_worked"] == 0 and carol["accounts_per_hour"] is None

    alice = csm(warehouse, MAR, ALICE)
    # 1 h matched by the account id it names, 1 h by the account alias "Big U".
    assert alice["hours_on_accounts"] == pytest.approx(2.0)

    bob = csm(warehouse, MAR, BOB)
    # The half hour after midnight on Mar 1 and 2 h late on Mar 31: time off, the running
    # timer and the quarantined entries are not worked hours.
    assert bob["hours_worked"] == pytest.approx(2.5)
    assert bob["hours_unattributed"] == pytest.approx(2.5)

    mar = team(warehouse, MAR)
    assert (mar["csm_count"], mar["customer_count"]) == (4, 8)  # + dave, 3 customers of his
    # 290,000 + Nakatomi 30,000 + Vandelay 30,000 + Gringotts 12,000.
    assert mar["total_arr"] == Decimal("362000.00")
    assert mar["reactivation_arr"] == Decimal("48000.00")
    assert mar["nrr"] == pytest.approx(272000 / 268000)  # Nakatomi's +4,000


def test_quarantine_names_each_rejected_record(warehouse: Path) -> None:
    rows = read_rows(warehouse, "select stream, reason from marts.quarantine order by all")
    assert [(r["stream"], r["reason"]) for r in rows] == [
        ("deals", "currency GBP has no conversion rate to USD"),
        ("deals", "no amount"),
        ("deals", "non-positive term"),
        ("deals", "term is not a whole number of months"),
        ("feedback", "NPS score outside 0-10"),  # an NPS of 11
        ("time_entries", "longer than 24 hours"),
        ("time_entries", "zero or negative length"),
    ]


def test_ownership_comes_from_history_where_there_is_any(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select account_id, csm_id, ownership_source, valid_from
        from intermediate.int_ownership__intervals order by account_id, valid_from""")
    by_account: dict[str, list] = {}
    for row in rows:
        by_account.setdefault(row["account_id"], []).append(row)
    accounts = {a.key: a.account_id for a in tiny_company().accounts}
    # Salesforce history says Globex moved from alice to bob.
    assert [(r["csm_id"], r["ownership_source"]) for r in by_account[accounts["a2"]]] == [
        (ALICE, "history"), (BOB, "history")]
    # Acme has no history: the current owner, then the pipeline's own snapshot of the pull day.
    assert [(r["csm_id"], r["ownership_source"]) for r in by_account[accounts["a1"]]] == [
        (ALICE, "current"), (ALICE, "snapshot")]
    # Umbrella's HubSpot propertiesWithHistory is history too. Hooli was created without an
    # owner and never given one: HubSpot keeps no entry for it, so it is unassigned from the
    # current (empty) owner and the snapshots.
    assert [(r["csm_id"], r["ownership_source"]) for r in by_account[accounts["a4"]]] == [
        ("unassigned", "history"), (CAROL, "history")]
    assert [(r["csm_id"], r["ownership_source"]) for r in by_account[accounts["a5"]]] == [
        ("unassigned", "current"), ("unassigned", "snapshot")]


def test_capacity_utilization_and_cost(warehouse: Path) -> None:
    alice = csm(warehouse, JAN, ALICE)
    # Starts Jan 15: 17 of 31 days employed, 13 weekdays (Wed 15 .. Fri 31).
    assert alice["fully_loaded_cost"] == Decimal("5483.87")  # 120,000 / 12 * 17 / 31
    assert alice["capacity_hours"] == pytest.approx(13 * 8)
    assert alice["utilization"] == pytest.approx(4 / 104)
    assert alice["cost_per_account"] == pytest.approx(5483.87 / 2)
    assert alice["cost_per_arr"] == pytest.approx(5483.87 / 180000)
    assert alice["outcome_per_hour"] == pytest.approx(60000 / 4)  # net retained / hours
    assert (alice["arr_band"], alice["accounts_band"]) == ("below", "below")

    # February: 20 weekdays, less the 8 h day of leave.
    alice_feb = csm(warehouse, FEB, ALICE)
    assert alice_feb["capacity_hours"] == pytest.approx(20 * 8 - 8)
    assert alice_feb["utilization"] == pytest.approx(3.5 / 152)
    assert alice_feb["fully_loaded_cost"] == Decimal("10000.00")

    bob = csm(warehouse, JAN, BOB)
    assert bob["fully_loaded_cost"] == Decimal("8000.00")  # 96,000 / 12
    assert bob["capacity_hours"] == pytest.approx(0.5 * 8 * 23)
    # March: 21 weekdays at half time, less the 8 h of time off.
    bob_mar = csm(warehouse, MAR, BOB)
    assert bob_mar["capacity_hours"] == pytest.approx(0.5 * 8 * 21 - 8)
    assert bob_mar["utilization"] == pytest.approx(2.5 / 76)

    unassigned = csm(warehouse, JAN, "unassigned")
    assert unassigned["fully_loaded_cost"] is None and unassigned["capacity_hours"] is None
    assert unassigned["arr_band"] is None

    jan, mar = team(warehouse, JAN), team(warehouse, MAR)
    assert jan["fully_loaded_cost"] == Decimal("23483.87")  # + dave, 120,000 / 12
    assert jan["cost_per_customer"] == pytest.approx(23483.87 / 7)
    # alice, bob, carol and dave (default).
    assert mar["fully_loaded_cost"] == Decimal("38000.00")
    assert mar["cost_per_customer"] == pytest.approx(38000 / 8)


def test_a_roster_only_person_without_a_book_or_hours_has_no_row(warehouse: Path) -> None:
    rows = read_rows(warehouse, "select csm_id from marts.csm_period_metrics "
                     "where csm_id = 'dana@example.com'")
    assert rows == []


def test_quarter_is_computed_from_its_own_snapshots(warehouse: Path) -> None:
    q1 = team(warehouse, JAN, "quarter")
    assert q1["period_end"] == date(2025, 4, 1)
    assert q1["starting_arr"] == Decimal("200000.00")  # Jan 1
    assert q1["total_arr"] == Decimal("362000.00")  # Apr 1
    # new: Acme, Vandelay 30,000, Gringotts 12,000; expansion: Globex, Nakatomi 20,000 -> 30,000.
    assert (q1["new_arr"], q1["reactivation_arr"], q1["expansion_arr"]) == (
        Decimal("162000.00"), Decimal("48000.00"), Decimal("22000.00"))
    assert (q1["contraction_arr"], q1["churned_arr"]) == (Decimal("10000.00"),
                                                          Decimal("60000.00"))
    assert q1["nrr"] == pytest.approx(152000 / 200000)  # 200,000 + 22,000 - 10,000 - 60,000
    months = [team(warehouse, m)["nrr"] for m in (JAN, FEB, MAR)]
    product = months[0] * months[1] * months[2]
    assert product == pytest.approx((196000 / 200000) * (268000 / 316000) * (272000 / 268000))
    assert abs(q1["nrr"] - product) > 0.03  # not the product of the months'

    alice = csm(warehouse, JAN, ALICE, "quarter")
    assert (alice["starting_arr"], alice["expansion_arr"]) == (Decimal("60000.00"),
                                                               Decimal("12000.00"))
    assert (alice["accounts_managed"], alice["arr_managed"]) == (1, Decimal("120000.00"))
    assert alice["nrr"] == pytest.approx(72000 / 60000)
    assert alice["fully_loaded_cost"] == Decimal("25333.33")  # 120,000 / 4 * 76 / 90
    bob = csm(warehouse, JAN, BOB, "quarter")
    assert bob["nrr"] == pytest.approx(40000 / 74000)
    assert bob["fully_loaded_cost"] == Decimal("24000.00")


def test_year_uses_term_start_and_currency_settings(warehouse: Path) -> None:
    year = team(warehouse, JAN, "year")
    assert year["period_end"] == date(2026, 1, 1)
    # Wayne: 48,000 over 24 months from Apr 2 = 24,000; Hooli: 1,000 EUR x 1.1 = 1,100.
    # dave's: Nakatomi 10,000, Vandelay 30,000, Gringotts 12,000 on 2026-01-01.
    assert year["total_arr"] == Decimal("297100.00")
    assert year["new_arr"] == Decimal("186000.00")  # + Vandelay, Gringotts
    # Globex 48,000, Stark, Hooli 8,900, Nakatomi 20,000 -> 10,000.
    assert year["contraction_arr"] == Decimal("76900.00")
    assert year["churned_arr"] == Decimal("60000.00")  # Initech, Oscorp
    wayne = read_rows(warehouse, """
        select movement, ending_arr, owner_at_end from marts.account_period_metrics
        where period_grain = 'year' and account_name = 'Wayne'""")
    assert wayne == [{"movement": "new", "ending_arr": Decimal("24000.00"), "owner_at_end": BOB}]


def test_account_period_metrics(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select account_name, segment, movement, owner_at_start, ownership_source_at_start,
               owner_at_end, ownership_source_at_end, starting_arr, ending_arr,
               hours_all_csms, hours_by_owner
        from marts.account_period_metrics
        where period_grain = 'month' and period_start = $m order by account_name""", {"m": FEB})
    by_name = {r.pop("account_name"): r for r in rows}
    assert set(by_name) == {"Acme", "Globex, Inc.", "Hooli", "Initech", "Stark", "Nakatomi",
                            "Oscorp"}
    assert by_name["Globex, Inc."] == {
        "segment": "mid_market", "movement": "expansion",
        "owner_at_start": ALICE, "ownership_source_at_start": "history",
        "owner_at_end": BOB, "ownership_source_at_end": "history",
        "starting_arr": Decimal("60000.00"), "ending_arr": Decimal("72000.00"),
        # alice's 2 h after midnight on Feb 1; none by bob, its owner at period end.
        "hours_all_csms": pytest.approx(2.0), "hours_by_owner": 0}
    assert by_name["Acme"]["segment"] == "enterprise"
    assert by_name["Initech"]["movement"] == "churn"
    assert by_name["Hooli"]["owner_at_end"] == "unassigned"
    umbrella = read_rows(warehouse, """
        select movement, hours_all_csms, hours_by_owner from marts.account_period_metrics
        where period_grain = 'month' and period_start = $m and account_name = 'Umbrella'""",
                         {"m": MAR})
    assert umbrella == [{"movement": "reactivation", "hours_all_csms": pytest.approx(1.0),
                         "hours_by_owner": 0}]


def test_activity_hours_and_shares(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select period_start, activity, hours, share from marts.csm_activity_hours
        where period_grain = 'month' and csm_id = $c order by all""", {"c": ALICE})
    assert [(r["period_start"], r["activity"], r["hours"], r["share"]) for r in rows] == [
        (JAN, "onboarding", pytest.approx(2.0), pytest.approx(0.5)),  # tagged onboarding
        (JAN, "other", pytest.approx(2.0), pytest.approx(0.5)),
        (FEB, "internal", pytest.approx(1.5), pytest.approx(1.5 / 3.5)),  # project Internal
        (FEB, "other", pytest.approx(2.0), pytest.approx(2.0 / 3.5)),
        (MAR, "other", pytest.approx(2.0), pytest.approx(1.0)),
    ]


def test_hours_outside_the_population_are_only_counted(warehouse: Path) -> None:
    rows = read_rows(warehouse, "select * from intermediate.int_time_entries__outside_population")
    assert rows == [{"source": "toggl", "tracker_email": "erin@example.com", "entries": 1,
                     "hours": pytest.approx(2.0)}]


def test_the_marts_asset_reports_who_is_outside_the_population(tiny_built: TinyBuild) -> None:
    """The run's count reads only the entries its build read: erin's January entry is among
    them."""
    event = tiny_built.instance.get_latest_materialization_event(
        AssetKey(["marts", "csm_period_metrics"]))
    assert event and event.asset_materialization
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    assert metadata["tracker_users_outside_population"] == 1
    assert metadata["hours_outside_population"] == pytest.approx(2.0)
