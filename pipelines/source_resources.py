"""What every source resource declares the same way: its HTTP timeout, and a base URL that must
not carry credentials in clear text (http:// off loopback), checked when the code location loads
(the `EnvVar`'s value) and when a run builds the resource, naming the variable."""

from __future__ import annotations

from typing import Any

from dagster import EnvVar
from pydantic import Field, field_validator

from connectors.http import READ_TIMEOUT, require_secure_url


def timeout_field() -> Any:
    return Field(default=READ_TIMEOUT, gt=0,
                 description="Seconds to wait for an answer before retrying")


def setting_value(setting: Any) -> Any:
    """A setting's value: an `EnvVar` (the code location loading) reads its variable."""
    return setting.get_value() if isinstance(setting, EnvVar) else setting


def secure_url(field: str, variable: str, source: str, bare_host: bool = False) -> Any:
    """A validator refusing a clear-text `field`; assign it in the resource's class body."""

    def check(cls: type, value: Any) -> Any:
        require_secure_url(setting_value(value), variable, source, bare_host=bare_host)
        return value

    return field_validator(field, mode="before")(check)
