from connectors.salesforce.client import SalesforceConnector
from connectors.salesforce.streams import STREAMS

__all__ = ["STREAMS", "SalesforceConnector"]
