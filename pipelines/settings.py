"""The business-rule settings file: one TOML file whose path `CSM_METRICS_SETTINGS` names.

Every key has a default that works without the file. Loading validates every key and value and
fails with one message that names the offending key, so a typo never silently falls back to a
default. docs/configuration.md documents each key.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster._utils.schedules import is_valid_cron_string

SETTINGS_ENV = "CSM_METRICS_SETTINGS"
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
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Person:
    """A roster entry: extra e-mails for a person and their per-person settings."""

    email: str
    name: str | None = None
    aliases: tuple[str, ...] = ()
    annual_cost: float | None = None
    fte: float | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True)
class Settings:
    reporting_timezone: str = "UTC"
    reporting_currency: str = "USD"
    # Units of the reporting currency per unit of another currency; others are quarantined.
    currency_rates: dict[str, float] = field(default_factory=dict)
    first_month: str = "2023-01"
    fiscal_year_start_month: int = 1
    default_term_months: int = 12
    # CRM fields: the account owner, and a deal's term (months) and service start, if any.
    salesforce_owner_field: str = "OwnerId"
    hubspot_owner_property: str = "hubspot_owner_id"
    salesforce_term_field: str | None = None
    salesforce_start_field: str | None = None
    hubspot_term_property: str | None = None
    hubspot_start_property: str | None = None
    # More fields to pull and keep in raw, per stream, e.g. {"accounts": ["Region__c"]}.
    salesforce_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hubspot_properties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # People: defaults for anyone the roster does not list.
    default_annual_cost: float = 100_000.0
    default_fte: float = 1.0
    working_hours_per_weekday: float = 8.0
    roster: tuple[Person, ...] = ()
    # Benchmarks: (low, high) bands; segments by ARR lower bound.
    arr_band: tuple[float, float] = (1_000_000.0, 2_000_000.0)
    accounts_band: tuple[float, float] = (10.0, 15.0)
    segments: dict[str, float] = field(default_factory=lambda: {
        "enterprise": 100_000.0, "mid_market": 25_000.0, "smb": 0.0})
    # Hours: leave, activity keywords, and tracker names that mean an account.
    leave_projects: tuple[str, ...] = ("leave", "pto", "vacation", "holiday", "time off")
    leave_tags: tuple[str, ...] = ("leave", "pto", "vacation", "holiday", "sick")
    activity_keywords: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_KEYWORDS))
    account_aliases: dict[str, str] = field(default_factory=dict)
    # Schedules (cron, in the reporting time zone): refresh the open month every day; close the
    # previous month a few days in, once late time entries are in.
    daily_refresh_cron: str = "0 3 * * *"
    monthly_close_cron: str = "0 5 3 * *"
    source: str = field(default="defaults", compare=False)

    @property
    def first_month_start(self) -> date:
        return date.fromisoformat(f"{self.first_month}-01")

    def for_warehouse(self) -> dict[str, Any]:
        """The scalar values the SQL models read from `staging.settings`."""
        return {
            "reporting_timezone": self.reporting_timezone,
            "reporting_currency": self.reporting_currency,
            "fiscal_year_start_month": self.fiscal_year_start_month,
            "default_term_months": self.default_term_months,
            "salesforce_owner_field": self.salesforce_owner_field,
            "hubspot_owner_property": self.hubspot_owner_property,
            "salesforce_term_field": self.salesforce_term_field,
            "salesforce_start_field": self.salesforce_start_field,
            "hubspot_term_property": self.hubspot_term_property,
            "hubspot_start_property": self.hubspot_start_property,
            "default_annual_cost": self.default_annual_cost,
            "default_fte": self.default_fte,
            "working_hours_per_weekday": self.working_hours_per_weekday,
            "arr_band_low": self.arr_band[0], "arr_band_high": self.arr_band[1],
            "accounts_band_low": self.accounts_band[0],
            "accounts_band_high": self.accounts_band[1],
            "leave_projects": [p.lower() for p in self.leave_projects],
            "leave_tags": [t.lower() for t in self.leave_tags],
        }

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The list-shaped settings, as rows of `staging.<name>` tables."""
        return {
            "roster": [{"email": p.email, "name": p.name, "annual_cost": p.annual_cost,
                        "fte": p.fte, "start_date": p.start_date, "end_date": p.end_date}
                       for p in self.roster],
            "roster_aliases": [{"alias": a, "email": p.email} for p in self.roster
                               for a in p.aliases],
            "currency_rates": [{"currency": c, "rate": r} for c, r in self.currency_rates.items()],
            "segments": [{"segment": s, "lower_bound": b} for s, b in self.segments.items()],
            "activity_keywords": [{"activity": a, "keyword": k.lower(), "priority": i}
                                  for i, (a, words) in enumerate(self.activity_keywords.items())
                                  for k in words],
            "account_aliases": [{"name": n, "account_id": a}
                                for n, a in self.account_aliases.items()],
        }

    def extra_fields(self, source: str) -> dict[str, tuple[str, ...]]:
        """CRM fields beyond the defaults that these settings need pulled, per stream."""
        if source == "salesforce":
            account = tuple(f for f in (self.salesforce_owner_field,) if f != "OwnerId")
            deal = tuple(f for f in (self.salesforce_term_field, self.salesforce_start_field)
                         if f)
            needed = {"accounts": account, "opportunities": deal}
            configured = self.salesforce_fields
        elif source == "hubspot":
            deal = tuple(f for f in (self.hubspot_term_property, self.hubspot_start_property)
                         if f)
            needed = {"companies": (self.hubspot_owner_property,), "deals": deal}
            configured = self.hubspot_properties
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
    known = {f.name for f in fields(Settings) if f.name != "source"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(f"{source}: unknown setting '{key}' "
                                f"(known: {', '.join(sorted(known))})")
        values[key] = _check(_Fail(source, key, value), key, value)
    return Settings(**values, source=source)


@dataclass
class _Fail:
    source: str
    key: str
    value: Any

    def __call__(self, expected: str) -> SettingsError:
        return SettingsError(f"{self.source}: setting '{self.key}' must be {expected}, "
                             f"got {self.value!r}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check(fail: _Fail, key: str, value: Any) -> Any:
    if key == "reporting_timezone":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("an IANA time zone such as 'Europe/Berlin'") from None
        return value
    if key == "reporting_currency":
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha()):
            raise fail("a three-letter ISO currency code")
        return value.upper()
    if key == "currency_rates":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and len(k) == 3 and _number(v) and v > 0
                for k, v in value.items()):
            raise fail("a table of three-letter currency codes to positive rates")
        return {k.upper(): float(v) for k, v in value.items()}
    if key == "first_month":
        try:
            date.fromisoformat(f"{value}-01")
        except (TypeError, ValueError):
            raise fail("a month written YYYY-MM") from None
        return value
    if key == "fiscal_year_start_month":
        if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12):
            raise fail("a month number from 1 to 12")
        return value
    if key == "default_term_months":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise fail("a positive whole number of months")
        return value
    if key in ("salesforce_owner_field", "hubspot_owner_property", "salesforce_term_field",
               "salesforce_start_field", "hubspot_term_property", "hubspot_start_property"):
        if not (isinstance(value, str) and _FIELD_NAME.match(value)):
            raise fail("a field's API name (letters, digits, underscores)")
        return value
    if key in ("salesforce_fields", "hubspot_properties"):
        streams = {"salesforce_fields": ("users", "accounts", "opportunities"),
                   "hubspot_properties": ("companies", "deals")}[key]
        if not isinstance(value, dict) or not all(
                k in streams and _strings(v) and all(_FIELD_NAME.match(f) for f in v)
                for k, v in value.items()):
            raise fail(f"a table of streams ({', '.join(streams)}) to lists of field names")
        return {k: tuple(v) for k, v in value.items()}
    if key in ("default_annual_cost", "working_hours_per_weekday"):
        if not _number(value) or value < 0:
            raise fail("a non-negative number")
        return float(value)
    if key == "default_fte":
        if not _number(value) or not 0 <= value <= 1.5:
            raise fail("a number from 0 to 1.5")
        return float(value)
    if key in ("arr_band", "accounts_band"):
        if not (isinstance(value, list) and len(value) == 2 and all(map(_number, value))
                and 0 <= value[0] <= value[1]):
            raise fail("a pair [low, high] with 0 <= low <= high")
        return (float(value[0]), float(value[1]))
    if key == "segments":
        if not isinstance(value, dict) or not value or not all(
                isinstance(k, str) and _number(v) and v >= 0 for k, v in value.items()):
            raise fail("a table of segment names to ARR lower bounds")
        return {k: float(v) for k, v in value.items()}
    if key in ("leave_projects", "leave_tags"):
        if not _strings(value):
            raise fail("a list of strings")
        return tuple(value)
    if key == "activity_keywords":
        if not isinstance(value, dict) or not all(
                k in ACTIVITIES and _strings(v) for k, v in value.items()):
            raise fail(f"a table of activities ({', '.join(ACTIVITIES)}) to keyword lists")
        return {k: tuple(v) for k, v in value.items()}
    if key == "account_aliases":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and re.match(r"^(sf|hs):\S+$", v)
                for k, v in value.items()):
            raise fail("a table of tracker names to account ids such as 'sf:001...' or 'hs:123'")
        return dict(value)
    if key in ("daily_refresh_cron", "monthly_close_cron"):
        if not (isinstance(value, str) and is_valid_cron_string(value)):
            raise fail("a cron expression such as '0 3 * * *'")
        return value
    if key == "roster":
        return tuple(_person(fail, entry) for entry in _list_of_tables(fail, value))
    raise fail("valid")  # pragma: no cover - every known key is handled above


