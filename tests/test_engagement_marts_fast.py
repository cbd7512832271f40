"""Touchpoints and response time on small hand-made inputs in in-memory DuckDB (the fast
tier); the Dagster run is in test_engagement_marts.py.
"""

from __future__ import annotations

import duckdb
import pytest

from tests import test_engagement_marts
from tests.test_engagement_marts import (
    ACME,
    ALICE,
    BOB,
    DELTA,
    EVE,
    FEB,
    GAMMA,
    HUB,
    HUB_TWO,
    JAN,
    MAR,
    account,
    at,
    csm,
    team,
)

pytestmark = pytest.mark.fast
marts = test_engagement_marts.marts  # the fixture, shared with test_engagement_marts.py
ownerless = test_engagement_marts.ownerless  # the fixture, shared with test_engagement_marts.py


def test_touchpoints_of_a_person_and_their_book(marts: duckdb.DuckDBPyConnection) -> None:
    alice = csm(marts, JAN, ALICE)
    # The two-company call twice, the call on Delta, the call on Acme. Eve's call, the unknown
    # owner's, the deleted one, the to-do and the ones with no account or instant count nowhere.
    assert alice["touchpoints"] == 4
    # Ending book on Feb 1: Acme, Beta, HubTwo. Touched: HubTwo and Acme; Hub is bob's and Delta
    # no customer, so their touches are in touchpoints only.
    assert alice["accounts_managed"] == 3
    assert alice["accounts_touched"] == 2
    assert alice["touch_coverage"] == pytest.approx(2 / 3)
    assert alice["touchpoints_per_account"] == pytest.approx(2 / 3)  # HubTwo's + Acme's
    assert alice["hours_per_touchpoint"] == pytest.approx(6 / 4)

    bob = csm(marts, JAN, BOB)
    assert (bob["touchpoints"], bob["accounts_touched"], bob["accounts_managed"]) == (0, 0, 2)
    assert bob["touch_coverage"] == 0 and bob["touchpoints_per_account"] == 0
    assert bob["hours_per_touchpoint"] is None

    # February: Beta moved to bob on Feb 10, and bob touched it.
    alice_feb, bob_feb = csm(marts, FEB, ALICE), csm(marts, FEB, BOB)
    assert (alice_feb["touchpoints"], alice_feb["accounts_touched"],
            alice_feb["accounts_managed"]) == (1, 1, 2)
    assert (bob_feb["touchpoints"], bob_feb["accounts_touched"],
            bob_feb["accounts_managed"]) == (1, 1, 3)
    assert bob_feb["touch_coverage"] == pytest.approx(1 / 3)

    # Eve owns nothing: no row for her, though she made a call.
    rows = marts.execute("select count(*) from marts.csm_period_metrics where csm_id = $c",
                         {"c": EVE}).fetchone()
    assert rows == (0,)


def test_response_times_and_the_24_hour_share(marts: duckdb.DuckDBPyConnection) -> None:
    alice = csm(marts, JAN, ALICE)
    # Acme's four January e-mails: 2 h, 24 h, 30 h and 72 h (answered in February, counted in
    # January, where it arrived). The median of an even count is the mean of the middle two.
    assert alice["inbound_messages"] == 4
    assert alice["median_response_hours"] == pytest.approx((24 + 30) / 2)
    assert alice["responses_within_24h"] == pytest.approx(2 / 4)  # 24 h exactly is within
    assert alice["unanswered_messages"] == 0

    bob = csm(marts, JAN, BOB)  # Gamma's e-mail: the deleted reply answers nothing
    assert (bob["inbound_messages"], bob["unanswered_messages"]) == (1, 1)
    assert bob["median_response_hours"] is None
    assert bob["responses_within_24h"] == 0

    # Beta's February e-mails, both answered by bob's call on Feb 20: the one that arrived on
    # Feb 8 is alice's (she owned Beta then), the one of Feb 12 bob's.
    alice_feb, bob_feb = csm(marts, FEB, ALICE), csm(marts, FEB, BOB)
    assert (alice_feb["inbound_messages"], alice_feb["median_response_hours"]) == (1, 288)
    assert (bob_feb["inbound_messages"], bob_feb["median_response_hours"]) == (1, 192)
    assert alice_feb["responses_within_24h"] == 0

    bob_mar = csm(marts, MAR, BOB)  # a HubSpot e-mail answered in half an hour
    assert (bob_mar["inbound_messages"], bob_mar["median_response_hours"],
            bob_mar["responses_within_24h"]) == (1, 0.5, 1.0)
    assert bob_mar["touchpoints"] == 1  # his reply; the inbound e-mail is nobody's touchpoint


def test_the_quarter_is_computed_from_its_own_instants(
        marts: duckdb.DuckDBPyConnection) -> None:
    alice = csm(marts, JAN, ALICE, "quarter")
    assert alice["touchpoints"] == 5
    # Ending book on Apr 1: Acme and HubTwo, both touched in the quarter.
    assert (alice["accounts_managed"], alice["accounts_touched"]) == (2, 2)
    assert alice["touch_coverage"] == 1.0
    assert alice["touchpoints_per_account"] == pytest.approx(3 / 2)
    # 2, 24, 30, 72, 288 h: the median is 30, not a mean of the months' medians (27 and 288).
    assert alice["inbound_messages"] == 5
    assert alice["median_response_hours"] == pytest.approx(30)
    assert alice["responses_within_24h"] == pytest.approx(2 / 5)

    bob = csm(marts, JAN, BOB, "quarter")
    assert (bob["touchpoints"], bob["accounts_touched"], bob["accounts_managed"]) == (2, 2, 3)
    assert bob["median_response_hours"] == pytest.approx((0.5 + 192) / 2)
    assert (bob["inbound_messages"], bob["unanswered_messages"]) == (3, 1)


