"""HubSpot CRM v3 through hubspot-api-client, one page per `after` cursor.

Responses are read raw (`_preload_content=False`) so that records keep HubSpot's own JSON shape
(camelCase keys, every property a string) rather than the client's snake_case models. Each
sub-package has its own `ApiException` class, so errors are caught through their common
attributes (`status`, `body`), not one class. The client's default `Retry` never retries POST;
ours retries every method and honours `Retry-After`.

Companies are incremental. The search endpoint finds what changed since the watermark (less an
overlap), ascending on `hs_lastmodifieddate`; one query cannot page past 10,000 results, so the
read moves in windows: when a window fills, the next starts at the last timestamp reached, and a
window filled by one single timestamp continues by object id at that timestamp (search sorts on
one property, so the records at that timestamp are read again, in id order, and merged on id:
twice at most, in that rare case). Search returns no
property history, so each page of ids is batch-read with the owner's history; nor associations,
so a page of deals gets its companies from the v4 batch associations endpoint, reshaped as the
list endpoint's `associations`. Deletions arrive from the `archived=true` listing.

The client is urllib3, not `requests`: it ignores `REQUESTS_CA_BUNDLE` (it trusts the system
store unless told a CA file), so it is given `requests`' own CA file (`ca_bundle()`), and it
follows redirects itself, which our `Retry` refuses across hosts (connectors/http.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from hubspot import HubSpot

from connectors.errors import SourceAuthError, SourceError, SourceNotConfigured
from connectors.http import (
    ca_bundle,
    default_timeout,
    require_secure_url,
    retry_policy,
    tls_failure,
)
from connectors.hubspot.streams import STREAMS, HubSpotStream
from connectors.streams import Page, Window

PUBLIC_HOST = "https://api.hubapi.com"
PAGE_LIMIT = 100
HISTORY_PAGE_LIMIT = 50  # HubSpot's cap when propertiesWithHistory is asked for
SEARCH_LIMIT = 200  # search's page maximum
SEARCH_CAP = 10_000  # no query pages past this many results
BATCH_LIMIT = 100  # ids per batch read
OVERLAP_MS = 5 * 60 * 1000  # search lags writes: re-read a little before the watermark
MODIFIED = "hs_lastmodifieddate"


class HubSpotConnector:
    source = "hubspot"
    streams = STREAMS
    # No windowed streams: CRM streams are full or incremental pulls.
    max_window_months: int | None = 1

    def __init__(self, access_token: str | None, base_url: str | None = None,
                 extra_fields: Mapping[str, Sequence[str]] | None = None,
                 owner_property: str = "hubspot_owner_id",
                 timeout: float | None = None) -> None:
        if not access_token:
            raise SourceNotConfigured("hubspot", "set HUBSPOT_ACCESS_TOKEN")
        # Properties beyond a stream's defaults (a custom owner property, a deal's term).
        self.extra_fields = {k: tuple(v) for k, v in (extra_fields or {}).items()}
        # The owner property whose history gives point-in-time ownership.
        self.owner_property = owner_property
        self.timeout = default_timeout(timeout)
        require_secure_url(base_url, "HUBSPOT_BASE_URL", "hubspot")
        bundle = ca_bundle()
        if os.path.isdir(bundle):
            raise SourceNotConfigured("hubspot", "REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) names a "
                                      "folder; HubSpot's client needs one CA bundle file")
        self.client = HubSpot(access_token=access_token, host=(base_url or PUBLIC_HOST).rstrip("/"),
                              retry=retry_policy(source="hubspot"), ssl_ca_cert=bundle)
        self.request_count = 0

    def read(self, stream: HubSpotStream, window: Window | None = None,
             since: str | None = None) -> Iterator[Page]:
        """Owners, companies and deals are read active then archived, so that a deletion (or a
        leaver) arrives as an archived record; with `since`, companies read only what changed
        (see the module)."""
        if stream.object_type == "pipelines":
            yield self._call(stream, self.client.crm.pipelines.pipelines_api.get_all,
                             object_type="deals")["results"]
            return
        if stream.object_type == "owners":
            # Owners who left are archived and listed only with archived=true (their records
            # say `archived: true`): both lists, so a leaver's past book still resolves to her
            # e-mail (docs/metrics.md, "Who is a CSM").
            fetch = self.client.crm.owners.owners_api.get_page
            yield from self._pages(stream, fetch, limit=PAGE_LIMIT, archived=False)
            yield from self._pages(stream, fetch, limit=PAGE_LIMIT, archived=True)
            return
        api = getattr(self.client.crm, stream.object_type).basic_api
        fetch = api.get_page
        properties = dict.fromkeys((*stream.properties, *self.extra_fields.get(stream.name, ())))
        kwargs: dict[str, Any] = {
            "limit": HISTORY_PAGE_LIMIT if stream.properties_with_history else PAGE_LIMIT,
            "properties": list(properties)}
        if stream.properties_with_history:
            kwargs["properties_with_history"] = [self.owner_property]
        if stream.associations:
            kwargs["associations"] = list(stream.associations)
        if since and stream.write_mode == "merge":
            yield from self._modified_since(stream, since, kwargs)
        else:
            yield from self._pages(stream, fetch, archived=False, **kwargs)
        yield from self._pages(stream, fetch, archived=True, **kwargs)

    def _modified_since(self, stream: HubSpotStream, since: str,
                        listing: dict[str, Any]) -> Iterator[Page]:
        api = getattr(self.client.crm, stream.object_type)
        lower = _epoch_ms(since) - OVERLAP_MS
        operator, tie_id = "GTE", None
        while True:
            if tie_id is None:
                filters = [{"propertyName": MODIFIED, "operator": operator, "value": str(lower)}]
                sorts = [{"propertyName": MODIFIED, "direction": "ASCENDING"}]
            else:  # a window of one timestamp: go on by id at that timestamp
                filters = [{"propertyName": MODIFIED, "operator": "EQ", "value": str(lower)},
                           {"propertyName": "hs_object_id", "operator": "GT", "value": tie_id}]
                sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
            first = last = None
            after: str | None = None
            while True:
                request = {"filterGroups": [{"filters": filters}], "sorts": sorts,
                           "properties": [MODIFIED], "limit": SEARCH_LIMIT}
                body = self._call(stream, api.search_api.do_search,
                                  public_object_search_request=request | (
                                      {"after": after} if after else {}))
                results = body.get("results", [])
                if results:
                    first, last = first or results[0], results[-1]
                    for start in range(0, len(results), BATCH_LIMIT):
                        ids = [r["id"] for r in results[start : start + BATCH_LIMIT]]
                        yield self._batch_read(stream, api, ids, listing)
                after = ((body.get("paging") or {}).get("next") or {}).get("after")
                if not after or int(after) + SEARCH_LIMIT > SEARCH_CAP:
                    break
            if not after:  # this window is exhausted
                if tie_id is None:
                    return
                operator, tie_id = "GT", None  # everything at `lower` is read
                continue
            assert first is not None and last is not None
            reached = _epoch_ms(last["properties"][MODIFIED])
            if tie_id is not None or _epoch_ms(first["properties"][MODIFIED]) == reached:
                lower, tie_id = reached, last["id"]
            else:
                lower, operator = reached, "GTE"

    def _batch_read(self, stream: HubSpotStream, api: Any, ids: list[str],
                    listing: dict[str, Any]) -> Page:
        request: dict[str, Any] = {"inputs": [{"id": i} for i in ids],
                                   "properties": listing["properties"]}
        if stream.properties_with_history:
            request["propertiesWithHistory"] = listing["properties_with_history"]
        body = self._call(stream, api.batch_api.read,
                          batch_read_input_simple_public_object_id=request, archived=False)
        records = body.get("results", [])
        for association in stream.associations:
            found = self._call(
                stream, self.client.crm.associations.v4.batch_api.get_page,
                from_object_type=stream.object_type, to_object_type=association,
                batch_input_public_fetch_associations_batch_request={
                    "inputs": [{"id": r["id"]} for r in records]})
            linked = {item["from"]["id"]: [str(to["toObjectId"]) for to in item.get("to", [])]
                      for item in found.get("results", [])}
            for record in records:
                record.setdefault("associations", {})[association] = {"results": [
                    {"id": other, "type": f"{stream.object_type[:-1]}_to_{association[:-1]}"}
                    for other in linked.get(record["id"], [])]}
        return records

    def _pages(self, stream: HubSpotStream, fetch: Callable[..., Any],
               **kwargs: Any) -> Iterator[Page]:
        after: str | None = None
        while True:
            body = self._call(stream, fetch, after=after, **kwargs)
            yield body.get("results", [])
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _call(self, stream: HubSpotStream, fetch: Callable[..., Any], **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self.request_count += 1
        try:
            response = fetch(_preload_content=False, _request_timeout=self.timeout, **kwargs)
        except SourceError:
            raise  # a redirect to another host, refused (connectors/http.py)
        except Exception as error:  # each sub-package raises its own ApiException class
            status = getattr(error, "status", None)
            if not status:  # no HTTP answer (the client's SSLError is an ApiException of 0)
                tls = tls_failure(error)
                raise SourceError("hubspot", f"{stream.name}: {tls or error}") from error
            if status == 401:
                raise SourceAuthError("hubspot", "the access token was refused (401): check "
                                      "HUBSPOT_ACCESS_TOKEN") from error
            raise SourceError("hubspot", f"{stream.name} failed with HTTP {status}: "
                              f"{_message(getattr(error, 'body', ''))}") from error
        try:
            return json.loads(response.data)
        except ValueError as error:
            raise SourceError("hubspot", f"{stream.name}: the API sent a body that is not valid "
                              f"JSON ({len(response.data)} bytes; truncated?)") from error


def _message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(body)[:500]


def _epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
