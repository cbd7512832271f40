"""The business-rule settings file: one TOML file whose path `CSM_METRICS_SETTINGS` names.

`Settings` below is the one declaration of every setting: its type, default, bounds, description
and what an error says it expects. The validation, the scalar row and the tables the SQL models
read (`staging.settings` and its siblings, written by warehouse/schema.py) and the reference in
docs/configuration.md (`python -m pipelines.settings --docs`) are all derived from it, so adding a
setting is one declaration here.

Every key has a default that works without the file. Loading validates every key and value and
fails with one message that names the offending key path (`roster[2].fte`) and the file, so a
typo never silently falls back to a default. TOML is typed, so validation is strict: `"12"` is not
a number and `true` is not 1. Values that would multiply rows (one e-mail on two roster entries,
an alias listed twice or naming another person) or match everything (a blank keyword) are
refused the same way, when the code location loads.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import annotated_types
import duckdb
from dagster._utils.schedules import is_valid_cron_string
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError, PydanticUndefined

from pipelines.generated_text import between_markers

SETTINGS_ENV = "CSM_METRICS_SETTINGS"
DOCS = Path(__file__).parents[1] / "docs" / "configuration.md"
ACTIVITIES = ("onboarding", "training", "business_review", "support", "renewal", "expansion",
              "internal", "other")
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "onboarding": ("onboarding", "kickoff", "kick-off", "implementation", "go-live"),
    "training": ("training", "enablement", "workshop"),
    "business_review": ("qbr", "ebr", "business review"),
    "support": ("support", "escalation", "ticket"),
    "renewal": ("renewal",),
    "expansion": ("expansion", "upsell", "cross-sell"),
    "internal": ("internal", "team meeting", "admin"),
}
# The inputs of the retention-drivers regression (docs/metrics.md, "Retention drivers").
DRIVER_INPUTS = ("hours_per_month", "touchpoints", "days_since_last_touch", "nps_score",
                 "onboarding_hours", "owner_accounts_managed", "owner_utilization")
# Matched with fullmatch: `$` alone also matches before a final newline.
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ACCOUNT_ID = re.compile(r"(sf|hs):\S+")
_MONTH = re.compile(r"\d{4}-\d{2}")
# Dagster's partitions and schedules count from the Unix epoch.
_FIRST_MONTH_MIN = "1970-01"


class SettingsError(ValueError):
    pass


@cache
def duckdb_timezones() -> frozenset[str]:
    """The zones DuckDB can convert to: it splits the hours, and Python knows a few it does not
    (`posixrules`, `right/UTC`, `localtime`)."""
    with duckdb.connect() as conn:
        return frozenset(row[0] for row in conn.execute(
            "select name from pg_timezone_names()").fetchall())


# Value types. Each checks one kind of value and says what it is called in the docs' type
# column; a setting's own declaration says what its error message expects.

@dataclass(frozen=True)
class Kind:
    """What a value type is called in docs/configuration.md."""

    name: str


@dataclass(frozen=True)
class Rule:
    """A rule a value type checks beyond its bounds, shown in the docs' bounds column."""

    text: str


def _as_tuple(value: Any) -> Any:
    """TOML arrays arrive as lists; settings keep tuples, which cannot be changed in place."""
    return tuple(value) if isinstance(value, list) else value


def _time_zone(value: str) -> str:
    if value not in duckdb_timezones():
        raise ValueError("not a zone DuckDB knows")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a zone Python knows") from None
    return value


def _currency(value: str) -> str:
    if not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValueError("not three letters")
    return value.upper()


def _month(value: str) -> str:
    try:
        if not _MONTH.fullmatch(value):
            raise ValueError
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise ValueError("not a month written YYYY-MM") from None
    if value < _FIRST_MONTH_MIN:
        raise ValueError(f"before {_FIRST_MONTH_MIN}")
    return value


def _field_name(value: str) -> str:
    if not _FIELD_NAME.fullmatch(value):
        raise ValueError("not a field's API name")
    return value


def _word(value: str) -> str:
    """Blank is contained in, or equal to, too much; matched in any case, so kept lower-case."""
    if not value.strip():
        raise ValueError("blank")
    return value.lower()


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("blank")
    return value


def _email(value: str) -> str:
    """Compared trimmed and lower-cased, as the SQL joins people on them."""
    value = value.strip().lower()
    if "@" not in value:
        raise ValueError("not an e-mail address")
    return value


def _tracker_name(value: str) -> str:
    # Names are compared with everything but letters and digits folded away
    # (int_time_entries__unified): a name with none of them would match every blank name.
    if not any(c.isalnum() for c in value):
        raise ValueError("no letter or digit")
    return value


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.fullmatch(value):
        raise ValueError("not an account id")
    return value


def _cron(value: str) -> str:
    if not is_valid_cron_string(value):
        raise ValueError("not a cron expression")
    return value


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    if pair[0] > pair[1]:
        raise ValueError("low above high")
    return pair


TimeZone = Annotated[str, AfterValidator(_time_zone), Kind("time zone")]
Currency = Annotated[str, AfterValidator(_currency), Kind("currency code")]
Month = Annotated[str, AfterValidator(_month), Kind("month"),
                  Rule(f"{_FIRST_MONTH_MIN} to the current month")]
