"""HubSpot CRM v3 through hubspot-api-client, one page per `after` cursor.

Responses are read raw (`_preload_content=False`) so that records keep HubSpot's own JSON shape
(camelCase keys, every property a string) rather than the client's snake_case models. Each
sub-package has its own `ApiException` class, so errors are caught through their common
attributes (`status`, `body`), not one class. The client's default `Retry` never retries POST;
ours retries every method and honours `Retry-After`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hubspot import HubSpot

from connectors.errors import SourceAuthError, SourceError, SourceNotConfigured
from connectors.http import DEFAULT_TIMEOUT, retry_policy
from connectors.hubspot.streams import STREAMS, HubSpotStream
from connectors.streams import Page, Window

PUBLIC_HOST = "https://api.hubapi.com"
PAGE_LIMIT = 100
HISTORY_PAGE_LIMIT = 50  # HubSpot's cap when propertiesWithHistory is asked for


class HubSpotConnector:
    source = "hubspot"
    streams = STREAMS

    def __init__(self, access_token: str | None, base_url: str | None = None,
                 extra_fields: Mapping[str, Sequence[str]] | None = None,
                 owner_property: str = "hubspot_owner_id") -> None:
        if not access_token:
            raise SourceNotConfigured("hubspot", "set HUBSPOT_ACCESS_TOKEN")
        # Properties beyond a stream's defaults (a custom owner property, a deal's term).
        self.extra_fields = {k: tuple(v) for k, v in (extra_fields or {}).items()}
        # The owner property whose history gives point-in-time ownership.
        self.owner_property = owner_property
        self.client = HubSpot(access_token=access_token, host=(base_url or PUBLIC_HOST).rstrip("/"),
                              retry=retry_policy())
        self.request_count = 0

    def read(self, stream: HubSpotStream, window: Window | None = None,
             since: str | None = None) -> Iterator[Page]:
        """Full pulls of every stream (`since` is not used yet); companies and deals are read
        twice, active then archived, so that a deletion arrives as an archived record."""
        if stream.object_type == "pipelines":
            yield self._call(stream, self.client.crm.pipelines.pipelines_api.get_all,
                             object_type="deals")["results"]
            return
        if stream.object_type == "owners":
            fetch = self.client.crm.owners.owners_api.get_page
            kwargs: dict[str, Any] = {"limit": PAGE_LIMIT}
        else:
            api = getattr(self.client.crm, stream.object_type).basic_api
            fetch = api.get_page
            properties = dict.fromkeys((*stream.properties,
                                        *self.extra_fields.get(stream.name, ())))
            kwargs = {"limit": HISTORY_PAGE_LIMIT if stream.properties_with_history
                      else PAGE_LIMIT, "properties": list(properties)}
            if stream.properties_with_history:
                kwargs["properties_with_history"] = [self.owner_property]
            if stream.associations:
                kwargs["associations"] = list(stream.associations)
            yield from self._pages(stream, fetch, archived=False, **kwargs)
            yield from self._pages(stream, fetch, archived=True, **kwargs)
            return
        yield from self._pages(stream, fetch, **kwargs)

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
            response = fetch(_preload_content=False, _request_timeout=DEFAULT_TIMEOUT, **kwargs)
        except Exception as error:  # each sub-package raises its own ApiException class
            status = getattr(error, "status", None)
            if status is None:
                raise SourceError("hubspot", f"{stream.name}: {error}") from error
            if status == 401:
                raise SourceAuthError("hubspot", "the access token was refused (401): check "
                                      "HUBSPOT_ACCESS_TOKEN") from error
            raise SourceError("hubspot", f"{stream.name} failed with HTTP {status}: "
                              f"{_message(getattr(error, 'body', ''))}") from error
        return json.loads(response.data)


def _message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message"))
    except (TypeError, ValueError, AttributeError):
        return str(body)[:500]
