"""The tiny company's engagement, feedback and outcomes, computed by hand from docs/metrics.md
(touchpoints and response time; NPS and CSAT; expansion sourcing, churn reasons, onboarding) and
asserted exactly, through the fakes and Dagster as test_metrics_hand_computed.py runs it.

Books (ending book = customers owned at period end; see test_metrics_hand_computed.py for ARR):

    month  alice          bob                      carol     dave                        unassigned
    Jan    Acme, Globex   Initech, Stark           -         Oscorp, Nakatomi            Hooli
    Feb    Acme           Globex, Stark            -         Nakatomi                    Hooli
    Mar    Acme           Globex, Stark            Umbrella  Nakatomi, Vandelay,         Hooli
                                                             Gringotts

dave's accounts (tests/tiny_company.py): Oscorp 36,000 a year until 2025-03-01 (churn in
February); Nakatomi 20,000 from 2024-06-01, +6,000 from 2025-01-20 (CSM-sourced), +4,000 from
2025-03-14 (web); Vandelay 30,000 from 2025-03-03 and Gringotts 12,000 from 2025-03-17 (new).

Touchpoints (UTC; x = not a touchpoint):
    alice  Jan: s01 call, s02 e-mail, s04 inbound e-mail, s05 call (Acme); s09 meeting
                (Globex); x s03 a completed to-do
           Feb: s13 inbound e-mail (Globex, 02-10 11:00, before the 12:00 handover)
           Mar: s18 call (Globex, bob's by now), s19 inbound e-mail (Acme)
    bob    Jan: s07 archived call (Initech); x s06 internal call, x s08 deleted call (Stark)
           Feb: s11 inbound e-mail, s12 e-mail, s16 all-day event (Stark); s14 inbound e-mail
                (02-10 12:00), s15 meeting (Globex)
           Mar: s20 call (Acme, alice's); x s23 an event in 2099
    carol  Mar: h03 call on Umbrella and Hooli (two touchpoints), h07 meeting left `scheduled`
                (Hooli), h08 inbound e-mail (Umbrella); x h04 on no company, x h05 no answer,
                x h06 cancelled, x h09 a meeting in 2099
    dave   Jan: h01 call (Oscorp), s10 e-mail (Nakatomi); Feb: s17 e-mail (Nakatomi), h02 call
           (Oscorp); Mar: s21 call (Nakatomi), s22 meeting (Vandelay), h10 meeting, h11 inbound
           e-mail, h13 forwarded e-mail (Gringotts); x h12 deleted e-mail
Inbound e-mails and their first outbound touchpoint on the account at or after them:
    s04 Acme 01-22 09:00 -> s05 01-22 15:00: 6 h          (alice)
    s11 Stark 02-03 10:00 -> s12 02-04 10:00: 24 h exactly (bob)
    s13 Globex 02-10 11:00 -> s15 02-12 11:00: 48 h       (alice: hers at 11:00)
    s14 Globex 02-10 12:00 -> s15 02-12 11:00: 47 h       (bob: his from 12:00)
    s19 Acme 03-05 10:00 -> s20 (bob) 03-07 16:00: 54 h   (alice)
    h11 Gringotts 03-19 08:00 -> h13 03-19 10:30: 2.5 h   (dave; the deleted h12 at 09:00 is not)
    h08 Umbrella 03-24 09:00 -> never (the 2099 meeting has not happened)  (carol)
Hours on accounts: alice 4 / 2 / 2, bob 3 / 0 / 0, dave 0 / 0 / 5.5 (Jan / Feb / Mar).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.company import vendor_id
from tests.conftest import read_rows, run_pipeline, tiny_fakes
from tests.session_helpers import shared_build
from tests.tiny_company import ALICE, BOB, CAROL, DAVE

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
UNASSIGNED = "unassigned"
ENGAGEMENT = ("touchpoints", "accounts_touched", "touch_coverage", "touchpoints_per_account",
              "hours_per_touchpoint", "inbound_messages", "median_response_hours",
              "responses_within_24h", "unanswered_messages")
FEEDBACK = ("nps_responses", "nps", "csat_responses", "csat")
OUTCOMES = ("expansion_bookings_arr", "csm_sourced_bookings_arr", "csm_sourced_won",
            "csm_sourced_lost", "csm_sourced_win_rate", "accounts_onboarded",
            "onboarding_hours_per_new_account", "median_days_to_value")
TEAM = ("touchpoints", "touch_coverage", "median_response_hours", *FEEDBACK, *OUTCOMES,
        "csm_sourced_share")

NO_FEEDBACK = {"nps_responses": 0, "nps": None, "csat_responses": 0, "csat": None}
NO_OUTCOMES = {"expansion_bookings_arr": Decimal("0.00"), "csm_sourced_bookings_arr":
               Decimal("0.00"), "csm_sourced_won": 0, "csm_sourced_lost": 0,
               "csm_sourced_win_rate": None, "accounts_onboarded": 0,
               "onboarding_hours_per_new_account": None, "median_days_to_value": None}
NO_INBOUND = {"inbound_messages": 0, "median_response_hours": None,
              "responses_within_24h": None, "unanswered_messages": 0}


def build_engagement(folder: Path) -> None:
    with tiny_fakes(folder):
        # Through April: March's new customer has onboarding hours in April, inside its 90-day
        # window, and a month's onboarding counts the hours the warehouse holds when it is built
        # (docs/metrics.md, Onboarding).
        run_pipeline("2025-01-01", "2025-04-01", bi=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session, whichever workers run this module (tests/session_helpers.py)."""
    return shared_build("tiny_engagement", build_engagement,
                        tmp_path_factory) / "warehouse.duckdb"


