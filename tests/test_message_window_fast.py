"""A one-month build reads only the inbound e-mails its periods can hold (the period window,
warehouse/marts.py), yet every e-mail it counts keeps its answer, however late, and its earliest
period (a trailing twelve months) keeps every e-mail it holds (docs/metrics.md, Engagement:
response time; docs/performance.md, Incremental marts).

The hand-made activities of test_engagement_marts.py, built for January to March 2025, plus two
inbound e-mails on Hub (bob's, a customer):

    2024-04-01 00:00  the first instant of the trailing twelve months April 2024 - March 2025,
                      answered by alice's call on Hub of 2025-01-10 15:00
    2025-03-31 10:00  answered by bob's call on 2025-04-02 10:00: 48 h

Then March alone is rebuilt as of 2025-04-01 00:00, so the answer of March 31 comes after every
period of the build has ended (the window ends at 2025-04-01 00:00, the latest end_instant).
That build's periods: March, the first quarter, the year 2025 (measured to as_of) and the
trailing twelve months starting April 2024 and May 2024 (the last ends with April 2025, the
month of as_of). Its window starts at 2024-04-01 00:00 UTC.

E-mails on an account in test_engagement_marts.py: Acme Jan 6, 8, 12 and 30 (answered), Beta
Feb 8 and 12 (answered), Gamma Jan 25 (never answered), Hub Mar 3 (0.5 h); Hub's two here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import duckdb
import pytest

from tests.test_engagement_marts import (
    ACTIVITIES,
    BOB,
    CUSTOMERS,
    HUB,
    MAR,
    NAMES,
    OWNERSHIP,
    activity,
    build,
    csm,
)
from warehouse.marts import build_month_marts, clear_entry_window, set_entry_window

pytestmark = pytest.mark.fast

WINDOW_START = datetime(2024, 4, 1, tzinfo=UTC)
AS_OF = datetime(2025, 4, 1, tzinfo=UTC)
LATE = [
    activity("hs:email:40", HUB, None, WINDOW_START, "email", inbound=True, outbound=False),
    activity("hs:email:41", HUB, None, datetime(2025, 3, 31, 10, tzinfo=UTC), "email",
             inbound=True, outbound=False),
    activity("hs:call:42", HUB, "102", datetime(2025, 4, 2, 10, tzinfo=UTC)),  # bob's
]


@pytest.fixture(scope="module")
def march() -> Iterator[duckdb.DuckDBPyConnection]:
    """January to March built, then March alone again as of April 1."""
    with duckdb.connect(":memory:") as conn:
        build(conn, [*ACTIVITIES, *LATE], OWNERSHIP, CUSTOMERS, NAMES)
        build_month_marts(conn, MAR, date(2025, 4, 1), "march", AS_OF)
        yield conn


def test_an_email_answered_after_the_build_s_periods_keeps_its_answer(
        march: duckdb.DuckDBPyConnection) -> None:
    bob = csm(march, MAR, BOB)
    # Hub's e-mails of March 3 (0.5 h) and March 31 (48 h, answered on April 2).
    assert (bob["inbound_messages"], bob["unanswered_messages"]) == (2, 0)
    assert bob["median_response_hours"] == pytest.approx((0.5 + 48) / 2)
    assert bob["responses_within_24h"] == pytest.approx(1 / 2)


def test_the_earliest_period_of_the_build_keeps_every_email_it_holds(
        march: duckdb.DuckDBPyConnection) -> None:
    # Bob's e-mails: Beta's of Feb 12 (192 h), Gamma's (never answered), Hub's of March 3
    # (0.5 h) and March 31 (48 h), and in April 2024 - March 2025 also Hub's of its first
    # instant (6,831 h: 284 days and 15 hours).
    first = csm(march, date(2024, 4, 1), BOB, "ttm")
    assert (first["inbound_messages"], first["unanswered_messages"]) == (5, 1)
    assert first["median_response_hours"] == pytest.approx((48 + 192) / 2)
    # May 2024 - April 2025, the year 2025 (to as_of) and the quarter: all but that one.
    for start, grain in ((date(2024, 5, 1), "ttm"), (date(2025, 1, 1), "year"),
                         (date(2025, 1, 1), "quarter")):
        row = csm(march, start, BOB, grain)
        assert (row["inbound_messages"], row["unanswered_messages"]) == (4, 1), grain
        assert row["median_response_hours"] == pytest.approx(48), grain


def test_a_build_reads_only_the_emails_of_its_period_window(
        march: duckdb.DuckDBPyConnection) -> None:
    every = march.execute("select count(*) from intermediate.int_inbound_messages").fetchone()
    march.execute("create or replace temp table wrk_periods as select "
                  "timestamptz '2025-03-01 00:00:00+00' as start_instant, "
                  "timestamptz '2025-04-01 00:00:00+00' as end_instant")
    set_entry_window(march)
    try:
        inside = march.execute(
            "select message_id, answer_id from intermediate.int_inbound_messages "
            "order by message_id").fetchall()
    finally:
        clear_entry_window(march)
    # March's two e-mails on Hub, each with its answer (the later one's after the window).
    assert inside == [("hs:email:41", "hs:call:42"), ("hs:email:8", "hs:email:9")]
    # Outside a build every reader sees all history again: the ten e-mails on an account.
    assert every == (10,)
    assert march.execute("select count(*) from intermediate.int_inbound_messages"
                         ).fetchone() == every
