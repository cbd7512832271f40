"""The marts' descriptions are written into the catalog only where they are not already
there (warehouse/columns.py, comment_marts): a build whose marts kept their comments writes
none, one whose mart was replaced whole writes that mart's again, and the catalog ends up
holding every contract's text either way."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.columns import comment_marts, mart_docs

pytestmark = pytest.mark.fast


def catalog(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str | None], str | None]:
    tables = conn.execute("select table_name, null, comment from duckdb_tables() "
                          "where schema_name = 'marts'").fetchall()
    columns = conn.execute("select table_name, column_name, comment from duckdb_columns() "
                           "where schema_name = 'marts'").fetchall()
    return {(table, column): comment for table, column, comment in [*tables, *columns]}


def expected(names: list[str]) -> dict[tuple[str, str | None], str | None]:
    docs = mart_docs()
    texts: dict[tuple[str, str | None], str | None] = {}
    for name in names:
        texts[(name, None)] = docs[name].description
        texts |= {(name, column): text for column, text in docs[name].columns.items()}
    return texts


def make(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    columns = ", ".join(f'"{column}" varchar' for column in mart_docs()[name].columns)
    conn.execute(f"create or replace table marts.{name} ({columns})")


def test_only_the_comments_not_already_there_are_written() -> None:
    names = sorted(mart_docs())[:3]
    conn = duckdb.connect()
    conn.execute("create schema marts")
    for name in names:
        make(conn, name)
    every = len(expected(names))
    assert comment_marts(conn) == every
    assert catalog(conn) == expected(names)
    assert comment_marts(conn) == 0  # nothing changed: nothing written
    # A mart replaced whole comes back without its comments; one changed by hand is put back.
    make(conn, names[0])
    first = len(expected(names[:1]))
    column = next(iter(mart_docs()[names[1]].columns))
    conn.execute(f"comment on column marts.{names[1]}.\"{column}\" is 'changed'")
    assert comment_marts(conn) == first + 1
    assert catalog(conn) == expected(names)
    assert comment_marts(conn) == 0


def test_a_column_without_a_description_is_still_an_error() -> None:
    name = sorted(mart_docs())[0]
    conn = duckdb.connect()
    conn.execute("create schema marts")
    make(conn, name)
    conn.execute(f"alter table marts.{name} add column undocumented varchar")
    with pytest.raises(KeyError, match="undocumented"):
        comment_marts(conn)