FieldName = Annotated[str, AfterValidator(_field_name), Kind("field name")]
Word = Annotated[str, AfterValidator(_word), Kind("non-blank string")]
Name = Annotated[str, AfterValidator(_name), Kind("non-blank string")]
Email = Annotated[str, AfterValidator(_email), Kind("e-mail")]
TrackerName = Annotated[str, AfterValidator(_tracker_name), Kind("tracker name")]
AccountId = Annotated[str, AfterValidator(_account_id), Kind("account id")]
Cron = Annotated[str, AfterValidator(_cron), Kind("cron expression")]
Activity = Annotated[Literal[ACTIVITIES], Kind("activity")]
SalesforceStream = Annotated[Literal["users", "accounts", "opportunities", "tasks", "events",
                                     "email_messages"], Kind("stream")]
HubSpotStream = Annotated[Literal["companies", "deals", "calls", "meetings", "emails",
                                  "feedback_submissions"], Kind("stream")]
SourcingRule = Annotated[Literal["source_field", "creator_is_owner"], Kind("rule")]
DriverInput = Annotated[Literal[DRIVER_INPUTS], Kind("driver input")]
DriverInputs = Annotated[tuple[DriverInput, ...], BeforeValidator(_as_tuple)]
# Upper bounds: every number is finite (no inf or nan, `_Model.model_config`) and bounded, so
# nothing the SQL computes from it overflows a date, an interval or a decimal(18, 2) later,
# failing a build without naming the setting.
MAX_AMOUNT = 1e15  # an ARR threshold: below decimal(18, 2)'s 1e16
MAX_COST = 1e9  # a person's annual cost: a team's costs sum within decimal(18, 2)
MAX_RATE = 1e9  # units of the reporting currency per unit of another
MAX_DAYS = 36_500  # a window of days: a century
MAX_MONTHS = 1_200  # a term in months: a century
MAX_CUSTOMERS = 10_000_000
Share = Annotated[float, Field(gt=0, le=1)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]
Cost = Annotated[float, Field(ge=0, le=MAX_COST)]
Rate = Annotated[float, Field(gt=0, le=MAX_RATE)]
Fte = Annotated[float, Field(ge=0, le=1.5)]
Words = Annotated[tuple[Word, ...], BeforeValidator(_as_tuple)]
Emails = Annotated[tuple[Email, ...], BeforeValidator(_as_tuple)]
FieldNames = Annotated[tuple[FieldName, ...], BeforeValidator(_as_tuple)]
Band = Annotated[tuple[Amount, Amount], BeforeValidator(_as_tuple), AfterValidator(_ordered),
                 Rule("low <= high")]


def _setting(default: Any = PydanticUndefined, *, expected: str, description: str,
             sql: bool | list[str] = False, table: bool | list[str] = False,
             factory: Callable[[], Any] | None = None, **bounds: Any) -> Any:
    """Declare one setting.

    `expected` completes "setting 'key' must be ..." in errors. `sql` puts the value in the one
    row of `staging.settings` (a list of names: a pair's columns). `table` makes it a
    `staging.<key>` table: for a table setting, the names of the key and value columns (and of
    the key's position); `True` for a list of entries, one row each with the entry's `sql`
    fields; on a list inside an entry, the item column and the entry's column beside it
    (`staging.<list>_<field>`).
    """
    extra: dict[str, Any] = {"expected": expected}
    if sql:
        extra["sql"] = sql
    if table:
        extra["table"] = table
    if factory is not None:
        return Field(default_factory=factory, description=description, json_schema_extra=extra,
                     **bounds)
    return Field(default, description=description, json_schema_extra=extra, **bounds)


def _refuse(expected: str, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """A rule across values broken: what was expected, at a key path below the validator's."""
    return PydanticCustomError("setting", "{expected}", {"expected": expected, "at": at})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True,
                              allow_inf_nan=False)
    # The key whose value names an entry of a list in errors ("the entry for ...").
    entry_label: ClassVar[str | None] = None
    # What one of these is called in errors and docs/configuration.md.
    doc_name: ClassVar[str] = "table"


class Person(_Model):
    """A roster entry: extra e-mails for a person and their per-person settings."""

    entry_label: ClassVar[str | None] = "email"
    doc_name: ClassVar[str] = "[[roster]] table"

    email: Email = _setting(
        sql=True, expected="an e-mail address (each [[roster]] entry has one)",
        description="the person's e-mail in the CRM or the time tracker (trimmed, any case)")
    name: Name | None = _setting(
        None, sql=True, expected="a name (a non-blank string)",
        description="overrides the CRM's name")
    aliases: Emails = _setting(
        (), table=["alias", "email"], expected="a list of e-mail addresses",
        description="other e-mails of the same person: each on one entry only, and nobody's "
                    "roster `email`")
    annual_cost: Cost | None = _setting(
        None, sql=True, expected=f"a number from 0 to {MAX_COST:,.0f}",
        description="fully-loaded annual cost; `default_annual_cost` when unset")
    fte: Fte | None = _setting(
        None, sql=True, expected="a number from 0 to 1.5",
        description="full-time equivalent; `default_fte` when unset")
    start_date: date | None = _setting(
        None, sql=True, expected="a TOML date (2025-01-31, unquoted)",
        description="first day in the CSM team")
    end_date: date | None = _setting(
        None, sql=True, expected="a TOML date (2025-01-31, unquoted)",
        description="last day in the CSM team, on or after `start_date`")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Person:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise _refuse(f"a date on or after the start_date ({self.start_date})",
                          at=("end_date",))
        return self


