"""Raw time-tracking assets: one per declared Toggl and Clockify stream."""

from __future__ import annotations

from connectors.clockify import STREAMS as CLOCKIFY_STREAMS
from connectors.streams import Stream
from connectors.toggl import STREAMS as TOGGL_STREAMS

STREAMS: list[Stream] = [*TOGGL_STREAMS.values(), *CLOCKIFY_STREAMS.values()]
