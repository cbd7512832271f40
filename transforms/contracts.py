"""Every mart's contract, read from the `<mart>.yml` beside its SQL: the one place a mart declares
what a build replaces, its grain, its columns (meaning, type, how BI may aggregate them), its
joins, its data tests and its unit tests (docs/architecture.md, Contracts).

The files are in dbt's shape (`version: 2`, `models:`, `unit_tests:`), validated here, and an
error names the file and the field. A column with no description takes the one of the same name
in `marts/_shared.yml` (columns that mean the same in every mart that has them). Everything else
reads the contracts through this module: the model graph (`kind`), the Dagster checks
(`data_tests`), COMMENT ON and the PostgreSQL and Hyper schemas (descriptions, grain), the LookML
and .tds files (measures, joins) and the generated dbt `sources.yml`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from transforms import ROOT

# Where contracts live: the SQL marts, the retention drivers (fitted in Python on the units of
# steering/), and the outlook; in this order, each folder's files by name.
FOLDERS = ("marts", "steering", "outlook")
SHARED = "_shared.yml"
_M = TypeVar("_M", bound=BaseModel)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when built with it
KINDS = {"replaces periods": "periods", "replaces table": "table"}


class ContractError(ValueError):
    """A contract that cannot be read: the message starts with its file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMeta(_Strict):
    # balance: a stock at an instant; flow: what happened in the period; ratio: recomputed from
    # its components' sums (warehouse/bi_measures.py says what each allows).
    measure: Literal["balance", "flow", "ratio"] | None = None
    additive: bool = False  # a BI tool may sum it across the rows of one grain
    label: str | None = None  # ratio only, with numerator and denominator
    numerator: tuple[str, ...] = ()  # columns summed; `-column` subtracted
    denominator: str | None = None

    @model_validator(mode="after")
    def _ratio_has_parts(self) -> ColumnMeta:
        if (self.measure == "ratio") != bool(self.numerator and self.denominator and self.label):
            raise ValueError("a ratio (measure: ratio) has a label, a numerator and a "
                             "denominator, and only a ratio has them")
        return self


class ColumnSpec(_Strict):
    name: str
    description: str | None = None
    data_type: str | None = None
    meta: ColumnMeta = ColumnMeta()
    data_tests: tuple[Literal["not_null"], ...] = ()


class RatioSpec(_Strict):
    """A ratio measure that is not a column of its own (the column ones are in column meta)."""

    name: str
    label: str
    numerator: tuple[str, ...]
    denominator: str


class JoinSpec(_Strict):
    to: str
    relationship: Literal["one_to_many", "many_to_one", "one_to_one"]
    fields: dict[str, str]  # this mart's column -> the joined mart's column
    description: str | None = None


class ModelMeta(_Strict):
    ratios: tuple[RatioSpec, ...] = ()
    joins: tuple[JoinSpec, ...] = ()


class ModelConfig(_Strict):
    kind: Literal["replaces periods", "replaces table"]
    grain: tuple[str, ...] = Field(min_length=1)


class ExpressionTest(_Strict):
    name: str
    expression: str  # true on every row; a row where it is false fails
    description: str


class FailingRowsTest(_Strict):
    name: str
    sql: str  # a file, relative to the contract's folder, selecting the failing rows
    description: str


class ExpressionIsTrue(_Strict):
    expression_is_true: ExpressionTest


class FailingRows(_Strict):
    failing_rows: FailingRowsTest


class ModelSpec(_Strict):
    name: str
    description: str
    config: ModelConfig
    meta: ModelMeta = ModelMeta()
    data_tests: tuple[Literal["unique_grain"] | ExpressionIsTrue | FailingRows, ...] = ()
    columns: tuple[ColumnSpec, ...] = Field(min_length=1)


class GivenInput(_Strict):
    input: str  # the relation as the model names it: `staging.x`, `wrk_x`, `marts.x`
    rows: tuple[dict[str, object], ...] = ()
    format: Literal["dict", "sql"] = "dict"
    columns: dict[str, str] = {}  # column -> the type it is cast to
    # format sql: `rows` is empty and `sql` selects the rows (types and all)
    sql: str | None = None