def test_team_touchpoints_coverage_and_response_time(marts: duckdb.DuckDBPyConnection) -> None:
    jan = team(marts, JAN)
    assert jan["touchpoints"] == 4
    assert jan["touch_coverage"] == pytest.approx(3 / 5)  # Hub, HubTwo, Acme of five customers
    assert jan["median_response_hours"] == pytest.approx(27)  # Gamma's unanswered one left out
    feb, mar = team(marts, FEB), team(marts, MAR)
    assert (feb["touchpoints"], feb["median_response_hours"]) == (2, 240)
    assert feb["touch_coverage"] == pytest.approx(2 / 5)
    assert (mar["touchpoints"], mar["median_response_hours"]) == (1, 0.5)
    quarter = team(marts, JAN, "quarter")
    assert quarter["touchpoints"] == 7
    assert quarter["touch_coverage"] == pytest.approx(4 / 5)
    assert quarter["median_response_hours"] == pytest.approx(30)  # 0.5 2 24 30 72 192 288
    sums = marts.execute("""
        select t.period_grain, t.period_start, t.touchpoints, sum(c.touchpoints)
        from marts.team_period_metrics t
        join marts.csm_period_metrics c using (period_grain, period_start)
        group by all having t.touchpoints <> sum(c.touchpoints)""").fetchall()
    assert sums == []


def test_accounts_touchpoints_and_last_touch(marts: duckdb.DuckDBPyConnection) -> None:
    assert account(marts, JAN, HUB)["touchpoints"] == 1  # the two-company call, once each
    assert account(marts, JAN, HUB_TWO)["touchpoints"] == 1
    hub = account(marts, JAN, HUB)
    assert hub["last_touch_at"] == at(1, 10, 15)
    assert hub["days_since_last_touch"] == pytest.approx(21 + 9 / 24)  # to Feb 1 00:00
    hub_feb = account(marts, FEB, HUB)  # untouched in February: the January touch still counts
    assert hub_feb["touchpoints"] == 0 and hub_feb["last_touch_at"] == at(1, 10, 15)
    assert hub_feb["days_since_last_touch"] == pytest.approx(21 + 9 / 24 + 28)
    hub_mar = account(marts, MAR, HUB)
    assert hub_mar["last_touch_at"] == at(3, 3, 10, 30)
    assert hub_mar["days_since_last_touch"] == pytest.approx(28 + 13.5 / 24)
    assert account(marts, JAN, HUB, "quarter")["touchpoints"] == 2

    gamma = account(marts, MAR, GAMMA)  # never touched
    assert (gamma["touchpoints"], gamma["last_touch_at"], gamma["days_since_last_touch"]) == (
        0, None, None)
    # Delta is no customer and has no hours: it has a row only in the month it was touched.
    assert account(marts, JAN, DELTA)["touchpoints"] == 1
    assert marts.execute("select count(*) from marts.account_period_metrics "
                         "where account_id = $a and period_grain = 'month'",
                         {"a": DELTA}).fetchone() == (1,)
    assert account(marts, JAN, ACME)["touchpoints"] == 1  # alice's; eve's and the rest not


def test_unusable_activities_are_counted_with_their_reason(
        marts: duckdb.DuckDBPyConnection) -> None:
    rows = marts.execute("select activity_id, counts_as, reason "
                         "from intermediate.int_touchpoints__unusable order by all").fetchall()
    assert rows == [
        ("hs:email:10", "inbound_message", "no_account"),
        ("sf:00T-eve", "touchpoint", "outside_population"),
        ("sf:00T-no-account", "touchpoint", "no_account"),
        ("sf:00T-no-instant", "touchpoint", "no_instant"),
        ("sf:00T-nobody", "touchpoint", "no_person"),
    ]


def test_outcome_columns_are_zero_or_null_without_outcomes(
        marts: duckdb.DuckDBPyConnection) -> None:
    alice = csm(marts, JAN, ALICE)
    assert (alice["nps_responses"], alice["nps"], alice["csat_responses"], alice["csat"]) == (
        0, None, 0, None)
    assert alice["expansion_bookings_arr"] == 0 and alice["csm_sourced_win_rate"] is None
    assert team(marts, JAN)["csm_sourced_share"] is None
    assert account(marts, JAN, ACME)["nps"] is None


def test_an_ownerless_email_answers_nothing_but_an_email_message_does(
        ownerless: duckdb.DuckDBPyConnection) -> None:
    answers = ownerless.execute("select message_id, answer_id, response_hours "
                                "from intermediate.int_inbound_messages order by all").fetchall()
    assert answers == [
        ("hs:email:31", "hs:email:33", 3.0),  # not hs:email:32, which has no owner
        ("sf:02sZ1", "sf:00T-z-alice", 3.0),  # not the task of an unknown user
        ("sf:02sZ2", "sf:02sZ2r", 1.0),  # an EmailMessage with no person answers
    ]
    alice, bob = csm(ownerless, JAN, ALICE), csm(ownerless, JAN, BOB)
    assert (alice["inbound_messages"], alice["median_response_hours"]) == (2, 2.0)  # 3 h, 1 h
    assert (bob["inbound_messages"], bob["median_response_hours"]) == (1, 3.0)
    assert team(ownerless, JAN)["median_response_hours"] == 3.0  # 1, 3, 3
