"""Raw CRM assets: one per declared Salesforce and HubSpot stream."""

from __future__ import annotations

from connectors.hubspot import STREAMS as HUBSPOT_STREAMS
from connectors.salesforce import STREAMS as SALESFORCE_STREAMS
from connectors.streams import Stream

STREAMS: list[Stream] = [*SALESFORCE_STREAMS.values(), *HUBSPOT_STREAMS.values()]