class Expected(_Strict):
    rows: tuple[dict[str, object], ...] = ()  # every row names the same columns

    @model_validator(mode="after")
    def _same_columns(self) -> Expected:
        if len({tuple(sorted(row)) for row in self.rows}) > 1:
            raise ValueError("every expected row names the same columns")
        return self


class UnitTestSpec(_Strict):
    name: str
    model: str
    description: str | None = None
    given: tuple[GivenInput, ...] = ()
    expect: Expected
    overrides: dict[str, dict[str, object]] = {}  # {vars: {as_of: ...}}: the model's parameters


class ContractFile(_Strict):
    version: Literal[2]
    models: tuple[ModelSpec, ...] = Field(min_length=1, max_length=1)
    unit_tests: tuple[UnitTestSpec, ...] = ()


class SharedFile(_Strict):
    version: Literal[2]
    columns: tuple[ColumnSpec, ...]


@dataclass(frozen=True)
class Ratio:
    """`sum(numerator terms) / sum(denominator)` over the rows where the ratio is defined."""

    name: str  # the column it rolls up (a measure named `<name>_rollup`)
    label: str
    numerator: tuple[tuple[int, str], ...]  # (+1 or -1, column)
    denominator: str

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([c for _, c in self.numerator] + [self.denominator]))

    @property
    def formula(self) -> str:
        terms = " ".join(f"{'+' if sign > 0 else '-'} sum({c})" for sign, c in self.numerator)
        return f"({terms.removeprefix('+ ')}) / sum({self.denominator})"


@dataclass(frozen=True)
class Check:
    """A data test as a check: `sql` selects the failing rows (each a failing key)."""

    name: str
    description: str
    sql: str


@dataclass(frozen=True)
class Contract:
    name: str
    path: Path
    description: str
    replaces: str  # `periods` (the built periods' rows are replaced) or `table` (whole)
    keys: tuple[str, ...]  # the grain
    columns: dict[str, str]  # name -> description, in table order
    data_types: dict[str, str]  # name -> declared type (lower case), where declared
    not_null: tuple[str, ...]
    additive: tuple[str, ...]
    balances: tuple[str, ...]
    flows: tuple[str, ...]
    ratios: tuple[Ratio, ...]
    joins: tuple[JoinSpec, ...]
    checks: tuple[Check, ...]
    unit_tests: tuple[UnitTestSpec, ...]

    @property
    def file(self) -> str:
        return _display(self.path)


def _display(path: Path) -> str:
    try:
        return f"transforms/{path.relative_to(ROOT).as_posix()}"
    except ValueError:
        return str(path)


def _read(path: Path) -> object:
    try:
        return yaml.load(path.read_text(), Loader=_LOADER)  # a safe loader, C when available
    except yaml.YAMLError as error:
        raise ContractError(f"{_display(path)}: not YAML: {error}") from None


def _validate(model: type[_M], path: Path) -> _M:
    try:
        return model.model_validate(_read(path))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}"
            for e in error.errors())
        raise ContractError(f"{_display(path)}: {problems}") from None


def _ratio(name: str, label: str, numerator: tuple[str, ...], denominator: str) -> Ratio:
    terms = tuple((-1, t[1:]) if t.startswith("-") else (1, t) for t in numerator)
    return Ratio(name, label, terms, denominator)


def _checks(spec: ModelSpec, path: Path, not_null: tuple[str, ...]) -> tuple[Check, ...]:
    table = f"marts.{spec.name}"
    keys = ", ".join(spec.config.grain)
    checks = []
    for test in spec.data_tests:
        if test == "unique_grain":
            # the grain's not_null columns are judged with it: a null key is no key
            nulls = " or ".join(f"{c} is null" for c in not_null if c in spec.config.grain)
            sql = f"select {keys} from {table} group by all having count(*) > 1"
            if nulls:
                sql += f" union all select {keys} from {table} where {nulls}"
            described = f"One row per ({keys})" + (
                f"; none of {', '.join(c for c in not_null if c in spec.config.grain)} null."
                if nulls else ".")
            checks.append(Check(f"{spec.name}_keys_unique", described, sql))
        elif isinstance(test, ExpressionIsTrue):
            expr = test.expression_is_true
            checks.append(Check(expr.name, expr.description,
                                f"select {keys} from {table} where not ({expr.expression})"))
        elif isinstance(test, FailingRows):
            file = path.parent / test.failing_rows.sql
            if not file.is_file():
                raise ContractError(f"{_display(path)}: data_tests: {test.failing_rows.name}: "
                                    f"no file {test.failing_rows.sql}")
            checks.append(Check(test.failing_rows.name, test.failing_rows.description,
                                file.read_text()))
    return tuple(checks)