def _distinct_people(people: tuple[Person, ...]) -> tuple[Person, ...]:
    """One entry per e-mail, and each alias once, naming nobody's roster e-mail: the SQL joins
    identities on them, so a repeat would count a person's rows twice or merge two people."""
    entry: dict[str, int] = {}
    for i, person in enumerate(people):
        if person.email in entry:
            raise _refuse(f"one entry per e-mail; {person.email} is also "
                          f"roster[{entry[person.email]}]'s", at=(i, "email"))
        entry[person.email] = i
    listed: set[str] = set()
    for i, person in enumerate(people):
        for alias in person.aliases:
            if alias in entry:
                raise _refuse(f"aliases that are nobody's roster e-mail; {alias} is "
                              f"roster[{entry[alias]}]'s e-mail", at=(i, "aliases"))
            if alias in listed:
                raise _refuse(f"each alias listed once; {alias} is listed twice",
                              at=(i, "aliases"))
            listed.add(alias)
    return people


# Looked up when called, so that a test can let a duplicate through to the marts' checks.
People = Annotated[tuple[Person, ...], BeforeValidator(_as_tuple),
                   AfterValidator(lambda people: _distinct_people(people)),
                   Rule("one entry per e-mail; each alias once, nobody's `email`")]


class Settings(_Model):
    """Every business-rule setting, in the order docs/configuration.md lists them."""

    _source: str = PrivateAttr("defaults")

    reporting_timezone: TimeZone = _setting(
        "UTC", sql=True,
        expected="an IANA time zone such as 'Europe/Berlin', known to Python and DuckDB",
        description="IANA zone, known to both Python and DuckDB: months, snapshots, the "
                    "splitting of hours and Dagster's partitions follow it")
    reporting_currency: Currency = _setting(
        "USD", sql=True, expected="a three-letter ISO currency code",
        description="the currency of every amount")
    currency_rates: dict[Currency, Rate] = _setting(
        factory=dict, table=["currency", "rate"],
        expected=f"a table of three-letter currency codes to positive rates up to "
                 f"{MAX_RATE:,.0f}",
        description="units of the reporting currency per unit of another, e.g. `EUR = 1.08`; "
                    "a deal in a currency with no rate is quarantined (HubSpot "
                    "`deal_currency_code`; Salesforce's `CurrencyIsoCode` exists only in "
                    "multi-currency orgs: add it with "
                    "`salesforce_fields = {opportunities = [\"CurrencyIsoCode\"]}`)")
    first_month: Month = _setting(
        "2023-01", expected=f"a month written YYYY-MM from {_FIRST_MONTH_MIN} to the current month",
        description=f"the first monthly partition (`YYYY-MM`, from `{_FIRST_MONTH_MIN}` to the "
                    "current month in the reporting time zone)")
    as_of: AwareDatetime | None = _setting(
        None, expected="a TOML date-time with its offset (2026-12-01T00:00:00Z, unquoted)",
        description="the instant the marts describe: a period not over is measured to it "
                    "(docs/metrics.md, Periods); unset: the start of each run. Fix it to "
                    "rebuild past runs' figures exactly")
    fiscal_year_start_month: int = _setting(
        1, ge=1, le=12, sql=True, expected="a month number from 1 to 12",
        description="the month fiscal years, and so quarters, start in")
    default_term_months: int = _setting(
        12, gt=0, le=MAX_MONTHS, sql=True,
        expected=f"a positive whole number of months up to {MAX_MONTHS:,}",
        description="a won deal's term when it carries none")
    salesforce_owner_field: FieldName = _setting(
        "OwnerId", sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Account field naming its CSM: a custom user lookup such as `CSM__c` "
                    "works too (its `AccountHistory` rows are read by its API name)")
    hubspot_owner_property: FieldName = _setting(
        "hubspot_owner_id", sql=True,
        expected="a field's API name (letters, digits, underscores)",
        description="the company property naming its CSM (an owner id); its history comes "
                    "from `propertiesWithHistory`")
    salesforce_term_field: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Opportunity field holding a deal's term in months, e.g. "
                    "`Term_Months__c`")
    salesforce_start_field: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Opportunity field holding a deal's service start date, e.g. "
                    "`Service_Start__c`")
    hubspot_term_property: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the deal property holding a deal's term in months")
    hubspot_start_property: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the deal property holding a deal's service start date")
    salesforce_fields: dict[SalesforceStream, FieldNames] = _setting(
        factory=dict,
        expected="a table of streams (users, accounts, opportunities) to lists of field names",
        description="more fields to pull and keep in raw, per stream (`users`, `accounts`, "
                    "`opportunities`), e.g. `accounts = [\"Region__c\"]`")
    hubspot_properties: dict[HubSpotStream, FieldNames] = _setting(
        factory=dict, expected="a table of streams (companies, deals) to lists of field names",
        description="more properties to pull, per stream (`companies`, `deals`)")
    default_annual_cost: float = _setting(
        100_000.0, ge=0, le=MAX_COST, sql=True, expected=f"a number from 0 to {MAX_COST:,.0f}",
        description="a person's annual fully-loaded cost when the roster gives none")
    default_fte: float = _setting(
        1.0, ge=0, le=1.5, sql=True, expected="a number from 0 to 1.5",
        description="a person's FTE when the roster gives none")
    working_hours_per_weekday: float = _setting(
        8.0, ge=0, le=24, sql=True, expected="a number of hours from 0 to 24",
        description="capacity per weekday at FTE 1")
    roster: People = _setting(
        (), table=True, expected="a list of [[roster]] tables",
        description="the CSM team: extra e-mails and per-person values, see the entry's keys "
                    "below; everyone on it is a CSM, even before owning an account")
    arr_band: Band = _setting(
        (1_000_000.0, 2_000_000.0), sql=["arr_band_low", "arr_band_high"],
        expected=f"a pair [low, high] with 0 <= low <= high <= {MAX_AMOUNT:,.0f}",
        description="`[low, high]` benchmark band of ARR managed for `arr_band`")
    accounts_band: Band = _setting(
        (10.0, 15.0), sql=["accounts_band_low", "accounts_band_high"],
        expected=f"a pair [low, high] with 0 <= low <= high <= {MAX_AMOUNT:,.0f}",
        description="`[low, high]` benchmark band of accounts managed for `accounts_band`")
    segments: dict[str, Amount] = _setting(
        factory=lambda: {"enterprise": 100_000.0, "mid_market": 25_000.0, "smb": 0.0},
        min_length=1, table=["segment", "lower_bound"],
        expected=f"a table of segment names to ARR lower bounds from 0 to {MAX_AMOUNT:,.0f}",
        description="account segments to their ARR lower bound")
    leave_projects: Words = _setting(
        ("leave", "pto", "vacation", "holiday", "time off"), sql=True,
        expected="a list of non-blank strings",
        description="tracker projects (any case) whose entries are leave, not work")
    leave_tags: Words = _setting(
        ("leave", "pto", "vacation", "holiday", "sick"), sql=True,
        expected="a list of non-blank strings",
        description="tags (any case) that make an entry leave")
    activity_keywords: dict[Activity, Words] = _setting(
        factory=lambda: dict(DEFAULT_KEYWORDS), table=["activity", "keyword", "priority"],
        expected=f"a table of activities ({', '.join(ACTIVITIES)}) to lists of non-blank "
                 "keywords",
        description="activity to keywords (any case, none blank) found in a project or "
                    "description, in priority order; `other` is the rest")
    account_aliases: dict[TrackerName, AccountId] = _setting(
        factory=dict, table=["name", "account_id"],
        expected="a table of tracker names (with a letter or digit) to account ids such as "
                 "'sf:001...' or 'hs:123'",
        description="tracker client or project names to account ids, e.g. "
                    "`\"Big U\" = \"hs:4242\"`")
    # Engagement (docs/metrics.md, "Touchpoints and response time").
    salesforce_touch_task_subtypes: Words = _setting(
        ("Call", "Email"), sql=True, expected="a list of non-blank strings",
        description="closed Salesforce tasks of these `TaskSubtype`s are touchpoints (events "
                    "always are, once started)")
    salesforce_excluded_call_types: Words = _setting(
        ("Internal",), sql=True, expected="a list of non-blank strings",
        description="task `CallType`s that are not customer-facing, never touchpoints")
    hubspot_touch_call_statuses: Words = _setting(
        ("COMPLETED",), sql=True, expected="a list of non-blank strings",
        description="HubSpot `hs_call_status` values that make a call a touchpoint")
    hubspot_excluded_meeting_outcomes: Words = _setting(
        ("CANCELED", "NO_SHOW", "RESCHEDULED"), sql=True, expected="a list of non-blank strings",
        description="HubSpot `hs_meeting_outcome` values of meetings that did not happen")
    # Customer feedback (docs/metrics.md, "NPS and CSAT").
    csat_satisfied_min: float = _setting(
        4.0, ge=1, le=5, sql=True, expected="a number from 1 to 5",
        description="a CSAT score (scale 1-5) at or above this is satisfied")
    salesforce_feedback_object: FieldName | None = _setting(
        None, sql=True, expected="an object's API name (letters, digits, underscores)",
        description="the Salesforce object holding survey responses, e.g. `NPS_Response__c`; "
                    "unset: no Salesforce feedback (there is no standard object)")
    salesforce_feedback_account_field: FieldName = _setting(
        "Account__c", sql=True, expected="a field's API name (letters, digits, underscores)",
        description="that object's account lookup field")
    salesforce_feedback_score_field: FieldName = _setting(
        "Score__c", sql=True, expected="a field's API name (letters, digits, underscores)",
        description="that object's score field")
    salesforce_feedback_type_field: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="that object's survey-type field (`NPS`, `CSAT`); unset: every response "
                    "is of `salesforce_feedback_type`")
    salesforce_feedback_type: Literal["NPS", "CSAT"] = _setting(
        "NPS", sql=True, expected="'NPS' or 'CSAT'",
        description="the survey type of every response when no type field is set")
    salesforce_feedback_date_field: FieldName = _setting(
        "CreatedDate", sql=True, expected="a field's API name (letters, digits, underscores)",
        description="that object's response date or datetime field")
    # Expansion sourcing, churn reasons, onboarding (docs/metrics.md).
    csm_sourced_rule: SourcingRule = _setting(
        "source_field", sql=True, expected="'source_field' or 'creator_is_owner'",
        description="`source_field`: a deal is CSM-sourced when its source field holds one of "
                    "`csm_sourced_values`; `creator_is_owner`: when its creator owned the "
                    "account when the deal was created")
    csm_sourced_values: Words = _setting(
        ("Customer Success", "CSM"), sql=True, expected="a list of non-blank strings",
        description="source values (any case) that mark a deal CSM-sourced")
    salesforce_source_field: FieldName = _setting(
        "LeadSource", sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Opportunity field naming a deal's source")
    hubspot_source_property: FieldName = _setting(
        "hs_analytics_source", sql=True,
        expected="a field's API name (letters, digits, underscores)",
        description="the deal property naming a deal's source (often a custom one such as "
                    "`deal_source`)")
    salesforce_loss_reason_field: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Opportunity field holding a lost deal's reason, e.g. "
                    "`Loss_Reason__c`; unset: Salesforce losses have reason `unknown`")
    hubspot_loss_reason_property: FieldName = _setting(
        "closed_lost_reason", sql=True,
        expected="a field's API name (letters, digits, underscores)",
        description="the deal property holding a lost deal's reason")
    loss_reason_window_days: int = _setting(
        120, ge=0, le=MAX_DAYS, sql=True,
        expected=f"a whole number of days from 0 to {MAX_DAYS:,}",
        description="a churn or contraction takes the reason of the account's latest lost deal "
                    "closed this many days before the period start, or in the period")
    onboarding_window_days: int = _setting(
        90, gt=0, le=MAX_DAYS, sql=True,
        expected=f"a positive whole number of days up to {MAX_DAYS:,}",
        description="onboarding hours are an account's `onboarding` hours this many days from "
                    "its first revenue")
    salesforce_value_milestone_field: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the Account date field of the value milestone (go-live), for "
                    "`days_to_value`; unset: NULL")
    hubspot_value_milestone_property: FieldName | None = _setting(
        None, sql=True, expected="a field's API name (letters, digits, underscores)",
        description="the company date property of the value milestone")
    # Steering the team (docs/metrics.md, "Capacity", "Control limits", "Retention drivers").
    target_account_share: Share = _setting(
        0.6, sql=True, expected="a number above 0 and at most 1",
        description="the share of a CSM's working hours meant for accounts, for `fte_needed`")
    planned_book: dict[Name, Annotated[int, Field(ge=0, le=MAX_CUSTOMERS)]] = _setting(
        factory=dict, table=["segment", "customers"],
        expected=f"a table of segment names to whole numbers of customers from 0 to "
                 f"{MAX_CUSTOMERS:,}",
        description="a planned book, customers per segment, for `fte_needed_planned`; empty: "
                    "no plan")
    control_baseline_months: int = _setting(
        12, ge=2, le=60, sql=True, expected="a whole number of months from 2 to 60",
        description="the months before a point that its control limits are computed from")
    control_min_points: int = _setting(
        6, ge=2, le=60, sql=True, expected="a whole number from 2 to 60",
        description="the fewest baseline values that give control limits (fewer: NULL limits)")
    retention_driver_inputs: DriverInputs = _setting(
        DRIVER_INPUTS, min_length=1, sql=True,
        expected=f"a list of inputs from {', '.join(DRIVER_INPUTS)}",
        description="the inputs of the retention-drivers regression")
    # Looking ahead (docs/metrics.md, "Looking ahead").
    risk_high_ratio: float = _setting(
        2.0, gt=1, le=100, sql=True, expected="a number above 1 and at most 100",
        description="an account's churn risk is `high` when its churn probability is at least "
                    "this many times the retention-driver fit's churn rate (`low` at most half "
                    "of it)")
    # Targets the report compares with (docs/report.md, "The CFO page"); unset: no target line,
    # and the books are compared with `arr_band` and `accounts_band` instead.
    target_nrr: float | None = _setting(
        None, ge=0, le=10, expected="a ratio from 0 to 10 (1.05 is 105%)",
        description="the report's target for trailing-twelve-month NRR (1.05 is 105%); unset: "
                    "no target")
    target_grr: float | None = _setting(
        None, ge=0, le=1, expected="a ratio from 0 to 1 (0.9 is 90%)",
        description="the report's target for trailing-twelve-month GRR; unset: no target")
    target_arr_per_csm: float | None = _setting(
        None, ge=0, le=MAX_AMOUNT, expected=f"a number from 0 to {MAX_AMOUNT:,.0f}",
        description="the report's target ARR per CSM; unset: the `arr_band`")
    target_customers_per_csm: float | None = _setting(
        None, ge=0, le=MAX_CUSTOMERS, expected=f"a number from 0 to {MAX_CUSTOMERS:,}",
        description="the report's target customers per CSM; unset: the `accounts_band`")
    target_cost_to_serve: float | None = _setting(
        None, ge=0, le=10, expected="a ratio from 0 to 10 (0.08 is 8% of ARR)",
        description="the report's ceiling for the cost of CS as a share of ARR "
                    "(`cost_to_serve_ratio`; 0.08 is 8%); unset: no target")
    daily_refresh_cron: Cron = _setting(
        "0 3 * * *", expected="a cron expression such as '0 3 * * *'",
        description="when the `daily_refresh` schedule runs the open month, in the reporting "
                    "time zone (docs/scheduling.md)")
    monthly_close_cron: Cron = _setting(
        "0 5 3 * *", expected="a cron expression such as '0 3 * * *'",
        description="when the `monthly_close` schedule rebuilds the previous month, once late "
                    "time entries are in")

    @model_validator(mode="after")
    def _first_month_is_open(self, info: ValidationInfo) -> Settings:
        """Up to the open month in the reporting time zone: partitions and schedules represent
        nothing after it."""
        today = datetime.now(ZoneInfo(self.reporting_timezone)).date()
        if self.first_month > f"{today:%Y-%m}":
            raise _refuse(f"a month written YYYY-MM from {_FIRST_MONTH_MIN} to the current "
                          f"month ({today:%Y-%m})", at=("first_month",))
        if info.context:
            self._source = info.context.get("source", self._source)
        return self

    def __eq__(self, other: object) -> bool:
        """Equal when every setting is: where they were read from does not count."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    @property
    def source(self) -> str:
        """The file these settings were read from, or `defaults`."""
        return self._source

    @property
    def first_month_start(self) -> date:
        return date.fromisoformat(f"{self.first_month}-01")

    @classmethod
    def sql_columns(cls) -> dict[str, Any]:
        """The columns of `staging.settings` and their Python types, from the `sql` settings."""
        columns: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            sql = _extra(info).get("sql")
            if isinstance(sql, list):
                columns.update(dict.fromkeys(sql, _python_type(_item_type(info.annotation))))
            elif sql:
                columns[name] = _python_type(info.annotation)
        return columns

    def for_warehouse(self) -> dict[str, Any]:
        """The scalar values the SQL models read from `staging.settings`."""
        values: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            sql, value = _extra(info).get("sql"), getattr(self, name)
            if isinstance(sql, list):
                values.update(zip(sql, value, strict=True))
            elif sql:
                values[name] = list(value) if isinstance(value, tuple) else value
        return values

    @classmethod
    def table_columns(cls) -> dict[str, dict[str, Any]]:
        """The `staging.<name>` tables and their columns' Python types, from `table` settings."""
        tables: dict[str, dict[str, Any]] = {}
        for name, info in cls.model_fields.items():
            spec = _extra(info).get("table")
            if spec is True and (entry := _entry_model(info)) is not None:
                tables[name] = {f: _python_type(i.annotation)
                                for f, i in entry.model_fields.items() if _extra(i).get("sql")}
                for field, (item, beside) in _inner_tables(entry):
                    tables[f"{name}_{field}"] = {
                        item: _python_type(_item_type(entry.model_fields[field].annotation)),
                        beside: tables[name][beside]}
            elif spec:
                key, value = get_args(info.annotation)
                if get_origin(_strip(value)) is tuple:  # a row per item of each list
                    value = _item_type(value)
                types = [_python_type(key), _python_type(value), int]
                tables[name] = dict(zip(spec, types, strict=False))
        return tables

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The list-shaped settings, as rows of the `staging.<name>` tables."""
        tables: dict[str, list[dict[str, Any]]] = {}
        for name, info in type(self).model_fields.items():
            spec, value = _extra(info).get("table"), getattr(self, name)
            if spec is True and (entry := _entry_model(info)) is not None:
                columns = {f for f, i in entry.model_fields.items() if _extra(i).get("sql")}
                tables[name] = [e.model_dump(include=columns) for e in value]
                for field, (item, beside) in _inner_tables(entry):
                    tables[f"{name}_{field}"] = [{item: x, beside: getattr(e, beside)}
                                                 for e in value for x in getattr(e, field)]
            elif spec:
                tables[name] = list(_rows(value, spec))
        return tables

    def extra_fields(self, source: str) -> dict[str, tuple[str, ...]]:
        """CRM fields beyond the defaults that these settings need pulled, per stream."""
        if source == "salesforce":
            account = tuple(f for f in (self.salesforce_owner_field,
                                        self.salesforce_value_milestone_field)
                            if f and f != "OwnerId")
            deal = tuple(f for f in (self.salesforce_term_field, self.salesforce_start_field,
                                     self.salesforce_source_field,
                                     self.salesforce_loss_reason_field)
                         if f and f != "LeadSource")  # the stream pulls LeadSource anyway
            needed = {"accounts": account, "opportunities": deal}
            if self.salesforce_feedback_object:  # the stream declares the standard fields
                needed["feedback"] = tuple(f for f in (
                    self.salesforce_feedback_account_field, self.salesforce_feedback_score_field,
                    self.salesforce_feedback_type_field, self.salesforce_feedback_date_field)
                    if f and f not in ("Id", "CreatedDate", "SystemModstamp", "IsDeleted"))
            configured: dict[str, tuple[str, ...]] = dict(self.salesforce_fields)
        elif source == "hubspot":
            company = tuple(f for f in (self.hubspot_owner_property,
                                        self.hubspot_value_milestone_property) if f)
            deal = tuple(f for f in (self.hubspot_term_property, self.hubspot_start_property,
                                     self.hubspot_source_property,
                                     self.hubspot_loss_reason_property) if f)
            needed = {"companies": company, "deals": deal}
            configured = dict(self.hubspot_properties)
        else:
            return {}
        streams = set(needed) | set(configured)
        return {s: tuple(dict.fromkeys((*needed.get(s, ()), *configured.get(s, ()))))
                for s in streams}

    def owner_path(self, source: str) -> str:
        """Where a landed account record holds its owner (a JSON path)."""
        if source == "salesforce":
            return f"$.{self.salesforce_owner_field}"
        return f"$.properties.{self.hubspot_owner_property}"

    @property
    def salesforce_history_field(self) -> str:
        """AccountHistory names the standard owner field `Owner`, a custom one by its API name."""
        return "Owner" if self.salesforce_owner_field == "OwnerId" else self.salesforce_owner_field


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    path = path or os.environ.get(SETTINGS_ENV)
    if not path:
        return Settings()
    file = Path(path)
    if not file.is_file():
        raise SettingsError(f"{SETTINGS_ENV} names {file}, which is not a file")
    try:
        raw = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{file} is not valid TOML: {error}") from None
    return parse_settings(raw, source=str(file))


def parse_settings(raw: dict[str, Any], source: str = "settings") -> Settings:
    try:
        return Settings.model_validate(raw, context={"source": source})
    except ValidationError as error:
        lines = dict.fromkeys(_describe(e, raw, source) for e in error.errors(include_url=False))
        raise SettingsError("\n".join(lines)) from None


# Reading the declarations.

def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _strip(tp: Any) -> Any:
    """The type under `Annotated[...]` and `... | None`."""
    if get_origin(tp) is Annotated:
        return _strip(get_args(tp)[0])
    if get_origin(tp) in (Union, UnionType):
        return _strip(next(a for a in get_args(tp) if a is not NoneType))
    return tp


def _item_type(tp: Any) -> Any:
    """The type of a tuple's items (its first, for a pair)."""
    return get_args(_strip(tp))[0]


