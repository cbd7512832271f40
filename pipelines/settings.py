"""The business-rule settings file: one TOML file whose path `CSM_METRICS_SETTINGS` names.

Every key has a default that works without the file. Loading validates every key and value and
fails with one message that names the offending key, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SETTINGS_ENV = "CSM_METRICS_SETTINGS"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    # Periods are calendar months in this IANA time zone.
    reporting_timezone: str = "UTC"
    # Amounts are in this currency; a deal in another one is quarantined (no silent mixing).
    reporting_currency: str = "USD"
    # The first month the pipeline has partitions for (YYYY-MM).
    first_month: str = "2023-01"
    # A won deal's term when it carries none.
    default_term_months: int = 12
    # Tracker entries on these projects or with these tags are leave, not work (any case).
    leave_projects: tuple[str, ...] = ("leave", "pto", "vacation", "holiday", "time off")
    leave_tags: tuple[str, ...] = ("leave", "pto", "vacation", "holiday", "sick")
    source: str = field(default="defaults", compare=False)

    @property
    def first_month_start(self) -> date:
        return date.fromisoformat(f"{self.first_month}-01")

    def for_warehouse(self) -> dict[str, Any]:
        """The values the SQL models read from `staging.settings`."""
        values = asdict(self)
        values.pop("source")
        values["leave_projects"] = [p.lower() for p in self.leave_projects]
        values["leave_tags"] = [t.lower() for t in self.leave_tags]
        return values


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
    known = {f.name: f for f in fields(Settings) if f.name != "source"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(f"{source}: unknown setting '{key}' "
                                f"(known: {', '.join(sorted(known))})")
        values[key] = _check(source, key, value)
    return Settings(**values, source=source)


def _check(source: str, key: str, value: Any) -> Any:
    def fail(expected: str) -> SettingsError:
        return SettingsError(f"{source}: setting '{key}' must be {expected}, got {value!r}")

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
    if key == "first_month":
        try:
            date.fromisoformat(f"{value}-01")
        except (TypeError, ValueError):
            raise fail("a month written YYYY-MM") from None
        return value
    if key == "default_term_months":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise fail("a positive whole number of months")
        return value
    if key in ("leave_projects", "leave_tags"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail("a list of strings")
        return tuple(value)
    raise fail("valid")  # pragma: no cover - every known key is handled above
