"""The one retry, timeout and pacing policy every connector's HTTP goes through.

Built on urllib3's `Retry`: 429 and 5xx are retried with exponential backoff, `Retry-After` is
honoured, and POST is retried too (the default policy never retries POST, which is how
HubSpot search 429s escape other clients). Every request gets a timeout.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from connectors.errors import SourceAuthError, SourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_ENV = "CSM_METRICS_HTTP_TIMEOUT"


def default_timeout() -> tuple[float, float]:
    """(connect, read) seconds for every request; `CSM_METRICS_HTTP_TIMEOUT` sets the read part."""
    return (10.0, float(os.environ.get(TIMEOUT_ENV) or 120.0))


class ApiRetry(Retry):
    """urllib3's Retry, except for paths whose failures are final (a login's fault, say)."""

    def __init__(self, *args: Any, never_retry: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.never_retry = never_retry

    def new(self, **kwargs: Any) -> ApiRetry:
        renewed = super().new(**kwargs)
        renewed.never_retry = self.never_retry
        return renewed

    def increment(self, method: str | None = None, url: str | None = None,
                  *args: Any, **kwargs: Any) -> ApiRetry:
        if url and any(path in url for path in self.never_retry):
            # Exhausted at once: with raise_on_status off, the response goes back as it is.
            raise MaxRetryError(kwargs.get("_pool"), url, kwargs.get("error"))  # type: ignore[arg-type]
        return super().increment(method, url, *args, **kwargs)


def retry_policy(total: int = 6, backoff_factor: float = 0.5,
                 never_retry: tuple[str, ...] = ()) -> ApiRetry:
    return ApiRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor,
        backoff_max=60,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # retry every method, POST included
        respect_retry_after_header=True,
        raise_on_status=False,  # hand back the last response so its error can be reported
        never_retry=never_retry,
    )


class ApiSession(requests.Session):
    """A `requests.Session` with the retry policy mounted, a default timeout, and optional pacing
    (a minimum interval between requests, for APIs such as Toggl's ~1 request/second)."""

    def __init__(self, min_interval: float = 0.0, timeout: tuple[float, float] | None = None,
                 retry: Retry | None = None) -> None:
        super().__init__()
        adapter = HTTPAdapter(max_retries=retry or retry_policy())
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.timeout = timeout or default_timeout()
        self.min_interval = min_interval
        self.request_count = 0
        self._last = 0.0
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.request_count += 1
        return super().request(method, url, *args, **kwargs)


def send(session: requests.Session, method: str, url: str, *, source: str, what: str,
         credentials: str, **kwargs: Any) -> requests.Response:
    """One request through the session's retry policy, its failures as clear `SourceError`s.

    The message names the stream and the variables to check; it never quotes request headers,
    where the credentials travel.
    """
    try:
        response = session.request(method, url, **kwargs)
    except requests.RequestException as error:
        raise SourceError(source, f"{what}: {type(error).__name__} talking to the API") from error
    if response.status_code in (401, 403):
        raise SourceAuthError(source, f"{what}: HTTP {response.status_code} "
                              f"{response.text[:200]!r}; check {credentials}")
    if response.status_code >= 400:
        raise SourceError(source, f"{what} failed with HTTP {response.status_code}: "
                          f"{response.text[:300]}", response.status_code, response.headers)
    return response


def json_of(response: requests.Response, source: str, what: str) -> Any:
    """The response's JSON, or a clear error when the body is cut short or not JSON."""
    try:
        return response.json()
    except ValueError as error:
        raise SourceError(source, f"{what}: the API sent a body that is not valid JSON "
                          f"({len(response.content)} bytes; truncated?)") from error