def _python_type(tp: Any) -> Any:
    """The plain Python type of a column: `str` for a literal, `list[item]` for a list."""
    tp = _strip(tp)
    if get_origin(tp) is Literal:
        return type(get_args(tp)[0])
    if get_origin(tp) is tuple:
        return list[_python_type(_item_type(tp))]  # type: ignore[misc]
    return tp


def _entry_model(info: FieldInfo) -> type[_Model] | None:
    """The model of a list-of-entries setting's entries (Person for `roster`)."""
    tp = _strip(info.annotation)
    if get_origin(tp) is tuple:
        item = _strip(_item_type(tp))
        if isinstance(item, type) and issubclass(item, _Model):
            return item
    return None


def _inner_tables(model: type[_Model]) -> Iterator[tuple[str, list[str]]]:
    for field, info in model.model_fields.items():
        spec = _extra(info).get("table")
        if isinstance(spec, list):
            yield field, spec


def _rows(value: dict[str, Any], columns: list[str]) -> Iterator[dict[str, Any]]:
    """A table setting's rows: one per key, or per item of the key's list, with its position."""
    key, item, *position = columns
    for i, (k, v) in enumerate(value.items()):
        for x in v if isinstance(v, tuple) else (v,):
            yield {key: k, item: x, **dict.fromkeys(position, i)}


