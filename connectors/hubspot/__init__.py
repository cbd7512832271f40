from connectors.hubspot.client import HubSpotConnector
from connectors.hubspot.streams import STREAMS

__all__ = ["STREAMS", "HubSpotConnector"]
