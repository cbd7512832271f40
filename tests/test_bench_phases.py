"""The benchmark's marts rebuild reads the settings the benchmarked pipeline ran with (the file
beside its warehouse), not the defaults: a rebuild under other settings measures other marts."""

from __future__ import annotations

import subprocess
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


def test_provenance_leaves_out_the_benchmark_records(tmp_path: Path) -> None:
    """A phase re-run after another (`--phase marts`, then `--phase refresh`) finds the record
    the first one wrote edited: that is no change to the code measured; a code change is."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                       cwd=tmp_path, check=True, capture_output=True)
    record = tmp_path / "data" / "bench" / "results-1.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "start")
    record.write_text('{"marts": {}}\n')
    assert provenance(tmp_path)["uncommitted_changes"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance(tmp_path)["uncommitted_changes"] is True