def _list_of_tables(fail: _Fail, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail("a list of [[roster]] tables")
    return value


def _person(fail: _Fail, entry: dict[str, Any]) -> Person:
    allowed = {"email", "name", "aliases", "annual_cost", "fte", "start_date", "end_date"}
    unknown = set(entry) - allowed
    if unknown:
        raise fail(f"[[roster]] entries with keys among {sorted(allowed)}; "
                   f"unknown {sorted(unknown)} in entry")
    email = entry.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise fail("[[roster]] entries each with an e-mail")
    aliases = entry.get("aliases", [])
    if not _strings(aliases) or not all("@" in a for a in aliases):
        raise fail(f"e-mail aliases for {email}")
    cost, fte = entry.get("annual_cost"), entry.get("fte")
    if cost is not None and (not _number(cost) or cost < 0):
        raise fail(f"a non-negative annual_cost for {email}")
    if fte is not None and (not _number(fte) or not 0 <= fte <= 1.5):
        raise fail(f"an fte from 0 to 1.5 for {email}")
    dates = {k: entry.get(k) for k in ("start_date", "end_date")}
    for name, day in dates.items():
        if day is not None and not isinstance(day, date):
            raise fail(f"{name} for {email} as a TOML date (2025-01-31, unquoted)")
    if dates["start_date"] and dates["end_date"] and dates["end_date"] < dates["start_date"]:
        raise fail(f"an end_date after the start_date for {email}")
    return Person(email=email.strip().lower(), name=entry.get("name"),
                  aliases=tuple(a.strip().lower() for a in aliases),
                  annual_cost=None if cost is None else float(cost),
                  fte=None if fte is None else float(fte),
                  start_date=dates["start_date"], end_date=dates["end_date"])
