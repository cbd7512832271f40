"""Streams are declared as data; the code that reads and lands them is written once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from connectors.pages import RawPage

Record = dict[str, Any]
Page = list[Record]
# What a read yields: the response's bytes as they came (a `RawPage`, connectors/pages.py),
# or, where a client hands over only parsed dicts, a list of records. A `RawPage` is a sequence
# of records too, decoded on first use: callers that iterate pages need not know which.
AnyPage = Page | RawPage


@dataclass(frozen=True)
class Window:
    """A half-open interval of instants `[start, end)`, in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Stream:
    source: str
    name: str
    primary_key: str
    # The field an incremental pull filters and orders on (None: always a full pull).
    cursor_field: str | None = None
    # Windowed streams (time entries) are pulled and replaced one window of instants at a time;
    # this field places a record in its window.
    event_time_field: str | None = None
    # replace: a full pull replaces the table; merge: an incremental pull (records modified since
    # the cursor) upserts on the primary key; replace_window: one window at a time.
    write_mode: Literal["replace", "merge", "replace_window"] = "replace"
    # For an API read per person (Clockify lists entries per member): the record field naming
    # whose records a windowed read covered. A re-pull marks deleted only the records of those
    # it read, so a member the API no longer lists keeps her entries. The stream's connector
    # says which values its last read covered: `read_scope(stream)`.
    scope_field: str | None = None
    # Traits: what the pipeline does around a stream's pull, declared here rather than known by
    # name elsewhere. An accounts stream whose owners are snapshotted after each landing
    # (docs/metrics.md, "Ownership at an instant"):
    snapshots_ownership: bool = False
    # The connector reports the API usage a pull drew (Salesforce's daily request limit), as
    # `connector.api_usage`, recorded with the pull.
    reports_api_usage: bool = False

    @property
    def table(self) -> str:
        return f"{self.source}__{self.name}"


class Connector(Protocol):
    source: str
    streams: dict[str, Stream]
    # The most months one windowed read may span (None: any range). Fewer, longer windows mean
    # fewer partly filled pages; an API with a range limit keeps this small.
    max_window_months: int | None

    @property
    def request_count(self) -> int: ...

    @property
    def http_seconds(self) -> float:
        """Seconds spent waiting on the API so far: pacing, the exchanges, retries."""
        ...

    def read(self, stream: Stream, window: Window | None = None,
             since: str | None = None) -> Iterator[AnyPage]: ...

# A connector whose reads name their fields (the CRMs) also has `fields(stream) -> tuple[str,
# ...]`: when they change, an incremental stream is read whole once (warehouse/pull.py).
