from connectors.clockify.client import ClockifyConnector
from connectors.clockify.streams import STREAMS

__all__ = ["STREAMS", "ClockifyConnector"]
