from connectors.toggl.client import TogglConnector
from connectors.toggl.streams import STREAMS

__all__ = ["STREAMS", "TogglConnector"]
