"""Partition windows split into calendar months in the reporting time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import TimeWindow

from pipelines.partitions import month_range, month_windows, monthly_partitions
from pipelines.settings import Settings

pytestmark = pytest.mark.fast

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_range_splits_into_months_across_a_year_end_and_daylight_saving() -> None:
    window = TimeWindow(datetime(2024, 11, 1, tzinfo=BERLIN), datetime(2025, 5, 1, tzinfo=BERLIN))
    months = list(month_windows(window))
    assert [(m.start.strftime("%Y-%m-%d %H:%M%z"), m.end.strftime("%Y-%m-%d %H:%M%z"))
            for m in months][2:6] == [
        ("2025-01-01 00:00+0100", "2025-02-01 00:00+0100"),
        ("2025-02-01 00:00+0100", "2025-03-01 00:00+0100"),
        # March ends after the change to summer time: midnight stays midnight.
        ("2025-03-01 00:00+0100", "2025-04-01 00:00+0200"),
        ("2025-04-01 00:00+0200", "2025-05-01 00:00+0200"),
    ]
    assert len(months) == 6
    assert [str(d) for d in month_range(window)] == ["2024-11-01", "2025-05-01"]


def test_partitions_start_at_the_first_month_in_the_reporting_zone() -> None:
    partitions = monthly_partitions(Settings(first_month="2024-11",
                                             reporting_timezone="Europe/Berlin"))
    keys = partitions.get_partition_keys(current_time=datetime(2025, 2, 15, tzinfo=BERLIN))
    # The open month (February) is included so a daily run can refresh it.
    assert keys == ["2024-11-01", "2024-12-01", "2025-01-01", "2025-02-01"]
