"""Toggl Track streams, as data."""

from __future__ import annotations

from connectors.streams import Stream

STREAMS: dict[str, Stream] = {
    s.name: s
    for s in (
        # Merged, never replaced: a user the workspace stops listing (removed, deactivated)
        # keeps her e-mail, so her past hours stay hers (docs/metrics.md, "Who is a CSM").
        Stream("toggl", "users", "id", write_mode="merge"),
        Stream("toggl", "clients", "id", "at"),
        Stream("toggl", "projects", "id", "at"),
        Stream("toggl", "tags", "id", "at"),
        Stream("toggl", "time_entries", "id", "at", event_time_field="start",
               write_mode="replace_window"),
    )
}
