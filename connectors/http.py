"""The one retry, timeout and pacing policy every connector's HTTP goes through.

Built on urllib3's `Retry`: 429 and 5xx are retried with exponential backoff, `Retry-After` is
honoured, and POST is retried too (the default policy never retries POST, which is how
HubSpot search 429s escape other clients). Every request gets a timeout.

Credentials stay with the host they are for. `requests` strips `Authorization` on a redirect to
another host but keeps custom headers (Clockify's `X-Api-Key`), and urllib3 (HubSpot's client)
follows redirects itself: both are refused here when they leave the origin, before the request is
sent. Base URLs must be https://, or http:// on loopback only. TLS trust is `requests`' own:
`REQUESTS_CA_BUNDLE` (else `CURL_CA_BUNDLE`, else certifi) replaces the default trust, and
`ca_bundle()` gives HubSpot's urllib3 client the same file. A certificate that fails
verification is final, not retried (docs/connectors.md).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError, MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from connectors.errors import (
    SourceAuthError,
    SourceError,
    SourceNotConfigured,
    SourceRetryableError,
)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CONNECT_TIMEOUT = 10.0
# Seconds to wait for an answer; the pipeline passes the deployment's (`CSM_METRICS_HTTP_TIMEOUT`,
# pipelines/deployment.py) to each connector.
READ_TIMEOUT = 120.0


def default_timeout(read: float | None = None) -> tuple[float, float]:
    """(connect, read) seconds for every request."""
    return (CONNECT_TIMEOUT, read or READ_TIMEOUT)


class RetryAfterTooLong(HTTPError):
    """The API asked to wait longer than a run should sit idle (and hold its slot)."""


class ApiRetry(Retry):
    """urllib3's Retry, except for paths whose failures are final (a login's fault, say), and
    a `Retry-After` beyond `max_retry_after` seconds, which fails at once rather than wait."""

    max_retry_after = 300.0

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        wait = self.get_retry_after(response)
        if wait is not None and wait > self.max_retry_after:
            raise RetryAfterTooLong(
                f"the API asked for a Retry-After of {wait:g}s, more than the "
                f"{self.max_retry_after:g}s a run waits: re-run once its limit has reset")
        return super().sleep_for_retry(response)

    def __init__(self, *args: Any, never_retry: tuple[str, ...] = (), source: str = "api",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.never_retry = never_retry
        self.source = source  # named in a refused redirect

    def new(self, **kwargs: Any) -> ApiRetry:
        renewed = super().new(**kwargs)
        renewed.never_retry = self.never_retry
        renewed.source = self.source
        return renewed

    def increment(self, method: str | None = None, url: str | None = None,
                  *args: Any, **kwargs: Any) -> ApiRetry:
        pool, response = kwargs.get("_pool"), kwargs.get("response")
        location = response.get_redirect_location() if response is not None else None
        if url and location:  # urllib3 following a redirect itself (HubSpot's client)
            if not urlsplit(url).netloc and pool is not None:
                url = f"{pool.scheme}://{pool.host}:{pool.port}{url}"
            refuse_cross_host_redirect(self.source, url, location)
        if (url and any(path in url for path in self.never_retry)) or \
                _certificate_failure(kwargs.get("error")):
            # Exhausted at once: with raise_on_status off, the response goes back as it is; an
            # untrusted certificate is as untrusted on the sixth try.
            raise MaxRetryError(pool, url, kwargs.get("error"))  # type: ignore[arg-type]
        return super().increment(method, url, *args, **kwargs)


def retry_policy(total: int = 6, backoff_factor: float = 0.5,
                 never_retry: tuple[str, ...] = (), source: str = "api") -> ApiRetry:
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
        source=source,
    )


class ApiSession(requests.Session):
    """A `requests.Session` with the retry policy mounted, a default timeout, optional pacing
    (a minimum interval between requests, for APIs such as Toggl's ~1 request/second), and no
    redirect to another host (`source` names the API in that error)."""

    def __init__(self, min_interval: float = 0.0, timeout: tuple[float, float] | None = None,
                 retry: Retry | None = None, source: str = "api") -> None:
        super().__init__()
        self.source = source
        adapter = HTTPAdapter(max_retries=retry or retry_policy())
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.timeout = timeout or default_timeout()
        self.min_interval = min_interval
        self.request_count = 0
        # Seconds spent waiting on the API (pacing, the exchange, retries and their backoff):
        # what a pull's time is not the pipeline's own (benchmarks/ reports the rest).
        self.http_seconds = 0.0
        self._last = 0.0
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        started = time.monotonic()
        with self._lock:
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.request_count += 1
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            self.http_seconds += time.monotonic() - started

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """Where `requests` would go next: refused before it goes when that is another host."""
        target = super().get_redirect_target(resp)
        if target:
            refuse_cross_host_redirect(self.source, resp.url, target)
        return target


def _origin(url: str) -> str:
    """`scheme://host:port`, the port written out: what a credential is meant for."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def refuse_cross_host_redirect(source: str, current: str, location: str) -> None:
    """Raise when a redirect from `current` to `location` (maybe relative) leaves its origin.

    An upgrade from http:// to https:// on the default ports of the same host is the one change
    allowed (as `requests` itself keeps credentials there); a downgrade or another port is not.
    """
    target = urljoin(current, location)
    here, there = urlsplit(current), urlsplit(target)
    if _origin(current) == _origin(target) or (
            here.hostname == there.hostname and here.scheme == "http"
            and there.scheme == "https" and here.port in (None, 80)
            and there.port in (None, 443)):
        return
    raise SourceError(source, f"the API at {_origin(current)} answered with a redirect to "
                      f"another host, {_origin(target)}: not followed, so that no credential "
                      "is sent there (check the base URL: a moved API or a proxy?)")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: traffic that never leaves the machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str | None, variable: str, source: str,
                       bare_host: bool = False) -> None:
    """Refuse a base URL that would carry credentials in clear text or nowhere sensible: it
    must be https://, or http:// on loopback (the sandbox's fakes). `bare_host` accepts a host
    without a scheme (how a Salesforce instance URL may be written), meaning https."""
    if not url:
        return
    parts = urlsplit(f"https://{url}" if bare_host and "://" not in url else url)
    try:
        host, _ = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        host = None
    if host and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))):
        return
    shown = f"{parts.scheme}://{host}" if parts.scheme and host else "a URL without scheme/host"
    raise SourceNotConfigured(source, f"{variable} must be an https:// URL (http:// only on "
                              f"loopback: 127.0.0.0/8, ::1, localhost), not {shown}")