def _same(value: Any, expected: Any) -> bool:
    if expected is None or value is None:
        return value is expected
    if isinstance(expected, float):
        return value == pytest.approx(expected)
    return value == expected


def assert_columns(row: dict, expected: dict, label: str) -> None:
    """Every expected column at once, so a failure names each column that differs."""
    wrong = [f"{label} {column}: expected {want!r}, got {row.get(column, '<missing>')!r}"
             for column, want in expected.items()
             if column not in row or not _same(row[column], want)]
    assert not wrong, "\n".join(wrong)


def csm(warehouse: Path, period: date, csm_id: str, grain: str = "month") -> dict:
    rows = read_rows(warehouse, "select * from marts.csm_period_metrics where period_start = $m "
                     "and csm_id = $c and period_grain = $g",
                     {"m": period, "c": csm_id, "g": grain})
    assert len(rows) == 1, (period, csm_id, rows)
    return rows[0]


def team(warehouse: Path, period: date, grain: str = "month") -> dict:
    rows = read_rows(warehouse, "select * from marts.team_period_metrics where period_start = $m "
                     "and period_grain = $g", {"m": period, "g": grain})
    assert len(rows) == 1, (period, rows)
    return rows[0]


# Per person and month: docs/metrics.md (engagement, feedback, sourcing, onboarding).
EXPECTED_CSM: dict[tuple[date, str], dict] = {
    (JAN, ALICE): {
        "touchpoints": 5,  # s01, s02, s04, s05 (Acme), s09 (Globex); not the to-do s03
        "accounts_touched": 2,  # Acme, Globex
        "touch_coverage": 1.0,  # 2 / 2
        "touchpoints_per_account": 2.5,  # 5 on her ending book / 2
        "hours_per_touchpoint": 0.8,  # 4.0 h on accounts / 5
        "inbound_messages": 1,  # s04
        "median_response_hours": 6.0,  # s04 09:00 -> s05 15:00
        "responses_within_24h": 1.0,  # 1 / 1
        "unanswered_messages": 0,
        "nps_responses": 4,  # n1 10, n2 9 (Acme), n3 8, n4 6 (Globex)
        "nps": 25.0,  # 100 * (2/4 promoters - 1/4 detractors)
        "csat_responses": 0, "csat": None,
        **NO_OUTCOMES,
        "accounts_onboarded": 1,  # Acme: first revenue 2025-01-15, hers then
        # Her onboarding-tagged 2 h on Acme (Jan 6) are before its onboarding starts (Jan 15).
        "onboarding_hours_per_new_account": 0.0,  # 0 h / 1
        "median_days_to_value": None,  # Acme has no go-live date
    },
    (FEB, ALICE): {
        "touchpoints": 1,  # s13 on Globex
        "accounts_touched": 0,  # her ending book is Acme, untouched in February
        "touch_coverage": 0.0,  # 0 / 1
        "touchpoints_per_account": 0.0,  # 0 on Acme / 1
        "hours_per_touchpoint": 2.0,  # 2.0 h / 1
        "inbound_messages": 1,  # s13: Globex is hers at 11:00
        "median_response_hours": 48.0,  # s13 02-10 11:00 -> s15 02-12 11:00
        "responses_within_24h": 0.0,  # 0 / 1
        "unanswered_messages": 0,
        **NO_FEEDBACK, **NO_OUTCOMES,
    },
    (MAR, ALICE): {
        "touchpoints": 2,  # s18 (Globex), s19 (Acme)
        "accounts_touched": 1,  # Acme
        "touch_coverage": 1.0,  # 1 / 1
        "touchpoints_per_account": 1.0,  # s19 / 1 (s18 is on bob's Globex)
        "hours_per_touchpoint": 1.0,  # 2.0 h / 2
        "inbound_messages": 1,  # s19
        "median_response_hours": 54.0,  # s19 03-05 10:00 -> s20 (bob) 03-07 16:00
        "responses_within_24h": 0.0,
        "unanswered_messages": 0,
        **NO_FEEDBACK, **NO_OUTCOMES,
    },
    (JAN, BOB): {
        "touchpoints": 1,  # s07, archived; not s06 (internal) or s08 (deleted)
        "accounts_touched": 1,  # Initech
        "touch_coverage": 0.5,  # 1 / 2 (Initech, Stark)
        "touchpoints_per_account": 0.5,  # 1 / 2
        "hours_per_touchpoint": 3.0,  # 3.0 h on Initech / 1
        **NO_INBOUND,
        **NO_FEEDBACK,
        # Stark's lost d6-lost has no source: not CSM-sourced.
        **NO_OUTCOMES,
    },
    (FEB, BOB): {
        "touchpoints": 5,  # s11, s12, s16 (Stark), s14, s15 (Globex)
        "accounts_touched": 2,  # Globex, Stark
        "touch_coverage": 1.0,  # 2 / 2
        "touchpoints_per_account": 2.5,  # 5 / 2
        "hours_per_touchpoint": 0.0,  # 0 h on accounts (his half hour is unmatched) / 5
        "inbound_messages": 2,  # s11 (Stark), s14 (Globex at 12:00, his from then)
        "median_response_hours": 35.5,  # median(24, 47)
        "responses_within_24h": 0.5,  # s11 answered in exactly 24 h: within 24 h; 1 / 2
        "unanswered_messages": 0,
        "nps_responses": 2,  # n5 7 (Globex, his on 02-11), n6 0 (Stark); n9 (11) quarantined
        "nps": -50.0,  # 100 * (0/2 - 1/2)
        "csat_responses": 2,  # n7 4 (Stark), n8 3 (Initech)
        "csat": 0.5,  # 4 is at the threshold, 3 below: 1 / 2
        **NO_OUTCOMES,
        # d2-up: Globex is a customer on 02-20 from d2, and bob's then (since 02-10 12:00).
        # Stark's d6-renewal starts 02-01, the instant d6 ends: a new booking, not expansion.
        "expansion_bookings_arr": Decimal("12000.00"),
    },
    (MAR, BOB): {
        "touchpoints": 1,  # s20 on Acme; s23 (2099) has not happened
        "accounts_touched": 0,  # Globex, Stark untouched in March
        "touch_coverage": 0.0,
        "touchpoints_per_account": 0.0,  # 0 / 2
        "hours_per_touchpoint": 0.0,  # 0 h on accounts / 1
        **NO_INBOUND, **NO_FEEDBACK, **NO_OUTCOMES,
    },
    (MAR, CAROL): {
        "touchpoints": 4,  # h03 on Umbrella and on Hooli, h07 (Hooli), h08 (Umbrella)
        "accounts_touched": 1,  # Umbrella
        "touch_coverage": 1.0,
        "touchpoints_per_account": 2.0,  # h03, h08 on Umbrella / 1
        "hours_per_touchpoint": 0.0,  # 0 h / 4
        "inbound_messages": 1,  # h08
        "median_response_hours": None,  # none answered
        "responses_within_24h": 0.0,  # 0 / 1
        "unanswered_messages": 1,
        "nps_responses": 1,  # n10 9, through contact c1 (Umbrella); the CES n13 is ignored
        "nps": 100.0,
        "csat_responses": 0, "csat": None,
        **NO_OUTCOMES,
        # d4-back is a new booking (Umbrella is no customer on 03-05 from d4-old); d4-lost has
        # source "csm" (any case).
        "csm_sourced_lost": 1,
        "csm_sourced_win_rate": 0.0,  # 0 / (0 + 1)
    },
    (JAN, DAVE): {
        "touchpoints": 2,  # h01 (Oscorp), s10 (Nakatomi)
        "accounts_touched": 2,
        "touch_coverage": 1.0,  # 2 / 2
        "touchpoints_per_account": 1.0,  # 2 / 2
        "hours_per_touchpoint": 0.0,  # no hours before March
        **NO_INBOUND, **NO_FEEDBACK, **NO_OUTCOMES,
        # d21-up: Nakatomi is a customer on 01-20 from d21; source "Customer Success".
        "expansion_bookings_arr": Decimal("6000.00"),
        "csm_sourced_bookings_arr": Decimal("6000.00"),
        "csm_sourced_won": 1,
        "csm_sourced_win_rate": 1.0,  # 1 / (1 + 0)
    },
    (FEB, DAVE): {
        "touchpoints": 2,  # s17 (Nakatomi), h02 (Oscorp)
        "accounts_touched": 1,  # Nakatomi; Oscorp is not in his ending book (0 on 03-01)
        "touch_coverage": 1.0,  # 1 / 1
        "touchpoints_per_account": 1.0,  # s17 / 1
        "hours_per_touchpoint": 0.0,
        **NO_INBOUND, **NO_FEEDBACK,
        **NO_OUTCOMES,  # d20-lost has no source
    },
    (MAR, DAVE): {
        "touchpoints": 5,  # s21, s22, h10, h11, h13; not the deleted h12
        "accounts_touched": 3,  # Nakatomi, Vandelay, Gringotts
        "touch_coverage": 1.0,  # 3 / 3
        "touchpoints_per_account": 5 / 3,
        "hours_per_touchpoint": 1.1,  # (3 + 1 + 1.5) h on Vandelay and Gringotts / 5
        "inbound_messages": 1,  # h11
        "median_response_hours": 2.5,  # h11 08:00 -> h13 10:30
        "responses_within_24h": 1.0,
        "unanswered_messages": 0,
        "nps_responses": 0, "nps": None,
        "csat_responses": 1,  # n11 5, through contact c2, whose primary company is Gringotts
        "csat": 1.0,
        "expansion_bookings_arr": Decimal("4000.00"),  # d21-web
        "csm_sourced_bookings_arr": Decimal("0.00"),  # d21-web is "Web"; d23 is a new booking
        "csm_sourced_won": 1,  # d23 (CSM)
        "csm_sourced_lost": 1,  # d21-lost ("customer success")
        "csm_sourced_win_rate": 0.5,  # 1 / (1 + 1)
        "accounts_onboarded": 2,  # Vandelay (03-03), Gringotts (03-17)
        # Vandelay: h1 3 h + h3 2 h (h2 is not onboarding, h4 is day 99); Gringotts: h5 1.5 h
        # (h6 is day 106): (5 + 1.5) / 2. h3 is on 04-08, day 36: inside the window though
        # after the months this run builds, so a run of January-March must still count it.
        "onboarding_hours_per_new_account": 3.25,
        # Vandelay 03-03 -> 04-14 = 42 days, Gringotts 03-17 -> 03-31 = 14: median 28.
        "median_days_to_value": 28.0,
    },
}
for _month in (JAN, FEB, MAR):
    EXPECTED_CSM[(_month, UNASSIGNED)] = {
        # Nobody's activities are unassigned's; Hooli is its only account.
        "touchpoints": 0, "accounts_touched": 0, "touch_coverage": 0.0,  # 0 / 1
        "touchpoints_per_account": 0.0, "hours_per_touchpoint": None,  # 0 touchpoints
        **NO_INBOUND, **NO_FEEDBACK, **NO_OUTCOMES,
    }
