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
    ({"fiscal_year_start_month": 13}, "'fiscal_year_start_month' must be a month number"),
    ({"currency_rates": {"EUR": 0}}, "'currency_rates' must be a table of three-letter"),
    ({"arr_band": [2, 1]}, "'arr_band' must be a pair"),
    ({"segments": {}}, "'segments' must be a table of segment names"),
    ({"activity_keywords": {"golf": ["tee"]}}, "'activity_keywords' must be a table of "
     "activities"),
    ({"account_aliases": {"Big U": "umbrella"}}, "'account_aliases' must be a table of tracker"),
    ({"salesforce_owner_field": "CSM__c; drop"}, "'salesforce_owner_field' must be a field"),
    ({"default_fte": 3}, "'default_fte' must be a number from 0 to 1.5"),
    ({"roster": [{"name": "no e-mail"}]}, "entries each with an e-mail"),
    ({"roster": [{"email": "a@x.com", "salary": 1}]}, r"unknown \['salary'\]"),
    ({"roster": [{"email": "a@x.com", "fte": 2}]}, "an fte from 0 to 1.5 for a@x.com"),
    ({"roster": [{"email": "a@x.com", "start_date": "2025-01-01"}]}, "as a TOML date"),
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


def test_a_full_file_with_a_roster(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("""
fiscal_year_start_month = 4
salesforce_owner_field = "CSM__c"
arr_band = [500000, 1500000]

[currency_rates]
eur = 1.08

[activity_keywords]
business_review = ["qbr"]

[[roster]]
email = " Ana.Lopez@Example.com "
aliases = ["ana@old.example.com"]
annual_cost = 150000
fte = 0.8
start_date = 2025-03-01
""")
    settings = load_settings(path)
    assert settings.fiscal_year_start_month == 4
    assert settings.currency_rates == {"EUR": 1.08}
    assert settings.arr_band == (500000.0, 1500000.0)
    person = settings.roster[0]
    assert (person.email, person.aliases, person.fte) == (
        "ana.lopez@example.com", ("ana@old.example.com",), 0.8)
    assert settings.tables()["roster_aliases"] == [
        {"alias": "ana@old.example.com", "email": "ana.lopez@example.com"}]
    # A custom owner lookup is pulled, and its history is filtered by its API name.
    assert settings.extra_fields("salesforce")["accounts"] == ("CSM__c",)
    assert settings.salesforce_history_field == "CSM__c"
    assert Settings().salesforce_history_field == "Owner"


def test_extra_fields_are_pulled_per_stream() -> None:
    settings = parse_settings({"salesforce_fields": {"accounts": ["Region__c", "CSM__c"]},
                               "salesforce_owner_field": "CSM__c",
                               "hubspot_properties": {"deals": ["renewal_date"]}})
    assert settings.extra_fields("salesforce")["accounts"] == ("CSM__c", "Region__c")
    assert settings.extra_fields("hubspot")["deals"] == ("renewal_date",)
    with pytest.raises(SettingsError, match="'salesforce_fields' must be a table of streams"):
        parse_settings({"salesforce_fields": {"accounts": ["Region__c; DROP"]}})
