"""The settings file: defaults without it, one clear error naming a wrong key or value."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.settings import Settings, SettingsError, load_settings, parse_settings

pytestmark = pytest.mark.fast


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
    ({"leave_tags": "pto"}, "'leave_tags' must be a list of non-blank strings"),
    ({"fiscal_year_start_month": 13}, "'fiscal_year_start_month' must be a month number"),
    ({"currency_rates": {"EUR": 0}}, "'currency_rates' must be a table of three-letter"),
    ({"arr_band": [2, 1]}, "'arr_band' must be a pair"),
    ({"segments": {}}, "'segments' must be a table of segment names"),
    ({"activity_keywords": {"golf": ["tee"]}}, "'activity_keywords' must be a table of "
     "activities"),
    ({"account_aliases": {"Big U": "umbrella"}}, "'account_aliases' must be a table of tracker"),
    ({"salesforce_owner_field": "CSM__c; drop"}, "'salesforce_owner_field' must be a field"),
    ({"default_fte": 3}, "'default_fte' must be a number from 0 to 1.5"),
    ({"roster": [{"name": "no e-mail"}]},
     r"'roster\[0\]\.email' must be an e-mail address \(each \[\[roster\]\] entry has one\), "
     "but it is missing"),
    ({"roster": [{"email": "a@x.com", "salary": 1}]}, r"unknown setting 'roster\[0\]\.salary'"),
    ({"roster": [{"email": "a@x.com", "fte": 2}]},
     r"'roster\[0\]\.fte' must be a number from 0 to 1.5, got 2 \(the entry for a@x.com\)"),
    ({"roster": [{"email": "a@x.com", "start_date": "2025-01-01"}]},
     r"'roster\[0\]\.start_date' must be a TOML date"),
    ({"roster": "ana@x.com"}, r"'roster' must be a list of \[\[roster\]\] tables"),
    ({"roster": [1]}, r"'roster\[0\]' must be a \[\[roster\]\] table, got 1"),
    ({"default_annual_cost": "100000"}, "'default_annual_cost' must be a number from 0 to"),
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
name = "Ana López"
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
    assert (person.email, person.name, person.aliases, person.fte) == (
        "ana.lopez@example.com", "Ana López", ("ana@old.example.com",), 0.8)
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
    # The deal's source and loss reason properties are needed by default (docs/metrics.md).
    assert settings.extra_fields("hubspot")["deals"] == (
        "hs_analytics_source", "closed_lost_reason", "renewal_date")
    with pytest.raises(SettingsError, match="'salesforce_fields' must be a table of streams"):
        parse_settings({"salesforce_fields": {"accounts": ["Region__c; DROP"]}})


@pytest.mark.parametrize(("raw", "message"), [
    # One e-mail twice (trimmed and lower-cased): every row of that person would count twice.
    ({"roster": [{"email": "ana@x.com"}, {"email": " Ana@X.com "}]},
     r"'roster\[1\]\.email' must be one entry per e-mail; ana@x.com is also roster\[0\]'s"),
    # An alias that is someone else's e-mail merges two people; one listed twice doubles rows.
    ({"roster": [{"email": "ana@x.com", "aliases": ["ben@x.com"]}, {"email": "ben@x.com"}]},
     r"'roster\[0\]\.aliases' must be aliases that are nobody's roster e-mail.*ben@x.com"),
    ({"roster": [{"email": "ana@x.com", "aliases": ["ana@x.com"]}]},
     r"'roster\[0\]\.aliases' must be aliases that are nobody's roster e-mail.*ana@x.com"),
    ({"roster": [{"email": "ana@x.com", "aliases": ["old@x.com"]},
                 {"email": "ben@x.com", "aliases": [" OLD@x.com"]}]},
     r"'roster\[1\]\.aliases' must be each alias listed once.*old@x.com"),
    ({"roster": [{"email": "ana@x.com", "aliases": ["old@x.com", "old@x.com"]}]},
     r"'roster\[0\]\.aliases' must be each alias listed once.*old@x.com"),
    ({"roster": [{"email": "ana@x.com", "name": 42}]},
     r"'roster\[0\]\.name' must be a name.*for ana@x.com"),
    ({"roster": [{"email": "ana@x.com", "name": "  "}]},
     r"'roster\[0\]\.name' must be a name.*for ana@x.com"),
    # An empty keyword is contained in every project name: everything would be that activity.
    ({"activity_keywords": {"support": ["support", ""]}}, "'activity_keywords' must be"),
    ({"activity_keywords": {"support": [" "]}}, "'activity_keywords' must be"),
    ({"leave_projects": ["pto", ""]}, "'leave_projects' must be a list of non-blank strings"),
    # `^...$` matches before a final newline; a field name must match whole.
    ({"salesforce_owner_field": "CSM__c\n"}, "'salesforce_owner_field' must be a field"),
    ({"hubspot_term_property": "term\n"}, "'hubspot_term_property' must be a field"),
    ({"salesforce_fields": {"accounts": ["Region__c\n"]}}, "'salesforce_fields' must be"),
    ({"account_aliases": {"Big U": "sf:001\n"}}, "'account_aliases' must be a table of tracker"),
    ({"account_aliases": {"---": "sf:001"}}, "'account_aliases' must be a table of tracker"),
    # Zones Python can open but DuckDB (which splits the hours) does not know.
    ({"reporting_timezone": "posixrules"}, "'reporting_timezone' must be an IANA time zone"),
    ({"reporting_timezone": "right/UTC"}, "'reporting_timezone' must be an IANA time zone"),
    ({"reporting_timezone": "localtime"}, "'reporting_timezone' must be an IANA time zone"),
    ({"reporting_timezone": 1}, "'reporting_timezone' must be an IANA time zone"),
    # Months the partitions and schedules cannot represent, or that are not YYYY-MM.
    ({"first_month": "1969-12"}, "'first_month' must be a month written YYYY-MM from 1970-01"),
    ({"first_month": "2999-01"}, "'first_month' must be a month written YYYY-MM from 1970-01"),
    ({"first_month": "2025-1"}, "'first_month' must be a month written YYYY-MM"),
    ({"first_month": "202501"}, "'first_month' must be a month written YYYY-MM"),
    ({"first_month": 2025}, "'first_month' must be a month written YYYY-MM"),
])
def test_settings_that_multiply_rows_or_match_everything_are_refused(
        raw: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(raw)


def test_a_hostile_settings_file_stops_the_code_location_loading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.definitions import build_definitions

    path = tmp_path / "settings.toml"
    path.write_text('[[roster]]\nemail = "ana@x.com"\n\n[[roster]]\nemail = "ANA@x.com"\n')
    monkeypatch.setenv("CSM_METRICS_SETTINGS", str(path))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(SettingsError, match=r"setting 'roster\[1\]\.email'.*ana@x\.com"):
        build_definitions()


def test_the_current_month_and_the_zones_duckdb_knows_are_accepted() -> None:
    this_month = f"{date.today():%Y-%m}"
    assert parse_settings({"first_month": this_month}).first_month == this_month
    assert parse_settings({"first_month": "1970-01"}).first_month == "1970-01"
    for zone in ("Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC"):
        assert parse_settings({"reporting_timezone": zone}).reporting_timezone == zone


def test_an_unknown_key_is_refused_naming_its_path() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting 'fiscal_year_start' \(known: "
                       r"account_aliases, .*fiscal_year_start_month"):
        parse_settings({"fiscal_year_start": 4})
    with pytest.raises(SettingsError, match=r"unknown setting 'roster\[1\]\.salary' "
                       r"\(known: aliases, annual_cost, email"):
        parse_settings({"roster": [{"email": "a@x.com"}, {"email": "b@x.com", "salary": 1}]})


@pytest.mark.parametrize(("raw", "message"), [
    ({"fiscal_year_start_month": 13}, r"'fiscal_year_start_month' must be a month number from 1 "
     r"to 12, got 13"),
    ({"fiscal_year_start_month": 0}, r"'fiscal_year_start_month' must be a month number"),
    ({"default_fte": -0.1}, r"'default_fte' must be a number from 0 to 1.5, got -0.1"),
    ({"working_hours_per_weekday": -1}, r"'working_hours_per_weekday' must be a number of hours "
     r"from 0 to 24"),
    ({"accounts_band": [-1, 5]}, r"'accounts_band' must be a pair"),
    ({"roster": [{"email": "a@x.com"}, {"email": "b@x.com", "annual_cost": -5}]},
     r"'roster\[1\]\.annual_cost' must be a number from 0 to 1,000,000,000.*got -5.*b@x\.com"),
    ({"roster": [{"email": "a@x.com", "end_date": date(2025, 1, 1),
                  "start_date": date(2025, 2, 1)}]},
     r"'roster\[0\]\.end_date' must be a date on or after the start_date"),
])
def test_a_value_out_of_bounds_is_refused_naming_its_path(raw: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(raw, source="settings.toml")


def test_the_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("fiscal_year_start_month = 13\n")
    with pytest.raises(SettingsError, match=f"^{path}: setting 'fiscal_year_start_month'"):
        load_settings(path)


def test_the_docs_table_is_generated_from_the_model() -> None:
    from pipelines.settings import DOCS, settings_reference_markdown, with_reference

    text = DOCS.read_text()
    assert with_reference(text) == text, (
        "docs/configuration.md's settings reference differs from the model in "
        "pipelines/settings.py; regenerate it with `.venv/bin/python -m pipelines.settings --docs`")
    reference = settings_reference_markdown()
    for key in Settings.model_fields:
        assert f"| `{key}` |" in reference


def test_the_sandbox_and_test_settings_load_as_before() -> None:
    import tomllib

    from tests.tiny_company import tiny_company, tiny_settings

    sandbox = load_settings(Path(__file__).parents[1] / "sandbox" / "settings.toml")
    values = sandbox.for_warehouse()
    before = {
        "reporting_timezone": "UTC", "reporting_currency": "USD", "fiscal_year_start_month": 1,
        "default_term_months": 12, "salesforce_owner_field": "OwnerId",
        "hubspot_owner_property": "hubspot_owner_id", "salesforce_term_field": None,
        "salesforce_start_field": None, "hubspot_term_property": None,
        "hubspot_start_property": None, "default_annual_cost": 110000.0, "default_fte": 1.0,
        "working_hours_per_weekday": 8.0, "arr_band_low": 1000000.0,
        "arr_band_high": 2000000.0, "accounts_band_low": 10.0, "accounts_band_high": 15.0,
        "leave_projects": ["leave", "pto", "vacation", "holiday", "time off"],
        "leave_tags": ["pto", "leave", "vacation", "holiday", "sick"]}
    # The settings added since (engagement, outcomes, steering) only add columns.
    assert {name: values[name] for name in before} == before
    assert sandbox.tables()["roster"][3] == {
        "email": "liam.walsh@example.com", "name": None, "annual_cost": 105000.0, "fte": None,
        "start_date": date(2025, 2, 1), "end_date": None}
    assert sandbox.tables()["activity_keywords"][:3] == [
        {"activity": "onboarding", "keyword": k, "priority": 0}
        for k in ("onboarding", "kickoff", "go-live")]

    company = tiny_company()
    tiny = parse_settings(tomllib.loads(tiny_settings(company)))
    tables = tiny.tables()
    umbrella = next(a.account_id for a in company.accounts if a.key == "a4")
    assert tables["roster"] == [
        {"email": "alice@example.com", "name": None, "annual_cost": None, "fte": None,
         "start_date": date(2025, 1, 15), "end_date": None},
        {"email": "bob@example.com", "name": None, "annual_cost": 96000.0, "fte": 0.5,
         "start_date": None, "end_date": None},
        {"email": "dana@example.com", "name": "Dana Roster-Only", "annual_cost": None,
         "fte": None, "start_date": None, "end_date": None}]
    assert tables["roster_aliases"] == [
        {"alias": "robert.brown@example.com", "email": "bob@example.com"}]
    assert tables["currency_rates"] == [{"currency": "EUR", "rate": 1.1}]
    assert tables["account_aliases"] == [{"name": "Big U", "account_id": umbrella}]
    assert len(tables["activity_keywords"]) == 21 and tables["segments"][-1] == {
        "segment": "smb", "lower_bound": 0.0}
    # The tiny settings name the fields of issue 14's rules too (tests/tiny_company.py).
    assert tiny.extra_fields("salesforce") == {
        "accounts": ("Go_Live_Date__c",),
        "opportunities": ("Term_Months__c", "Service_Start__c", "Loss_Reason__c"),
        "feedback": ("Account__c", "Score__c", "Survey_Type__c", "Response_Date__c")}


def test_the_sql_settings_and_tables_derive_from_the_model() -> None:
    from warehouse.schema import SETTINGS_TABLES

    rules = Settings()
    scalars = rules.for_warehouse()
    assert list(scalars) == list(Settings.sql_columns())
    assert {"reporting_timezone", "arr_band_low", "leave_tags"} <= set(scalars)
    assert "first_month" not in scalars and "roster" not in scalars
    assert set(SETTINGS_TABLES) == set(rules.tables()) == {
        "roster", "roster_aliases", "currency_rates", "segments", "activity_keywords",
        "account_aliases", "planned_book"}
    assert SETTINGS_TABLES["roster"].names == [
        "email", "name", "annual_cost", "fte", "start_date", "end_date"]
    full = parse_settings({"roster": [{"email": "a@x.com", "aliases": ["b@x.com"]}],
                           "currency_rates": {"eur": 1.1}, "account_aliases": {"U": "hs:1"},
                           "planned_book": {"enterprise": 12}})
    for name, rows in full.tables().items():
        assert rows and all(list(row) == SETTINGS_TABLES[name].names for row in rows), name


def test_defaults_pass_the_same_validation_as_the_file() -> None:
    """A default word list is matched as if the file had said it: lower-cased like any value."""
    written = parse_settings({"salesforce_touch_task_subtypes": ["Call", "Email"],
                              "hubspot_touch_call_statuses": ["COMPLETED"]})
    assert Settings() == written
    assert Settings().hubspot_touch_call_statuses == ("completed",)


HOSTILE_NUMBERS = [float("inf"), float("-inf"), float("nan"), 2**62, 1e300]


def _numeric_places(annotation: object) -> list[object] | None:
    """How to put a number where `annotation` takes one: a function of the number giving the
    setting's raw value, or None when it takes no number."""
    from types import NoneType, UnionType
    from typing import Annotated, Union, get_args, get_origin

    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not NoneType)
        else:
            break
    if annotation in (int, float):
        return [lambda n: n]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict and _numeric_places(args[1]):
        return [lambda n: {"EUR": n}]
    if origin is tuple and len(args) == 2 and args[1] is not Ellipsis \
            and _numeric_places(args[0]):
        return [lambda n: [0.0, n]]
    return None


