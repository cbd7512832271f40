"""The settings file: defaults without it, one clear error naming a wrong key or value."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.settings import Settings, SettingsError, load_settings, parse_settings


def test_defaults_work_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSM_METRICS_SETTINGS", raising=False)
    settings = load_settings()
    assert settings == Settings()
    assert settings.reporting_timezone == "UTC" and settings.default_term_months == 12


def test_the_sandbox_example_is_valid() -> None:
    example = Path(__file__).parents[1] / "sandbox" / "settings.toml"
    assert load_settings(example).first_month == "2024-11"


def test_a_file_is_read_and_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('reporting_timezone = "Europe/Berlin"\nreporting_currency = "eur"\n')
    monkeypatch.setenv("CSM_METRICS_SETTINGS", str(path))
    settings = load_settings()
    assert (settings.reporting_timezone, settings.reporting_currency) == ("Europe/Berlin", "EUR")


@pytest.mark.parametrize(("raw", "message"), [
    ({"reporting_timezon": "UTC"}, "unknown setting 'reporting_timezon'"),
    ({"reporting_timezone": "Mars/Olympus"}, "'reporting_timezone' must be an IANA time zone"),
    ({"default_term_months": 0}, "'default_term_months' must be a positive whole number"),
    ({"default_term_months": True}, "'default_term_months' must be a positive whole number"),
    ({"first_month": "2024-13"}, "'first_month' must be a month written YYYY-MM"),
    ({"reporting_currency": "dollars"}, "'reporting_currency' must be a three-letter"),
    ({"leave_tags": "pto"}, "'leave_tags' must be a list of strings"),
])
def test_a_wrong_key_or_value_names_it(raw: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(raw)


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not a file"):
        load_settings(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("reporting_timezone = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken)
