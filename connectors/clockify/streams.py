"""Clockify streams, as data. Clockify has no modified-since filter: no cursor fields."""

from __future__ import annotations

from connectors.streams import Stream

STREAMS: dict[str, Stream] = {
    s.name: s
    for s in (
        # Merged, never replaced: a user the workspace stops listing (removed, deactivated)
        # keeps her e-mail, so her past hours stay hers (docs/metrics.md, "Who is a CSM").
        Stream("clockify", "users", "id", write_mode="merge"),
        Stream("clockify", "clients", "id"),
        Stream("clockify", "projects", "id"),
        Stream("clockify", "tags", "id"),
        Stream("clockify", "time_entries", "id", event_time_field="timeInterval.start",
               write_mode="replace_window", scope_field="userId"),
    )
}