# Errors: pydantic's, told as "<file>: setting '<path>' must be <expected>, got <value>".

_MISSING = object()


def _describe(error: ErrorDetails, raw: dict[str, Any], source: str) -> str:
    ctx = error.get("ctx", {})
    refused = error["type"] == "setting"
    loc = (*error["loc"], *ctx["at"]) if refused else tuple(error["loc"])
    # Walk the path through the declarations: setting, entry index, entry key.
    model: type[_Model] | None = Settings
    entries: type[_Model] | None = None
    info: FieldInfo | None = None
    path, depth, entry, whole_entry = "", 0, "", False
    for part in loc:
        whole_entry = False
        if isinstance(part, int) and entries is not None:
            model, entries, path, whole_entry = entries, None, f"{path}[{part}]", True
            found = _lookup(raw, loc[:depth + 1])
            label = model.entry_label
            if label and isinstance(found, dict) and label in found:
                entry = f" (the entry for {str(found[label]).strip()})"
        elif isinstance(part, str) and model is not None and part in model.model_fields:
            info = model.model_fields[part]
            model, entries, path = None, _entry_model(info), f"{path}.{part}".lstrip(".")
        else:
            break
        depth += 1
    if error["type"] == "extra_forbidden" and model is not None:
        known = ", ".join(sorted(model.model_fields))
        return f"{source}: unknown setting '{f'{path}.' if path else ''}{loc[depth]}' " \
               f"(known: {known})"
    if refused:
        expected = ctx["expected"]
    elif whole_entry and model is not None:
        expected = f"a {model.doc_name}"
    else:
        expected = _extra(info)["expected"] if info else error["msg"]
    value = _lookup(raw, loc[:depth])
    got = "but it is missing" if value is _MISSING else f"got {_shown(value)}"
    detail = ""
    if not refused and depth < len(loc):  # inside one setting's table or list: where, and why
        inner = "".join(f"[{p!r}]" for p in loc[depth:] if p != "[key]")
        what = "the key " if "[key]" in loc[depth:] else ""
        detail = f" ({what}{path}{inner}: {error['msg'].removeprefix('Value error, ')})"
    return f"{source}: setting '{path}' must be {expected}, {got}{detail}{entry}"


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> Any:
    """The raw value at a key path, or _MISSING."""
    for part in loc:
        in_table = isinstance(raw, dict) and part in raw
        in_list = isinstance(raw, list | tuple) and isinstance(part, int) and part < len(raw)
        if not (in_table or in_list):
            return _MISSING
        raw = raw[part]
    return raw


