"""Hours split at month boundaries in a non-UTC reporting time zone, daylight saving included.

The tiny company again, reported in Europe/Berlin (UTC+1 in winter, UTC+2 from 30 March 2025):
- alice's 22:00 Jan 31 -> 02:00 Feb 1 UTC is 23:00 -> 03:00 in Berlin: 1 h in January, 3 h in
  February (in UTC it was 2 h and 2 h);
- bob's 23:30 Feb 28 -> 00:30 Mar 1 UTC is 00:30 -> 01:30 on March 1 in Berlin: all March;
- bob's 21:30 -> 23:30 Mar 31 UTC is 23:30 Mar 31 -> 01:30 Apr 1 in Berlin summer time: half
  an hour in March, 1.5 h in April.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.servers import Sandbox
from tests.conftest import point_at, read_rows, run_pipeline
from tests.session_helpers import shared_build
from tests.tiny_company import ALICE, BOB, tiny_company, tiny_settings


def build_berlin(folder: Path) -> None:
    company = tiny_company()
    (folder / "settings.toml").write_text(tiny_settings(company, "Europe/Berlin"))
    with pytest.MonkeyPatch.context() as monkeypatch, Sandbox(company) as sandbox:
        point_at(monkeypatch, sandbox, folder / "warehouse.duckdb")
        monkeypatch.setenv("CSM_METRICS_SETTINGS", str(folder / "settings.toml"))
        run_pipeline("2025-01-01", "2025-04-01", bi=False)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per session, whichever workers run this module (tests/session_helpers.py)."""
    return shared_build("berlin", build_berlin, tmp_path_factory) / "warehouse.duckdb"


def hours(warehouse: Path, csm_id: str) -> dict[date, float]:
    rows = read_rows(warehouse, "select period_start, hours_worked from marts.csm_period_metrics "
                     "where period_grain = 'month' and csm_id = $c", {"c": csm_id})
    return {r["period_start"]: r["hours_worked"] for r in rows}


def test_hours_split_at_berlin_midnight(warehouse: Path) -> None:
    alice = hours(warehouse, ALICE)
    assert alice[date(2025, 1, 1)] == pytest.approx(2 + 1)
    assert alice[date(2025, 2, 1)] == pytest.approx(3 + 1.5)
    bob = hours(warehouse, BOB)
    assert bob[date(2025, 2, 1)] == 0
    assert bob[date(2025, 3, 1)] == pytest.approx(1 + 0.5)
    assert bob[date(2025, 4, 1)] == pytest.approx(1.5)


def test_periods_start_at_local_midnight_and_arr_is_unchanged(warehouse: Path) -> None:
    team = read_rows(warehouse, "select period_start, total_arr from marts.team_period_metrics "
                     "where period_grain = 'month' order by 1")
    assert [r["total_arr"] for r in team][:3] == [
        # With dave's accounts (tests/tiny_company.py): see test_metrics_hand_computed.py.
        Decimal("316000.00"), Decimal("268000.00"), Decimal("362000.00")]
    quarters = read_rows(warehouse, "select period_start from marts.team_period_metrics "
                         "where period_grain = 'quarter' order by 1")
    assert [r["period_start"] for r in quarters] == [date(2025, 1, 1), date(2025, 4, 1)]
