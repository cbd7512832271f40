"""A page as the API sent it: the response's bytes, handed to DuckDB's reader as they are.

Parsing a page into Python dicts, only to write them out again for DuckDB, was most of the cost
of landing (docs/architecture.md, "Landing"). A connector whose API sends its records as they
are landed yields a `RawPage`: the body, and its `shape`, which says where the records are:

- `array`: a top-level JSON array of records (Clockify, Toggl's directory, a client's page
  written out once);
- `results`: an object whose `results` array holds the records (HubSpot's listings);
- `toggl_report`: Toggl's detailed report, rows whose `time_entries` each become a record of
  the row's fields then the entry's (`TOGGL_ROW_FIELDS`);
- `csv`: Salesforce Bulk 2.0 results, a header and text values, empty for null.

The loader (warehouse/loading.py) writes the body to its staging folder and reads it with
DuckDB's JSON or CSV reader; no record becomes a Python object. A `RawPage` is still a sequence
of records for a caller that wants them (`read()`'s callers, the tests): it decodes itself on
first use. `peek` answers the questions a connector's paging asks of a body (how many records,
the next cursor) in DuckDB, which also proves the body is whole JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Literal, overload

import duckdb
import orjson

from connectors.errors import SourceError

Record = dict[str, Any]
Shape = Literal["array", "results", "toggl_report", "csv"]
# A report row's fields each of its entries is landed with, before the entry's own.
TOGGL_ROW_FIELDS = ("user_id", "username", "project_id", "task_id", "description", "billable",
                    "tag_ids")


# A NUL (`\\u0000`) or a UTF-16 surrogate escape (`\\ud83d`, maybe lone) in a JSON body, or
# a NUL byte in a CSV one: such a page is repaired in Python first (`repaired`).
_SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89abAB])")


class RawPage(Sequence[Record]):
    """A response body and where its records are; decoded only if a caller iterates it.

    A body with a NUL or a lone UTF-16 surrogate (DuckDB's reader refuses those, and
    PostgreSQL's text cannot hold a NUL) is repaired when the page is made: each such string
    has its surrogate as U+FFFD and its NULs removed, and `repaired` counts the records changed.
    Only such pages are parsed in Python. `ValueError` when the body is not JSON at all."""

    def __init__(self, body: bytes | str, shape: Shape = "array", count: int | None = None
                 ) -> None:
        self.body = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        self.shape: Shape = shape
        self._count = count
        self._records: list[Record] | None = None
        self.repaired = 0
        suspect = (b"\x00" in self.body if shape == "csv"
                   else _SUSPECT_JSON.search(self.body) is not None)
        if suspect:
            self._repair()

    def _repair(self) -> None:
        if self.shape == "csv":  # written out as the array of records the reader would read
            records = decode(self.body, "csv")
            fixed = [repaired(record) for record in records]
            self.body, self.shape = dumps(fixed), "array"
        else:  # the whole document, so that its paging is still there
            data = json.loads(self.body)  # keeps a lone surrogate, unlike orjson
            fixed_data = repaired(data)
            records, fixed = _records_of(data, self.shape), _records_of(fixed_data, self.shape)
            self.body = dumps(fixed_data)
        self.repaired = sum(new != old for new, old in zip(fixed, records, strict=True))
        self._records, self._count = fixed, len(fixed)

    def records(self) -> list[Record]:
        """The records as Python dicts (parsed once, then kept)."""
        if self._records is None:
            self._records = decode(self.body, self.shape)
            self._count = len(self._records)
        return self._records

    def __len__(self) -> int:
        if self._count is None:
            self._count = len(self.records())
        return self._count

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | Sequence[Record]:
        return self.records()[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawPage):
            return self.records() == other.records()
        return isinstance(other, list) and self.records() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RawPage({self.shape}, {len(self.body)} bytes)"


def dumps(value: Any) -> bytes:
    """JSON as the loader writes a page it was handed as dicts."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def repaired(value: Any) -> Any:
    """The value with every lone UTF-16 surrogate in its strings (keys too) as U+FFFD, and every
    NUL removed."""
    if isinstance(value, str):
        return (value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                .replace("\x00", ""))
    if isinstance(value, dict):
        return {repaired(k): repaired(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [repaired(v) for v in value]
    return value


def decode(body: bytes, shape: Shape) -> list[Record]:
    """The page's records, as the loader's SQL reads them (warehouse/loading.py)."""
    if shape == "csv":
        return [{k: (v if v != "" else None) for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(body.decode()))]
    return _records_of(json.loads(body), shape)


def _records_of(data: Any, shape: Shape) -> list[Record]:
    if shape == "results":
        return list((data or {}).get("results") or [])
    if shape == "toggl_report":
        return [{**{f: row.get(f) for f in TOGGL_ROW_FIELDS}, **entry}
                for row in data or [] for entry in row.get("time_entries") or []]
    return list(data or [])


_local = threading.local()
_lock = threading.Lock()
_database: list[duckdb.DuckDBPyConnection] = []


def warm() -> None:
    """Open the in-memory DuckDB that peeks at bodies now (a connector's constructor calls
    this), not between two paced requests."""
    _conn()


def _conn() -> duckdb.DuckDBPyConnection:
    """A cursor per thread (sources may pull in parallel) on one in-memory DuckDB."""
    cursor = getattr(_local, "cursor", None)
    if cursor is None:
        with _lock:
            if not _database:
                _database.append(duckdb.connect(config={"threads": 1}))
            cursor = _local.cursor = _database[0].cursor()
    return cursor


def peek(body: bytes, *expressions: str) -> tuple[Any, ...] | None:
    """Evaluate SQL `expressions` over the body (bound as the text `body`), e.g.
    `json_array_length(body)`: each parses the whole body once, so a body cut short gives None.
    """
    try:
        row = _conn().execute(f"select {', '.join(expressions)} from (select $body as body)",
                              {"body": body.decode()}).fetchone()
    except (duckdb.Error, UnicodeDecodeError):
        return None
    return row


def checked(body: bytes | str, shape: Shape, source: str, what: str,
            *expressions: str) -> tuple[RawPage, tuple[Any, ...]]:
    """The body as a page (repaired if need be) and `expressions` evaluated over it (`peek`),
    which proves it whole; a clear error when it is not JSON. Without expressions the body is
    not parsed here: the loader's reader refuses it as clearly (warehouse/loading.py)."""
    try:
        page: RawPage | None = RawPage(body, shape)  # a NUL or lone surrogate: repaired here
    except ValueError:
        page = None
    found = (peek(page.body, *expressions) if expressions else ()) if page is not None else None
    if page is None or found is None:
        raise SourceError(source, f"{what}: the API sent a body that is not valid JSON "
                          f"({len(body)} bytes; truncated?)")
    return page, found


def array_page(body: bytes, source: str, what: str) -> RawPage:
    """A body that is a JSON array of records (or `null`: none), counted in DuckDB (one parse,
    which also proves it whole)."""
    start = body.lstrip()[:1]
    if start not in (b"[", b"n"):  # an object, say an error the API answered with 200
        raise SourceError(source, f"{what}: the API sent {body[:200]!r}, not the array of "
                          "records expected (or not valid JSON)")
    page, (count,) = checked(body, "array", source, what, "json_array_length(body)")
    page._count = int(count or 0)
    return page