# n12 8 on Hooli (a passive): 100 * (0 - 0) = 0.
EXPECTED_CSM[(MAR, UNASSIGNED)].update(nps_responses=1, nps=0.0)


@pytest.mark.parametrize(("period", "csm_id"), sorted(EXPECTED_CSM), ids=str)
def test_csm_month_engagement_feedback_and_outcomes(warehouse: Path, period: date,
                                                    csm_id: str) -> None:
    expected = EXPECTED_CSM[(period, csm_id)]
    assert set(expected) == {*ENGAGEMENT, *FEEDBACK, *OUTCOMES}
    assert_columns(csm(warehouse, period, csm_id), expected, f"{period} {csm_id}")


EXPECTED_TEAM: dict[tuple[str, date], dict] = {
    ("month", JAN): {
        "touchpoints": 8,  # alice 5 + bob 1 + dave 2
        # Customers on 02-01: Acme, Globex, Initech, Stark, Hooli, Oscorp, Nakatomi; all but
        # Stark and Hooli touched.
        "touch_coverage": 5 / 7,
        "median_response_hours": 6.0,  # s04 only
        "nps_responses": 4, "nps": 25.0, "csat_responses": 0, "csat": None,
        "expansion_bookings_arr": Decimal("6000.00"), "csm_sourced_bookings_arr":
            Decimal("6000.00"),
        "csm_sourced_won": 1, "csm_sourced_lost": 0, "csm_sourced_win_rate": 1.0,
        "csm_sourced_share": 1.0,  # 6,000 / 6,000
        "accounts_onboarded": 1, "onboarding_hours_per_new_account": 0.0,
        "median_days_to_value": None,
    },
    ("month", FEB): {
        "touchpoints": 8,  # alice 1 + bob 5 + dave 2
        # Customers on 03-01: Acme, Globex, Stark, Hooli, Nakatomi; Globex, Stark, Nakatomi
        # touched.
        "touch_coverage": 3 / 5,
        "median_response_hours": 47.0,  # median(24, 47, 48)
        "nps_responses": 2, "nps": -50.0, "csat_responses": 2, "csat": 0.5,
        **NO_OUTCOMES,
        "expansion_bookings_arr": Decimal("12000.00"),  # d2-up
        "csm_sourced_share": 0.0,  # 0 / 12,000
    },
    ("month", MAR): {
        "touchpoints": 12,  # alice 2 + bob 1 + carol 4 + dave 5
        # Customers on 04-01: Acme, Globex, Stark, Umbrella, Hooli, Nakatomi, Vandelay,
        # Gringotts; all but Stark touched.
        "touch_coverage": 7 / 8,
        "median_response_hours": 28.25,  # median(2.5, 54); h08 is unanswered
        "nps_responses": 2,  # n10 9 (Umbrella), n12 8 (Hooli)
        "nps": 50.0,  # 100 * (1/2 - 0)
        "csat_responses": 1, "csat": 1.0,  # n11 5
        "expansion_bookings_arr": Decimal("4000.00"), "csm_sourced_bookings_arr":
            Decimal("0.00"),
        "csm_sourced_won": 1,  # d23
        "csm_sourced_lost": 2,  # d4-lost, d21-lost
        "csm_sourced_win_rate": 1 / 3,
        "csm_sourced_share": 0.0,  # 0 / 4,000
        "accounts_onboarded": 2, "onboarding_hours_per_new_account": 3.25,
        "median_days_to_value": 28.0,
    },
    # The quarter from its own instants, not from the months' ratios.
    ("quarter", JAN): {
        "touchpoints": 28,  # 8 + 8 + 12
        # Customers on 04-01 (the 8 above), each touched at some time in the quarter (Stark in
        # February): 8 / 8, where the months had 5/7, 3/5, 7/8.
        "touch_coverage": 1.0,
        "median_response_hours": 35.5,  # median(2.5, 6, 24, 47, 48, 54) = (24 + 47) / 2
        "nps_responses": 8,  # 10, 9, 8, 6, 7, 0, 9, 8
        "nps": 12.5,  # 100 * (3/8 promoters - 2/8 detractors)
        "csat_responses": 3,  # 4, 3, 5
        "csat": 2 / 3,
        "expansion_bookings_arr": Decimal("22000.00"),  # 6,000 + 12,000 + 4,000
        "csm_sourced_bookings_arr": Decimal("6000.00"),
        "csm_sourced_won": 2, "csm_sourced_lost": 2, "csm_sourced_win_rate": 0.5,
        "csm_sourced_share": 6000 / 22000,
        "accounts_onboarded": 3,  # Acme, Vandelay, Gringotts
        "onboarding_hours_per_new_account": 6.5 / 3,  # (0 + 5 + 1.5) / 3
        "median_days_to_value": 28.0,  # median(42, 14); Acme has no go-live date
    },
}