def _contract(path: Path, shared: dict[str, str]) -> Contract:
    parsed = _validate(ContractFile, path)
    spec = parsed.models[0]
    where = _display(path)
    if spec.name != path.stem:
        raise ContractError(f"{where}: models.0.name: {spec.name!r} is not the file's name")
    names = [c.name for c in spec.columns]
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: columns: a column is declared twice")
    columns = {}
    for i, column in enumerate(spec.columns):
        text = column.description or shared.get(column.name)
        if not text:
            raise ContractError(f"{where}: columns.{i} ({column.name}): no description, and "
                                f"none in {SHARED}")
        columns[column.name] = text
    for field, listed in (("config.grain", spec.config.grain),
                          *((f"meta.joins ({j.to})", tuple(j.fields)) for j in spec.meta.joins)):
        unknown = [c for c in listed if c not in columns]
        if unknown:
            raise ContractError(f"{where}: {field}: {unknown} not among the columns")
    ratios = [_ratio(c.name, c.meta.label or "", c.meta.numerator, c.meta.denominator or "")
              for c in spec.columns if c.meta.measure == "ratio"]
    ratios += [_ratio(r.name, r.label, r.numerator, r.denominator) for r in spec.meta.ratios]
    for ratio in ratios:
        unknown = [c for c in ratio.components if c not in columns]
        if unknown:
            raise ContractError(f"{where}: ratio {ratio.name}: {unknown} not among the columns")
    not_null = tuple(c.name for c in spec.columns if "not_null" in c.data_tests)
    for test in parsed.unit_tests:
        if test.model != spec.name:
            raise ContractError(f"{where}: unit_tests ({test.name}): model {test.model!r} is "
                                f"not {spec.name!r}")
    return Contract(
        name=spec.name, path=path, description=spec.description,
        replaces=KINDS[spec.config.kind], keys=spec.config.grain, columns=columns,
        data_types={c.name: c.data_type.lower() for c in spec.columns if c.data_type},
        not_null=not_null,
        additive=tuple(c.name for c in spec.columns if c.meta.additive),
        balances=tuple(c.name for c in spec.columns if c.meta.measure == "balance"),
        flows=tuple(c.name for c in spec.columns if c.meta.measure == "flow"),
        ratios=tuple(ratios), joins=spec.meta.joins,
        checks=_checks(spec, path, not_null), unit_tests=parsed.unit_tests)


def shared_columns(root: Path = ROOT) -> dict[str, str]:
    path = root / "marts" / SHARED
    if not path.is_file():
        return {}
    return {c.name: c.description or "" for c in _validate(SharedFile, path).columns}


def contract_paths(root: Path = ROOT) -> list[Path]:
    return [path for folder in FOLDERS for path in sorted((root / folder).glob("*.yml"))
            if path.name != SHARED]


@functools.cache
def load_contracts(root: Path = ROOT) -> dict[str, Contract]:
    """Every contract under `root`, by mart name, in FOLDERS order."""
    shared = shared_columns(root)
    found: dict[str, Contract] = {}
    for path in contract_paths(root):
        contract = _contract(path, shared)
        if contract.name in found:
            raise ContractError(f"{contract.file}: {contract.name} already has a contract in "
                                f"{found[contract.name].file}")
        found[contract.name] = contract
    for contract in found.values():
        for join in contract.joins:
            if join.to not in found:
                raise ContractError(f"{contract.file}: meta.joins: {join.to} has no contract")
    return found


def contracts() -> dict[str, Contract]:
    """The project's contracts, read once per process."""
    return load_contracts(ROOT)