# The reference in docs/configuration.md, generated from the declarations.

_BEGIN = ("<!-- Generated from pipelines/settings.py by `python -m pipelines.settings --docs`; "
          "do not edit by hand. -->")
_END = "<!-- End of the generated settings reference. -->"
_BASE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", date: "date"}
_LONG = 60  # a default longer than this is shown in a block below the table


def settings_reference_markdown() -> str:
    """The keys' tables for docs/configuration.md: key, type, default, bounds, description."""
    blocks: list[str] = []
    lines = [_table(Settings, blocks), *blocks,
             "A `[[roster]]` entry (every key but `email` is optional):", "",
             _table(Person, [])]
    return "\n".join(lines).rstrip("\n")


def with_reference(text: str) -> str:
    """`text` (docs/configuration.md) with the generated reference put between its markers."""
    done = between_markers(text, _BEGIN, _END, settings_reference_markdown())
    if done is None:
        raise SettingsError(f"{DOCS.name} has no generated-reference markers:\n{_BEGIN}\n{_END}")
    return done


def _table(model: type[_Model], blocks: list[str]) -> str:
    rows = ["| key | type | default | bounds | description |", "| --- | --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if default is PydanticUndefined:
            shown = "required"
        elif default is None:
            shown = "unset"
        elif len(_toml(default)) > _LONG:
            shown = "see below"
            blocks.append(_toml_block(name, default))
        else:
            shown = f"`{_toml(default)}`"
        kind = next((m.name for m in info.metadata if isinstance(m, Kind)), None)
        cells = [f"`{name}`", kind or _type_name(info.annotation), shown,
                 _bounds(info.metadata, info.annotation), info.description or ""]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Annotated:
        base, *metadata = get_args(tp)
        kind = next((m.name for m in metadata if isinstance(m, Kind)), None)
        return kind or _type_name(base)
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in args if a is not NoneType)
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin is tuple:
        many = "list" if args[-1] is Ellipsis else "pair" if len(args) == 2 else "tuple"
        return f"{many} of {_type_name(args[0])}s"
    if origin is dict:
        return f"table of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, _Model):
        return tp.doc_name
    return _BASE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _bounds(metadata: list[Any], tp: Any, prefix: str = "") -> str:
    """Numeric bounds and sizes, from `Field(ge=..., ...)` on the setting or inside its type."""
    limits: dict[str, Any] = {}
    rules = [item.text for item in metadata if isinstance(item, Rule)]
    for item in metadata:
        for constraint in item.metadata if isinstance(item, FieldInfo) else [item]:
            if isinstance(constraint, annotated_types.BaseMetadata):
                limits.update({attr: getattr(constraint, attr) for attr in
                               ("ge", "gt", "le", "lt", "min_length")
                               if getattr(constraint, attr, None) is not None})
    parts = []
    if "ge" in limits and "le" in limits:
        parts.append(f"{_number(limits['ge'])} to {_number(limits['le'])}")
    else:
        parts += [f"{sign} {_number(limits[attr])}" for attr, sign in
                  (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if attr in limits]
    if "min_length" in limits:
        parts.append(f"at least {limits['min_length']} entry")
    text = "; ".join([*(f"{prefix}{p}" for p in parts), *rules])
    if get_origin(tp) is Annotated:
        base, *inner = get_args(tp)
        return "; ".join(filter(None, (text, _bounds(inner, base, prefix))))
    origin, args = get_origin(tp), get_args(tp)
    nested = ""
    if origin in (Union, UnionType):
        nested = "; ".join(filter(None, (_bounds([], a, prefix) for a in args)))
    elif origin is tuple:
        nested = _bounds([], args[0], "each ")
    elif origin is dict:
        nested = _bounds([], args[1], "each ")
    return "; ".join(filter(None, (text, nested)))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_block(name: str, value: Any) -> str:
    if isinstance(value, dict):
        body = "\n".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items())
        text = f"[{name}]\n{body}"
    else:
        text = f"{name} = {_toml(value)}"
    return f"The default `{name}`:\n\n```toml\n{text}\n```\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.settings",
        description="Print the settings reference generated from the model, or write it into "
                    "docs/configuration.md.")
    parser.add_argument("--docs", action="store_true",
                        help="rewrite the generated reference in docs/configuration.md")
    if parser.parse_args(argv).docs:
        DOCS.write_text(with_reference(DOCS.read_text()))
        print(f"wrote the settings reference into {DOCS}")
    else:
        print(settings_reference_markdown())


if __name__ == "__main__":
    main()