def ca_bundle() -> str:
    """The CA file `requests` verifies TLS against: `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE`,
    else certifi's. The variable replaces the default trust; it does not add to it."""
    return (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            or requests.utils.DEFAULT_CA_BUNDLE_PATH)


def _causes(error: BaseException | None) -> list[BaseException]:
    """An error and everything it wraps (causes, contexts, urllib3's `reason`, args)."""
    found: list[BaseException] = []
    stack = [error]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is seen for seen in found):
            continue
        found.append(item)
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return found


def _certificate_failure(error: BaseException | None) -> ssl.SSLCertVerificationError | None:
    return next((e for e in _causes(error) if isinstance(e, ssl.SSLCertVerificationError)),
                None)


def tls_failure(error: BaseException) -> str | None:
    """What went wrong with TLS behind a client's error, said plainly; None when nothing did."""
    certificate = _certificate_failure(error)
    if certificate is not None:
        return (f"TLS: the server's certificate is not trusted ({certificate.verify_message}); "
                "trust comes from the CA bundle file in REQUESTS_CA_BUNDLE, which replaces the "
                "default trust rather than adding to it")
    handshake = next((e for e in _causes(error) if isinstance(e, ssl.SSLError)), None)
    if handshake is not None:
        return (f"TLS handshake failed ({handshake.reason or type(handshake).__name__}); check "
                "the base URL and REQUESTS_CA_BUNDLE")
    return None


def transport_error(source: str, what: str, error: BaseException) -> SourceError:
    """A request that got no HTTP answer, as a `SourceError`: a TLS failure is final (trust is
    configuration); a lost connection is retryable. Never the request's headers."""
    tls = tls_failure(error)
    if tls:
        return SourceError(source, f"{what}: {tls}")
    return SourceRetryableError(source, f"{what}: {type(error).__name__} talking to the API")


def send(session: requests.Session, method: str, url: str, *, source: str, what: str,
         credentials: str, **kwargs: Any) -> requests.Response:
    """One request through the session's retry policy, its failures as clear `SourceError`s.

    The message names the stream and the variables to check; it never quotes request headers,
    where the credentials travel.
    """
    try:
        response = session.request(method, url, **kwargs)
    except RetryAfterTooLong as error:
        raise SourceError(source, f"{what}: {error}") from error
    except requests.RequestException as error:
        raise transport_error(source, what, error) from error
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
