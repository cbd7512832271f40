"""HubSpot objects csm-metrics reads, as data."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.streams import Stream


@dataclass(frozen=True)
class HubSpotStream(Stream):
    object_type: str = ""
    properties: tuple[str, ...] = ()
    properties_with_history: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()


STREAMS: dict[str, HubSpotStream] = {
    s.name: s
    for s in (
        HubSpotStream("hubspot", "owners", "id", "updatedAt", object_type="owners"),
        HubSpotStream("hubspot", "companies", "id", "properties.hs_lastmodifieddate",
                      write_mode="merge", snapshots_ownership=True, object_type="companies",
                      properties=("name", "domain", "hubspot_owner_id", "industry",
                                  "createdate", "hs_lastmodifieddate"),
                      properties_with_history=("hubspot_owner_id",)),
        HubSpotStream("hubspot", "deals", "id", "properties.hs_lastmodifieddate",
                      write_mode="merge", object_type="deals",
                      properties=("dealname", "amount", "closedate", "dealstage", "pipeline",
                                  "dealtype", "hubspot_owner_id", "createdate",
                                  "hs_lastmodifieddate", "deal_currency_code"),
                      associations=("companies",)),
        HubSpotStream("hubspot", "deal_pipelines", "id", object_type="pipelines"),
    )
}