@pytest.mark.parametrize(("grain", "period"), sorted(EXPECTED_TEAM), ids=str)
def test_team_engagement_feedback_and_outcomes(warehouse: Path, grain: str,
                                               period: date) -> None:
    expected = EXPECTED_TEAM[(grain, period)]
    assert set(expected) == set(TEAM)
    assert_columns(team(warehouse, period, grain), expected, f"{grain} {period} team")


def test_team_touchpoints_are_the_sum_of_people(warehouse: Path) -> None:
    for month in (JAN, FEB, MAR):
        people = [row for (m, _), row in EXPECTED_CSM.items() if m == month]
        assert sum(r["touchpoints"] for r in people) == EXPECTED_TEAM[("month", month)][
            "touchpoints"]
        assert team(warehouse, month)["touchpoints"] == sum(
            r["touchpoints"] for r in read_rows(
                warehouse, "select touchpoints from marts.csm_period_metrics where "
                "period_grain = 'month' and period_start = $m", {"m": month}))


def test_bob_quarter_from_its_own_instants(warehouse: Path) -> None:
    assert_columns(csm(warehouse, JAN, BOB, "quarter"), {
        "touchpoints": 7,  # 1 + 5 + 1
        "accounts_touched": 2,  # his book on 04-01: Globex, Stark, both touched in February
        "touch_coverage": 1.0,
        "touchpoints_per_account": 2.5,  # s11, s12, s14, s15, s16 / 2 (s07, s20 elsewhere)
        "hours_per_touchpoint": 3 / 7,  # 3 h on accounts / 7
        "inbound_messages": 2, "median_response_hours": 35.5, "responses_within_24h": 0.5,
        "unanswered_messages": 0,
        "nps_responses": 2, "nps": -50.0, "csat_responses": 2, "csat": 0.5,
        **NO_OUTCOMES, "expansion_bookings_arr": Decimal("12000.00"),
    }, "Q1 bob")
    assert_columns(csm(warehouse, JAN, ALICE, "quarter"), {
        "touchpoints": 8,  # 5 + 1 + 2
        "accounts_touched": 1, "touch_coverage": 1.0,  # Acme, her book on 04-01
        "touchpoints_per_account": 5.0,  # s01, s02, s04, s05, s19 on Acme / 1
        "hours_per_touchpoint": 1.0,  # (4 + 2 + 2) h / 8
        "inbound_messages": 3,  # s04, s13, s19
        "median_response_hours": 48.0,  # median(6, 48, 54)
        "responses_within_24h": 1 / 3, "unanswered_messages": 0,
        "nps_responses": 4, "nps": 25.0,
        "accounts_onboarded": 1, "onboarding_hours_per_new_account": 0.0,
    }, "Q1 alice")


