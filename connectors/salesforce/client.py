"""Salesforce through simple-salesforce: SOQL pages followed by `nextRecordsUrl`.

simple-salesforce always builds https:// URLs from the instance URL (a port is kept), so a local
fake must speak TLS; trust comes from `REQUESTS_CA_BUNDLE`, which `requests` lets override a
session's `verify`. Pages are read with `query` then `query_more` so that one page at a time is
in memory (`query_all` would build the whole result).

Incremental pulls ask for records whose cursor is at or after the stored watermark less a small
overlap, ordered by the cursor, through `queryAll` so that deleted records arrive flagged
`IsDeleted` rather than vanishing. Records read twice at the boundary are merged on Id. The API
limit answers 403 REQUEST_LIMIT_EXCEEDED (not 429): the pull stops cleanly with what it read.

A pull of more records than `bulk_threshold` (the first page's `totalSize` tells) goes through
Bulk API 2.0 instead: one `queryAll` job, its CSV results read a page at a time through
`Sforce-Locator`.
Bulk CSV carries every value as text (empty for null); the staging SQL casts either form. Each
results page is handed on as the CSV text it is (`RawPage` of shape `csv`, connectors/pages.py),
read by DuckDB's CSV reader; REST pages stay dicts, as simple-salesforce parses them (its
`query`/`query_more` return only the parsed body, and its session refresh and error mapping come
with them).
Bulk failures map to the same errors as REST ones: a refused session is a `SourceAuthError`, a
spent limit a `SourceLimitReached` that keeps nothing (bulk pages are not in cursor order), and a
job that ends `Failed` or `Aborted` (simple-salesforce's `SalesforceOperationError`, not a
`SalesforceError`) a `SourceRetryableError`.

An object the org does not have answers 400 `INVALID_TYPE`. For an optional stream (EmailMessage,
only in orgs with Enhanced Email) that means "not available here": the read logs a warning naming
the object and yields nothing, so nothing lands, the cursor stays, and the next pull asks again.
The feedback stream reads the custom object the settings name; none named, it yields nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)

from connectors.errors import (
    SourceAuthError,
    SourceError,
    SourceLimitReached,
    SourceNotConfigured,
    SourceRetryableError,
)
from connectors.http import (
    ApiSession,
    default_timeout,
    require_secure_url,
    retry_policy,
    transport_error,
)
from connectors.pages import RawPage
from connectors.salesforce.streams import STREAMS, SoqlStream
from connectors.streams import AnyPage, Window

API_VERSION = "59.0"
LOGIN_PATHS = ("/services/Soap/u/",)
# Re-read this much before the watermark: records committed late with an earlier timestamp.
OVERLAP = timedelta(minutes=5)

_logger = logging.getLogger("connectors.salesforce")


class SalesforceConnector:
    source = "salesforce"
    streams = STREAMS
    # No windowed streams: CRM streams are full or incremental pulls.
    max_window_months: int | None = 1

    def __init__(
        self,
        instance_url: str | None = None,
        access_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        security_token: str | None = None,
        domain: str | None = None,
        batch_size: int = 2000,
        session: ApiSession | None = None,
        extra_fields: Mapping[str, Sequence[str]] | None = None,
        history_field: str = "Owner",
        bulk_threshold: int | None = 100_000,
        bulk_page_size: int = 50_000,
        timeout: float | None = None,
        feedback_object: str | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        require_secure_url(instance_url, "SALESFORCE_INSTANCE_URL", "salesforce", bare_host=True)
        # A login's SOAP fault (HTTP 500) is final: never retried like other 5xx.
        self.session = session or ApiSession(retry=retry_policy(never_retry=LOGIN_PATHS),
                                             timeout=default_timeout(timeout),
                                             source="salesforce")
        self.batch_size = batch_size
        # Fields beyond a stream's defaults (a custom owner lookup, a deal's term), per stream.
        self.extra_fields = {k: tuple(v) for k, v in (extra_fields or {}).items()}
        # AccountHistory's `Field` for the owner: `Owner`, or a custom field's API name.
        self.history_field = history_field
        # Pulls of more records than this go through Bulk API 2.0 (None: never).
        self.bulk_threshold = bulk_threshold
        self.bulk_page_size = bulk_page_size
        # The custom object of survey responses (settings' `salesforce_feedback_object`).
        self.feedback_object = feedback_object
        # Where warnings go (a Dagster run's log); the module's logger by default.
        self.log = log or _logger.warning
        if instance_url and access_token:
            netloc = urlsplit(instance_url).netloc or instance_url
            self.client = Salesforce(instance_url=f"https://{netloc}", session_id=access_token,
                                     version=API_VERSION, session=self.session)
        elif username and password:
            try:
                self.client = Salesforce(username=username, password=password,
                                         security_token=security_token or "", domain=domain,
                                         version=API_VERSION, session=self.session)
            except SalesforceAuthenticationFailed as error:
                raise SourceAuthError(
                    "salesforce", f"login refused ({error.code}): check SALESFORCE_USERNAME, "
                    "SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN and SALESFORCE_DOMAIN"
                ) from None
        else:
            raise SourceNotConfigured(
                "salesforce", "set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, or "
                "SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN")

    def fields(self, stream: SoqlStream) -> tuple[str, ...]:
        """What a read of the stream asks for: its own fields, then the settings' extra ones."""
        return tuple(dict.fromkeys((*stream.fields, *self.extra_fields.get(stream.name, ()))))

    def soql(self, stream: SoqlStream, since: str | None = None, ordered: bool = True) -> str:
        fields = self.fields(stream)
        order = f" ORDER BY {stream.cursor_field}" if stream.cursor_field and ordered else ""
        where = self._where(stream, since)
        return f"SELECT {', '.join(fields)} FROM {self.sobject(stream)}{where}{order}"

    def sobject(self, stream: SoqlStream) -> str | None:
        """The object a stream reads: its own, or the one the settings name."""
        return self.feedback_object if stream.configured_object else stream.sobject

    def _where(self, stream: SoqlStream, since: str | None) -> str:
        conditions = []
        if stream.where:
            conditions.append(format_soql(stream.where, history_field=self.history_field))
        if since and stream.cursor_field:
            watermark = datetime.strptime(since, "%Y-%m-%dT%H:%M:%S.%f%z") - OVERLAP
            conditions.append(format_soql(f"{stream.cursor_field} >= {{watermark}}",
                                          watermark=watermark))
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    def read(self, stream: SoqlStream, window: Window | None = None,
             since: str | None = None) -> Iterator[AnyPage]:
        headers = {"Sforce-Query-Options": f"batchSize={self.batch_size}"}
        sobject = self.sobject(stream)
        if not sobject:
            return  # no object named in the settings: nothing to read
        try:
            result: dict[str, Any] = self.client.query(self.soql(stream, since), headers=headers,
                                                       include_deleted=True)
            # The first page tells the whole query's size: a large pull switches to Bulk 2.0.
            if self.bulk_threshold is not None and result["totalSize"] > self.bulk_threshold:
                yield from self._bulk(stream, since)
                return
            while True:
                yield [_plain(record) for record in result["records"]]
                if result.get("done", True) or not result.get("nextRecordsUrl"):
                    return
                result = self.client.query_more(result["nextRecordsUrl"],
                                                identifier_is_url=True, headers=headers)
        except ValueError as error:  # simple-salesforce parses each page's JSON
            raise SourceError("salesforce", f"{sobject}: the API sent a body that is not "
                              "valid JSON (truncated?)") from error
        except SalesforceRefusedRequest as error:
            if "REQUEST_LIMIT_EXCEEDED" in str(error.content):
                raise SourceLimitReached("salesforce", f"{sobject}: the org's API request "
                                         f"limit is spent ({self.api_usage}); the pull stopped "
                                         "with what it read and resumes next run") from error
            raise SourceError("salesforce", f"{sobject} refused (403): "
                              f"{_messages(error.content)}") from error
        except SalesforceExpiredSession as error:
            raise SourceAuthError("salesforce", "the session or access token was refused (401): "
                                  "check SALESFORCE_ACCESS_TOKEN") from error
        except SalesforceMalformedRequest as error:
            if stream.optional and "INVALID_TYPE" in _codes(error.content):
                self.log(f"salesforce: {sobject} is not available in this org (INVALID_TYPE), "
                         f"so {stream.name} was not pulled; the next pull tries again "
                         "(docs/connectors.md)")
                return
            raise SourceError("salesforce", f"{sobject} query failed with HTTP "
                              f"{error.status}: {_messages(error.content)}") from error
        except SalesforceError as error:
            raise SourceError("salesforce", f"{sobject} query failed with HTTP "
                              f"{error.status}: {_messages(error.content)}") from error
        except requests.RequestException as error:
            raise transport_error("salesforce", sobject, error) from error

    def _bulk(self, stream: SoqlStream, since: str | None) -> Iterator[RawPage]:
        sobject = str(self.sobject(stream))
        job = getattr(self.client.bulk2, sobject)
        what = f"{sobject} (Bulk API query)"
        try:
            for text in job.query_all(self.soql(stream, since, ordered=False),
                                      max_records=self.bulk_page_size, wait=0):
                yield RawPage(str(text), "csv")
        except SalesforceExpiredSession as error:
            raise SourceAuthError("salesforce", f"{what}: the session or access token was "
                                  "refused (401): check SALESFORCE_ACCESS_TOKEN") from error
        except SalesforceRefusedRequest as error:
            if "REQUEST_LIMIT_EXCEEDED" in str(error.content):
                # Bulk pages are not in cursor order: a cut-short bulk pull keeps nothing.
                raise SourceLimitReached(
                    "salesforce", f"{what}: the org's API request limit is spent "
                    f"({self.api_usage}); bulk pages are not in cursor order, so nothing of "
                    "this pull is kept: run again once the limit refills",
                    resumable=False) from error
            raise SourceError("salesforce", f"{what} refused (403): "
                              f"{self._scrub(_messages(error.content))}") from error
        except SalesforceError as error:
            raise SourceError("salesforce", f"{what} failed with HTTP {error.status}: "
                              f"{self._scrub(_messages(error.content))}") from error
        except SalesforceOperationError as error:  # the job ended Failed or Aborted, or timed out
            raise SourceRetryableError("salesforce", f"{what}: the bulk job did not complete: "
                                       f"{self._scrub(str(error))[:500]}") from error
        except KeyError as error:  # a results page without its Sforce-NumberOfRecords header
            raise SourceError("salesforce", f"{what}: a results page lacks the {error} "
                              "header") from error
        except ValueError as error:  # a job's JSON, cut short
            raise SourceError("salesforce", f"{what}: the API sent a body that is not valid "
                              "JSON (truncated?)") from error
        except requests.RequestException as error:
            raise transport_error("salesforce", what, error) from error

    def _scrub(self, text: str) -> str:
        """Salesforce's own message, without the session id should it ever quote it."""
        session_id = getattr(self.client, "session_id", None)
        return text.replace(session_id, "***") if session_id else text

    @property
    def request_count(self) -> int:
        return self.session.request_count

    @property
    def http_seconds(self) -> float:
        return self.session.http_seconds

    @property
    def api_usage(self) -> dict[str, Any]:
        return {name: {"used": u.used, "total": u.total}
                for name, u in (self.client.api_usage or {}).items()}


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


def _codes(content: Any) -> set[str]:
    """The `errorCode`s of a Salesforce error body (a JSON array)."""
    if isinstance(content, list):
        return {str(c.get("errorCode")) for c in content if isinstance(c, dict)}
    return set()


def _messages(content: Any) -> str:
    if isinstance(content, list):
        return "; ".join(f"{c.get('errorCode')}: {c.get('message')}" for c in content
                         if isinstance(c, dict))
    return str(content)[:500]
