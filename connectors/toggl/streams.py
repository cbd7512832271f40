"""Toggl Track streams, as data."""

from __future__ import annotations

from connectors.streams import Stream

STREAMS: dict[str, Stream] = {
    s.name: s
    for s in (
        Stream("toggl", "users", "id"),
        Stream("toggl", "clients", "id", "at"),
        Stream("toggl", "projects", "id", "at"),
        Stream("toggl", "tags", "id", "at"),
        Stream("toggl", "time_entries", "id", "at", event_time_field="start",
               write_mode="replace_window"),
    )
}
