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

Engagements (calls, meetings, emails) and feedback submissions are read the same way, from
`crm.objects.<type>`; their companies (and a submission's contact's companies) always come from
v4 batch reads, 1,000 ids a request (pages are held until they fill one), following each id's
own `paging.next.after` when it has more links than a page; each contact's companies are read
once a read, and submissions are held until their contacts not yet read fill a request.
Meetings in the future when pulled are no touchpoint yet, and do not change when their time
comes: an incremental pull also re-reads the meetings whose `hs_timestamp` is at or after the
watermark.

Listings and batch reads are handed on as the response's bytes (`RawPage` of shape `results`,
connectors/pages.py; the next `after` is read from them in DuckDB), except the pages whose
records get links attached here, which are parsed (`_link`, `_batch_read` of a stream with
associations).

The client is urllib3, not `requests`: it ignores `REQUESTS_CA_BUNDLE` (it trusts the system
store unless told a CA file), so it is given `requests`' own CA file (`ca_bundle()`), and it
follows redirects itself, which our `Retry` refuses across hosts (connectors/http.py).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from connectors.hubspot.streams import MODIFIED, STREAMS, HubSpotStream
from connectors.pages import RawPage, checked, warm
from connectors.streams import AnyPage, Page, Window

PUBLIC_HOST = "https://api.hubapi.com"
PAGE_LIMIT = 100
HISTORY_PAGE_LIMIT = 50  # HubSpot's cap when propertiesWithHistory is asked for
SEARCH_LIMIT = 200  # search's page maximum
SEARCH_CAP = 10_000  # no query pages past this many results
BATCH_LIMIT = 100  # ids per batch read
ASSOCIATION_BATCH = 1_000  # ids per v4 batch associations read (HubSpot's cap since 2025-02)
OVERLAP_MS = 5 * 60 * 1000  # search lags writes: re-read a little before the watermark
# Submissions held for their contacts' companies at most (~50 MB); a pull past it may read a
# short batch of contacts more than the minimum.
HELD_RECORDS_MAX = 50_000


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
        self.http_seconds = 0.0  # waiting on the API: the exchanges and their retries
        warm()  # the DuckDB that reads each page's `after`, opened before the first request

    def fields(self, stream: HubSpotStream) -> tuple[str, ...]:
        """What a read of the stream asks for: its own properties, then the settings' extra
        ones, and the associations it attaches."""
        return tuple(dict.fromkeys((*stream.properties, *self.extra_fields.get(stream.name, ()),
                                    *(f"associations.{a}" for a in stream.associations))))

    def read(self, stream: HubSpotStream, window: Window | None = None,
             since: str | None = None) -> Iterator[AnyPage]:
        """Owners, companies, deals, engagements and feedback are read active then archived, so
        that a deletion (or a leaver) arrives as an archived record; with `since`, the
        incremental streams read only what changed (see the module)."""
        if stream.object_type == "pipelines":
            yield self._page(stream, self.client.crm.pipelines.pipelines_api.get_all,
                             object_type="deals")[0]
            return
        if stream.object_type == "owners":
            # Owners who left are archived and listed only with archived=true (their records
            # say `archived: true`): both lists, so a leaver's past book still resolves to her
            # e-mail (docs/metrics.md, "Who is a CSM").
            fetch = self.client.crm.owners.owners_api.get_page
            yield from self._pages(stream, fetch, limit=PAGE_LIMIT, archived=False)
            yield from self._pages(stream, fetch, limit=PAGE_LIMIT, archived=True)
            return
        fetch = self._api(stream).basic_api.get_page
        properties = self.fields(stream)
        kwargs: dict[str, Any] = {
            "limit": HISTORY_PAGE_LIMIT if stream.properties_with_history else PAGE_LIMIT,
            "properties": list(properties)}
        if stream.properties_with_history:
            kwargs["properties_with_history"] = [self.owner_property]
        if stream.associations:
            kwargs["associations"] = list(stream.associations)
        if since and stream.write_mode == "merge":
            changed = self._modified_since(stream, since, kwargs)
            if stream.reread_after:  # and what has come to pass since, unmodified
                changed = itertools.chain(changed, self._modified_since(
                    stream, since, kwargs, stream.reread_after))
            yield from self._linked(stream, changed)
        else:
            yield from self._linked(stream, self._pages(stream, fetch, archived=False,
                                                        **kwargs))
        # Archived (deleted) records are kept as deleted, never counted: their links are not
        # read.
        yield from self._pages(stream, fetch, archived=True, **kwargs)

    def _api(self, stream: HubSpotStream) -> Any:
        """The client's API of the stream's object (engagements live under `crm.objects`)."""
        crm = self.client.crm
        return getattr(crm.objects if stream.generic_object else crm, stream.object_type)

    def _modified_since(self, stream: HubSpotStream, since: str, listing: dict[str, Any],
                        instant: str = MODIFIED) -> Iterator[AnyPage]:
        """The records whose `instant` property is at or after `since` (less the overlap)."""
        api = self._api(stream)
        lower = _epoch_ms(since) - OVERLAP_MS
        operator, tie_id = "GTE", None
        while True:
            if tie_id is None:
                filters = [{"propertyName": instant, "operator": operator, "value": str(lower)}]
                sorts = [{"propertyName": instant, "direction": "ASCENDING"}]
            else:  # a window of one timestamp: go on by id at that timestamp
                filters = [{"propertyName": instant, "operator": "EQ", "value": str(lower)},
                           {"propertyName": "hs_object_id", "operator": "GT", "value": tie_id}]
                sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
            first = last = None
            after: str | None = None
            while True:
                request = {"filterGroups": [{"filters": filters}], "sorts": sorts,
                           "properties": [instant], "limit": SEARCH_LIMIT}
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
            reached = _epoch_ms(last["properties"][instant])
            if tie_id is not None or _epoch_ms(first["properties"][instant]) == reached:
                lower, tie_id = reached, last["id"]
            else:
                lower, operator = reached, "GTE"

    def _batch_read(self, stream: HubSpotStream, api: Any, ids: list[str],
                    listing: dict[str, Any]) -> AnyPage:
        request: dict[str, Any] = {"inputs": [{"id": i} for i in ids],
                                   "properties": listing["properties"]}
        if stream.properties_with_history:
            request["propertiesWithHistory"] = listing["properties_with_history"]
        page, _ = self._page(stream, api.batch_api.read,
                             batch_read_input_simple_public_object_id=request, archived=False)
        if not stream.associations:
            return page  # as HubSpot sent it
        records = page.records()
        for association in stream.associations:  # as the list endpoint's `associations`
            self._attach(stream, records, association)
        return records

    def _linked(self, stream: HubSpotStream, pages: Iterable[AnyPage]) -> Iterator[AnyPage]:
        """Pages with their v4 links attached: pages are held until they make up a full batch
        of ids (1,000), so that each batch read asks for as many records as it may; a
        submission's contact's companies are then read once per read (see `_with_contacts`)."""
        if not stream.linked and not stream.contact_property:
            yield from pages
            return
        linked = self._own_links(stream, pages)
        if stream.contact_property:
            linked = self._with_contacts(stream, linked, stream.contact_property)
        yield from linked

    def _own_links(self, stream: HubSpotStream, pages: Iterable[AnyPage]) -> Iterator[Page]:
        """The records' own `stream.linked` links, read for 1,000 records at a time."""
        held: list[AnyPage] = []
        for page in pages:
            held.append(page)
            if sum(map(len, held)) >= ASSOCIATION_BATCH:
                yield from self._link(stream, held)
                held = []
        if held:
            yield from self._link(stream, held)

    def _link(self, stream: HubSpotStream, pages: list[AnyPage]) -> list[Page]:
        """The pages as records (parsed: links are attached to them), linked."""
        parsed = [list(page.records() if isinstance(page, RawPage) else page) for page in pages]
        records = [r for page in parsed for r in page]
        for association in stream.linked:
            self._attach(stream, records, association)
        return parsed

    def _attach(self, stream: HubSpotStream, records: Page, to_type: str) -> None:
        """Each record's `to_type` links, as the v3 list endpoint shapes them."""
        # A record without an id is quarantined when it lands: nothing to link.
        linked = self.associations(stream, stream.object_type,
                                   [r["id"] for r in records if r.get("id")], to_type)
        kind = f"{stream.object_type[:-1]}_to_{to_type[:-1]}"
        for record in records:
            # One entry per association type, as the list endpoint has them (the same id
            # may come twice: staging takes it once).
            record.setdefault("associations", {})[to_type] = {"results": [
                {"id": other, "type": _type_name(kind, t)}
                for other, types in linked.get(str(record.get("id")), [])
                for t in types or [{}]]}

    def _with_contacts(self, stream: HubSpotStream, pages: Iterable[Page],
                       contact_property: str) -> Iterator[Page]:
        """Pages with the companies of each record's contact, the primary one marked.

        A contact answers many surveys, so its companies are remembered for the rest of the
        read, and pages are held until the contacts not yet read make a full batch (1,000):
        the contact reads come to ceil(distinct contacts / 1,000) (docs/performance.md).
        Pages leave in the order they came, once every contact on them is known. Held records
        are bounded: past `HELD_RECORDS_MAX` the contacts pending are read, a short batch."""
        known: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
        pending: dict[str, None] = {}  # contacts on held pages, not yet read, in order met
        held: deque[Page] = deque()
        held_records = 0

        def contacts_of(page: Page) -> list[str]:
            return [str(c) for r in page if (c := (r.get("properties") or {}).get(
                contact_property))]

        def read(count: int) -> None:
            batch = list(itertools.islice(pending, count))
            found = self.associations(stream, "contacts", batch, "companies")
            for contact in batch:
                known[contact] = found.get(contact, [])
                del pending[contact]

        def ready() -> Iterator[Page]:
            nonlocal held_records
            while held and all(c in known for c in contacts_of(held[0])):
                page = held.popleft()
                held_records -= len(page)
                self._attach_contact_companies(page, contact_property, known)
                yield page

        for page in pages:
            held.append(page)
            held_records += len(page)
            pending.update((c, None) for c in contacts_of(page) if c not in known)
            while len(pending) >= ASSOCIATION_BATCH:
                read(ASSOCIATION_BATCH)
            if pending and held_records > HELD_RECORDS_MAX:
                read(len(pending))
            yield from ready()
        if pending:
            read(len(pending))
        yield from ready()

    @staticmethod
    def _attach_contact_companies(
            records: Page, contact_property: str,
            known: Mapping[str, list[tuple[str, list[dict[str, Any]]]]]) -> None:
        """The companies of each record's contact, the primary one marked (HubSpot's
        contact-to-company `Primary` label, type 1)."""
        for record in records:
            contact = (record.get("properties") or {}).get(contact_property)
            found = known.get(str(contact), []) if contact else []
            record.setdefault("associations", {})["contact_companies"] = {"results": [
                {"id": other, "type": "contact_to_company", "primary": _is_primary(types)}
                for other, types in found]}

    def associations(self, stream: HubSpotStream, from_type: str, ids: Sequence[str],
                     to_type: str) -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
        """v4 batch reads of `from_type` ids' links to `to_type`: at most 1,000 ids a request,
        and an id with more links than a page is asked again from its `paging.next.after`.
        Returns each id's (linked id, association types), in the order HubSpot sent them."""
        found: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
        pending: list[dict[str, str]] = [{"id": str(i)} for i in dict.fromkeys(ids)]
        fetch = self.client.crm.associations.v4.batch_api.get_page
        while pending:
            batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
            body = self._call(stream, fetch, from_object_type=from_type,
                              to_object_type=to_type,
                              batch_input_public_fetch_associations_batch_request={
                                  "inputs": batch})
            for item in body.get("results", []):
                source = str(item["from"]["id"])
                found.setdefault(source, []).extend(
                    (str(to["toObjectId"]), to.get("associationTypes") or [])
                    for to in item.get("to", []))
                after = ((item.get("paging") or {}).get("next") or {}).get("after")
                if after:  # more links than a page: this id again, from there
                    pending.append({"id": source, "after": str(after)})
        return found

    def _pages(self, stream: HubSpotStream, fetch: Callable[..., Any],
               **kwargs: Any) -> Iterator[RawPage]:
        after: str | None = None
        while True:
            page, after = self._page(stream, fetch, after=after, **kwargs)
            yield page
            if not after:
                return

    def _page(self, stream: HubSpotStream, fetch: Callable[..., Any],
              **kwargs: Any) -> tuple[RawPage, str | None]:
        """One response's `results`, as sent, and the `after` of the next page, if any."""
        page, (after,) = checked(self._fetch(stream, fetch, **kwargs), "results", "hubspot",
                                 stream.name, "json_extract_string(body, '$.paging.next.after')")
        return page, after

    def _call(self, stream: HubSpotStream, fetch: Callable[..., Any], **kwargs: Any) -> Any:
        data = self._fetch(stream, fetch, **kwargs)
        try:
            return json.loads(data)
        except ValueError as error:
            raise SourceError("hubspot", f"{stream.name}: the API sent a body that is not valid "
                              f"JSON ({len(data)} bytes; truncated?)") from error

    def _fetch(self, stream: HubSpotStream, fetch: Callable[..., Any], **kwargs: Any) -> bytes:
        """The body of one request, as sent."""
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self.request_count += 1
        started = time.monotonic()
        try:
            response = fetch(_preload_content=False, _request_timeout=self.timeout, **kwargs)
            data = response.data  # the body is read here, not preloaded
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
            if status == 403:
                raise SourceError("hubspot", f"{stream.name}: the private app lacks a scope "
                                  f"(403: {_message(getattr(error, 'body', ''))}); "
                                  "docs/connectors.md lists the scopes") from error
            raise SourceError("hubspot", f"{stream.name} failed with HTTP {status}: "
                              f"{_message(getattr(error, 'body', ''))}") from error
        finally:
            self.http_seconds += time.monotonic() - started
        return bytes(data)


def _message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(body)[:500]


def _type_name(kind: str, association_type: dict[str, Any]) -> str:
    label = association_type.get("label")
    return f"{kind}_{str(label).lower()}" if label else f"{kind}_unlabeled" if \
        association_type.get("typeId") else kind


def _is_primary(types: list[dict[str, Any]]) -> bool:
    return any(str(t.get("label") or "").lower() == "primary" or t.get("typeId") == 1
               for t in types)


def _epoch_ms(text: str) -> int:
    if text.isdigit():  # HubSpot sends some instants (hs_timestamp) as epoch milliseconds
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