def _at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


# (month, account) -> touchpoints, last_touch_at, days_since_last_touch, nps_responses, nps,
# csat_responses, csat. days = (period_end - last_touch_at) in days.
EXPECTED_ACCOUNTS: dict[tuple[date, str], tuple] = {
    (JAN, "Acme"): (4, _at(1, 22, 15), 9 + 9 / 24, 2, 100.0, 0, None),  # s01 s02 s04 s05
    (JAN, "Globex, Inc."): (1, _at(1, 28, 15), 3 + 9 / 24, 2, -50.0, 0, None),  # n3 8, n4 6
    (JAN, "Initech"): (1, _at(1, 8, 14), 23 + 10 / 24, 0, None, 0, None),  # archived s07
    (JAN, "Stark"): (0, None, None, 0, None, 0, None),  # internal and deleted calls only
    (JAN, "Hooli"): (0, None, None, 0, None, 0, None),
    (JAN, "Oscorp"): (1, _at(1, 13, 10), 18 + 14 / 24, 0, None, 0, None),
    (JAN, "Nakatomi"): (1, _at(1, 27, 10), 4 + 14 / 24, 0, None, 0, None),
    # February: last touches from January too.
    (FEB, "Acme"): (0, _at(1, 22, 15), 37 + 9 / 24, 0, None, 0, None),
    (FEB, "Globex, Inc."): (3, _at(2, 12, 11), 16 + 13 / 24, 1, 0.0, 0, None),  # n5 7
    (FEB, "Initech"): (0, _at(1, 8, 14), 51 + 10 / 24, 0, None, 1, 0.0),  # n8 3
    (FEB, "Stark"): (3, _at(2, 14), 15.0, 1, -100.0, 1, 1.0),  # all-day s16; n6 0, n7 4
    (FEB, "Hooli"): (0, None, None, 0, None, 0, None),
    (FEB, "Oscorp"): (1, _at(2, 20, 10), 8 + 14 / 24, 0, None, 0, None),
    (FEB, "Nakatomi"): (1, _at(2, 11, 10), 17 + 14 / 24, 0, None, 0, None),
    (MAR, "Acme"): (2, _at(3, 7, 16), 24 + 8 / 24, 0, None, 0, None),  # s19, s20
    (MAR, "Globex, Inc."): (1, _at(3, 3, 9, 30), 28 + 14.5 / 24, 0, None, 0, None),
    (MAR, "Stark"): (0, _at(2, 14), 46.0, 0, None, 0, None),  # not the 2099 event
    (MAR, "Umbrella"): (2, _at(3, 24, 9), 7 + 15 / 24, 1, 100.0, 0, None),  # h03, h08; n10
    (MAR, "Hooli"): (2, _at(3, 12, 10), 19 + 14 / 24, 1, 0.0, 0, None),  # h03, h07; n12 8
    (MAR, "Nakatomi"): (1, _at(3, 17, 10), 14 + 14 / 24, 0, None, 0, None),
    (MAR, "Vandelay"): (1, _at(3, 4, 14), 27 + 10 / 24, 0, None, 0, None),
    (MAR, "Gringotts"): (3, _at(3, 19, 10, 30), 12 + 13.5 / 24, 0, None, 1, 1.0),  # n11 5
}