def _hostile_settings() -> list[tuple[str, dict]]:
    from pipelines.settings import Person

    cases = []
    for number in HOSTILE_NUMBERS:
        for name, info in Settings.model_fields.items():
            for place in _numeric_places(info.annotation) or []:
                cases.append((name, {name: place(number)}))
        for name, info in Person.model_fields.items():
            for place in _numeric_places(info.annotation) or []:
                cases.append((f"roster[0].{name}",
                              {"roster": [{"email": "a@x.com", name: place(number)}]}))
    return cases


def test_every_numeric_setting_refuses_infinite_nan_and_huge_values() -> None:
    """Each number the model declares is finite and bounded, so an infinite cost or a 2^62-day
    window is refused when the file is read, naming the setting, not later in SQL."""
    cases = _hostile_settings()
    names = {name for name, _ in cases}
    # The sweep reaches every kind of numeric setting: scalars, tables, pairs, roster keys.
    assert {"default_annual_cost", "onboarding_window_days", "currency_rates", "arr_band",
            "planned_book", "roster[0].annual_cost", "roster[0].fte"} <= names
    accepted = []
    for name, raw in cases:
        try:
            parse_settings(raw, source="settings.toml")
        except SettingsError as error:
            assert f"setting '{name}'" in str(error), (name, str(error))
        else:
            accepted.append((name, raw))
    assert not accepted
