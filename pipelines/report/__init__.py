"""The CS leader's report: one HTML page with charts, built from the published marts.

`build_report` reads a marts database and returns the page; `write_report` writes it atomically
beside the published copy (docs/report.md). The Dagster asset is in `assets.py`; `render.py`
screenshots a page in headless chromium (`make report-check`).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from pipelines.settings import Settings
from warehouse.publishing import ForeignFile

REPORT_NAME = "report.html"
# What the pages of versions before page.GENERATOR said (the footer; the empty page).
LEGACY_MARKS = (b"Built by csm-metrics from marts.* (docs/report.md).",
                b"The marts hold no complete month yet: run the monthly job")

__all__ = ["REPORT_NAME", "build_report", "report_path", "write_report"]


def report_path(published: Path) -> Path:
    """Where the report lives for the published link `published`: beside it."""
    return published.parent / REPORT_NAME


TARGETS = ("nrr", "grr", "arr_per_csm", "customers_per_csm", "cost_to_serve")


def targets(settings: Settings) -> dict[str, float | None]:
    """The report's optional targets (settings `target_*`), None where unset."""
    return {name: getattr(settings, f"target_{name}") for name in TARGETS}


def build_report(conn: duckdb.DuckDBPyConnection, settings: Settings,
                 month: date | None = None) -> tuple[str, date | None]:
    """The page for `month` (default: the latest complete month) and the month it shows."""
    # pandas and altair are imported when a report is built, not when the code location loads
    # (docs/performance.md, Fixed costs).
    from pipelines.report.data import read_report
    from pipelines.report.page import empty_page, render_page

    data = read_report(conn, timezone=settings.reporting_timezone,
                       arr_band=tuple(settings.arr_band),
                       accounts_band=tuple(settings.accounts_band),
                       currency=settings.reporting_currency, month=month,
                       targets=targets(settings),
                       loss_fields={"salesforce": settings.salesforce_loss_reason_field,
                                    "hubspot": settings.hubspot_loss_reason_property})
    if data is None:
        return empty_page("The marts hold no complete month yet: run the monthly job for a "
                          "month that has ended."), None
    return render_page(data), data.month


def written_here(out: Path) -> bool:
    """Whether `out` is a page this deployment's report wrote: a plain file whose head carries
    the generator mark (page.GENERATOR), or a page of a version before the mark (its footer's
    or empty page's words), so an upgrade replaces its own old page."""
    from pipelines.report.page import GENERATOR

    if out.is_symlink() or not out.is_file():
        return False
    text = out.read_bytes()
    if GENERATOR.encode() in text[:4096]:
        return True
    return text.startswith(b"<!DOCTYPE html>") and any(words in text for words in LEGACY_MARKS)


def refuse_foreign(out: Path) -> None:
    """Stop before building when a file this deployment did not write holds the page's place."""
    if os.path.lexists(out) and not written_here(out):
        from pipelines.report.page import GENERATOR

        raise ForeignFile(
            f"{out} exists and was not written by this deployment's report (it has no "
            f"{GENERATOR} in its head): no report was written. Move it away, or set "
            "CSM_METRICS_PUBLISHED_PATH to a folder of its own.")


def write_report(database: Path, settings: Settings, out: Path,
                 month: date | None = None) -> date | None:
    """Build the report from the marts in `database` (opened read-only) and write it to `out`
    whole: written aside, then renamed over the old page, so a reader never sees half. A file
    at `out` that this deployment did not write is never replaced (`ForeignFile`)."""
    refuse_foreign(out)
    with duckdb.connect(str(database), read_only=True) as conn:
        html, shown = build_report(conn, settings, month)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = out.with_name(f".{out.name}.building")
    staged.write_text(html, encoding="utf-8")
    os.replace(staged, out)
    return shown