def test_account_touchpoints_last_touch_and_feedback(warehouse: Path) -> None:
    rows = read_rows(warehouse, """
        select period_start, account_name, touchpoints, last_touch_at, days_since_last_touch,
               nps_responses, nps, csat_responses, csat
        from marts.account_period_metrics
        where period_grain = 'month' and period_start < date '2025-04-01'""")
    got = {(r["period_start"], r["account_name"]): r for r in rows}
    assert set(got) == set(EXPECTED_ACCOUNTS)
    names = ("touchpoints", "last_touch_at", "days_since_last_touch", "nps_responses", "nps",
             "csat_responses", "csat")
    for key, values in EXPECTED_ACCOUNTS.items():
        row = dict(got[key])
        if row["last_touch_at"] is not None:
            row["last_touch_at"] = row["last_touch_at"].astimezone(UTC)
        assert_columns(row, dict(zip(names, values, strict=True)), f"{key[0]} {key[1]}")


# (grain, period_start, movement, reason lower-cased) -> accounts, arr, share_of_accounts,
# share_of_arr, rank_by_arr. Windows open 120 days before the period: 2024-09-03 for January,
# the quarter and the year; 2024-10-04 for February.
EXPECTED_REASONS: dict[tuple[str, date, str, str], tuple] = {
    # Stark 50,000 -> 40,000: d6-lost "Price" (01-10); d6-lost-late (02-15) is after January.
    ("month", JAN, "contraction", "price"): (1, Decimal("10000.00"), 1.0, 1.0, 1),
    # Oscorp 36,000 ("  budget ", 02-05); Initech 24,000: its only loss (2024-09-20) is before
    # February's window, so `unknown`.
    ("month", FEB, "churn", "budget"): (1, Decimal("36000.00"), 0.5, 0.6, 1),
    ("month", FEB, "churn", "unknown"): (1, Decimal("24000.00"), 0.5, 0.4, 2),
    # The quarter: Stark's latest loss in [2024-09-03, 2025-04-01) is "Competitor" (02-15);
    # Initech's "Budget" is inside the window now, the same reason as Oscorp's "  budget ".
    ("quarter", JAN, "contraction", "competitor"): (1, Decimal("10000.00"), 1.0, 1.0, 1),
    ("quarter", JAN, "churn", "budget"): (2, Decimal("60000.00"), 1.0, 1.0, 1),
    # The year (2025-01-01 -> 2026-01-01): contractions Globex 48,000 and Hooli 8,900 with no
    # loss (`unknown`), Stark 10,000 ("Competitor") and Nakatomi 20,000 -> 10,000 (d21-lost
    # "Competitor ", 03-10); churns Initech and Oscorp.
    ("year", JAN, "contraction", "unknown"): (2, Decimal("56900.00"), 0.5, 56900 / 76900, 1),
    ("year", JAN, "contraction", "competitor"): (2, Decimal("20000.00"), 0.5, 20000 / 76900, 2),
    ("year", JAN, "churn", "budget"): (2, Decimal("60000.00"), 1.0, 1.0, 1),
}


