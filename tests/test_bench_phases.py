"""The benchmark's marts rebuild reads the settings the benchmarked pipeline ran with (the file
beside its warehouse), not the defaults: a rebuild under other settings measures other marts."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import provenance, rebuild_marts
from benchmarks.company import Scale


def test_marts_rebuild_reads_the_settings_beside_the_warehouse(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSM_METRICS_SETTINGS", raising=False)
    (tmp_path / "settings.toml").write_text('first_month = "not a month"\n')
    with pytest.raises(SystemExit, match="rebuilding the marts failed"):
        rebuild_marts(tmp_path / "warehouse.duckdb", Scale(0.001))
    # The failure is the settings file's, so the rebuild read it.
    assert "first_month" in capsys.readouterr().err


def test_provenance_names_the_code_measured() -> None:
    found = provenance()
    assert found["commit"] and len(found["commit"]) >= 7
    assert isinstance(found["uncommitted_changes"], bool)
    assert found["measured_at"].endswith("Z")
