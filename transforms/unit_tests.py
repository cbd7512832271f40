"""Run a contract's unit tests (`unit_tests:` in dbt's shape): the given rows become the model's
inputs in an in-memory DuckDB, the model's own SQL runs over them with the project's macros,
and its rows are compared with the expected ones (docs/architecture.md, Contracts).

Every relation the model reads must be given (parsed from its SQL), so a test says everything
the model sees. A given input's `columns` casts its columns to a type (`timestamptz`, `decimal
(18, 2)`, or a column whose every given value is null); otherwise DuckDB types the values as
YAML read them (a date stays a date). `expect.rows` may name only some columns; rows are compared
as a multiset, numbers to 9 decimal places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from transforms import macro_paths
from transforms.contracts import Contract, GivenInput, UnitTestSpec
from transforms.graph import references, strip_sql

_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Outcome:
    expected: list[tuple]
    actual: list[tuple]
    columns: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def model_sql(contract: Contract) -> str:
    """The SQL beside the contract (`<mart>.sql`)."""
    path = contract.path.with_suffix(".sql")
    if not path.is_file():
        raise FileNotFoundError(f"{contract.file}: no model SQL {path.name} beside it")
    return path.read_text()


def _create(conn: duckdb.DuckDBPyConnection, given: GivenInput, where: str) -> None:
    relation = given.input.lower()
    schema, _, _ = relation.rpartition(".")
    if schema:
        conn.execute(f"create schema if not exists {schema}")
    create = "create table" if schema else "create temp table"  # a working model: temporary
    if given.format == "sql":
        if not given.sql:
            raise ValueError(f"{where}: given {given.input}: format sql needs `sql`")
        conn.execute(f"{create} {relation} as {given.sql}")
        return
    if not given.rows:
        raise ValueError(f"{where}: given {given.input}: no rows (use format: sql with typed, "
                         "empty columns for an empty input)")
    names = list(dict.fromkeys(name for row in given.rows for name in row))
    values = ", ".join("(" + ", ".join("?" for _ in names) + ")" for _ in given.rows)
    params = [row.get(name) for row in given.rows for name in names]
    casts = ", ".join(
        f'cast("{name}" as {given.columns[name]}) as "{name}"' if name in given.columns
        else f'"{name}"' for name in names)
    columns = ", ".join(f'"{name}"' for name in names)
    conn.execute(f"{create} {relation} as select {casts} from (values {values}) "
                 f"as given({columns})", params)


def _normal(value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 9)
    return value


def run_unit_test(contract: Contract, test: UnitTestSpec,
                  sql: str | None = None) -> Outcome:
    """Run one unit test of `contract` over its given rows; `sql` defaults to the model's."""
    sql = sql if sql is not None else model_sql(contract)
    where = f"{contract.file}: unit_tests {test.name}"
    given = {g.input.lower() for g in test.given}
    missing = sorted(references(sql) - given)
    if missing:
        raise ValueError(f"{where}: the model reads {missing}, which the test does not give")
    with duckdb.connect(":memory:") as conn:
        for source in test.given:
            _create(conn, source, where)
        for path in macro_paths():
            conn.execute(path.read_text())
        variables = dict(test.overrides.get("vars", {}))
        # A `$name` in a comment (a header saying "at $as_of") is no parameter: DuckDB would
        # refuse a value for it.
        taken = set(_PARAMETER.findall(strip_sql(sql)))
        params = {name: variables[name] for name in taken if name in variables}
        unset = sorted(taken - set(params))
        if unset:
            raise ValueError(f"{where}: the model takes {unset}: set them in overrides.vars")
        result = conn.execute(sql, params)
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    columns = tuple(dict.fromkeys(name for row in test.expect.rows for name in row))
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise ValueError(f"{where}: expect names {unknown}, which the model does not return")

    def project(found: list[dict]) -> list[tuple]:
        return sorted((tuple(_normal(row.get(c)) for c in columns) for row in found), key=repr)

    return Outcome(project(list(test.expect.rows)), project(rows), columns)


def contract_unit_tests(contracts: dict[str, Contract]) -> list[tuple[Contract, UnitTestSpec]]:
    return [(c, t) for c in contracts.values() for t in c.unit_tests]