def test_churn_reasons_pareto(warehouse: Path) -> None:
    # The first quarter's months, the quarter and the year (April is built for its hours only).
    rows = read_rows(warehouse, "select * from marts.churn_reasons "
                                "where period_start < date '2025-04-01' "
                                "and period_grain <> 'ttm'")  # ttm: test_periods.py
    # Reasons are compared trimmed and case-insensitively (docs/metrics.md); which spelling
    # names a folded group is not specified, so compare lower-cased.
    got = {(r["period_grain"], r["period_start"], r["movement"], r["reason"].strip().lower()): r
           for r in rows}
    assert len(got) == len(rows), "one row per (period, movement, reason) after folding"
    assert set(got) == set(EXPECTED_REASONS)
    names = ("accounts", "arr", "share_of_accounts", "share_of_arr", "rank_by_arr")
    for key, values in EXPECTED_REASONS.items():
        assert_columns(got[key], dict(zip(names, values, strict=True)), str(key))


def test_an_nps_of_eleven_is_quarantined(warehouse: Path) -> None:
    record_id = f"sf:{vendor_id('sf_feedback', 'n9')}"
    rows = read_rows(warehouse, "select source, stream, record_id, reason from marts.quarantine "
                     "where stream not in ('deals', 'time_entries')")
    assert [(r["source"], r["record_id"]) for r in rows] == [("salesforce", record_id)]
    assert rows[0]["reason"]  # the CES response (n13) is ignored, not quarantined


def test_activities_not_yet_started_are_not_touchpoints(warehouse: Path) -> None:
    """s23 and h09 are in 2099: pulled before they start (docs/metrics.md, touchpoints)."""
    for source in ("salesforce", "hubspot"):
        rows = read_rows(warehouse, f"select is_touchpoint, is_outbound from "
                         f"intermediate.int_activities__{source} "
                         f"where occurred_at >= timestamptz '2099-01-01 00:00:00+00'")
        assert rows == [{"is_touchpoint": False, "is_outbound": False}], source
