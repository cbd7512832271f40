"""Monthly partitions in the reporting time zone, shared by every partitioned asset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from dagster import MonthlyPartitionsDefinition, TimeWindow

from connectors.streams import Window
from pipelines.settings import Settings


def monthly_partitions(settings: Settings) -> MonthlyPartitionsDefinition:
    # end_offset=1 includes the open month, so a daily run can refresh it.
    return MonthlyPartitionsDefinition(
        start_date=settings.first_month_start.isoformat(),
        timezone=settings.reporting_timezone,
        end_offset=1,
    )


def month_windows(window: TimeWindow) -> Iterator[Window]:
    """The months inside a (possibly multi-month) partition window, each as its own window."""
    start = window.start
    while start < window.end:
        following = _next_month(start)
        yield Window(start, following)
        start = following


def read_windows(window: TimeWindow, max_months: int | None) -> list[Window]:
    """The partition window cut into reads of at most `max_months` whole months (None: one)."""
    months = list(month_windows(window))
    if max_months is None:
        return [Window(months[0].start, months[-1].end)] if months else []
    return [Window(chunk[0].start, chunk[-1].end)
            for chunk in (months[i:i + max_months] for i in range(0, len(months), max_months))]


def onboarding_tail(window: TimeWindow, days: int, until: datetime) -> TimeWindow | None:
    """The whole months after a partition window that its accounts' onboarding windows reach
    (`days` past its end), up to the month `until` falls in: a pull of the window pulls them
    too, so an account onboarded in its last month has every onboarding hour tracked by then
    (docs/metrics.md, Onboarding). None when there is nothing after the window yet."""
    reach = min(window.end + timedelta(days=days), until)
    if reach <= window.end:
        return None
    end = window.end
    while end < reach:
        end = _next_month(end)
    return TimeWindow(window.end, end)


def month_range(window: TimeWindow) -> tuple[date, date]:
    """The window as [first month, month after the last) dates in the reporting time zone."""
    return window.start.date(), window.end.date()


def _next_month(instant: datetime) -> datetime:
    if instant.month == 12:
        year, month = instant.year + 1, 1
    else:
        year, month = instant.year, instant.month + 1
    # Rebuild from the naive wall clock so a daylight-saving change keeps midnight at midnight.
    return instant.replace(year=year, month=month, day=1, tzinfo=None).replace(
        tzinfo=instant.tzinfo)
