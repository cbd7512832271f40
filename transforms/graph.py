"""The model graph: which model reads which, parsed from the SQL, so the order is declared.

Each model's inputs are the tables its SQL names, parsed with sqlglot's DuckDB dialect (so
comments, string literals and `extract(... from ...)` are never mistaken for one):
`staging.<model>`, `intermediate.<model>`, `marts.<model>`, a working model by its own name
(`wrk_<model>`), or a table the pipeline creates (`raw.<table>`, `staging.settings` and the other
settings tables). Names a model defines itself (its CTEs) and table functions (`range(...)`) are
not inputs; a comma join (`from a, b`) is refused, so that no input goes unseen. A model reads only
its own layer and the layers before it (staging, intermediate, working, marts), so the views never
read a build's temporary tables. The graph is built once; a cycle, or an input that is neither a
model nor a table the caller says exists, is an error naming the file (docs/architecture.md,
Transform layer). What a mart's build replaces (its periods' rows or the whole table) is its
contract's `config.kind` (transforms/contracts.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from transforms import LAYERS, ROOT, WORKING_PREFIX
from transforms.contracts import KINDS, load_contracts

if TYPE_CHECKING:
    from sqlglot import exp

MART_REPLACES = tuple(KINDS.values())  # what a mart's build replaces (its contract's kind)


class ModelGraphError(ValueError):
    """A model the graph cannot order: the message starts with its file."""


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path
    sql: str
    inputs: frozenset[str]
    # Marts only: `periods` (the built periods' rows are replaced) or `table` (replaced whole).
    replaces: str | None = None

    @property
    def relation(self) -> str:
        """How other models name it: `<layer>.<name>`, or a working model's own name."""
        return self.name if self.layer == "working" else f"{self.layer}.{self.name}"

    @property
    def file(self) -> str:
        return f"transforms/{self.layer}/{self.path.name}"


@dataclass(frozen=True)
class ModelGraph:
    models: tuple[Model, ...]  # in dependency order: every model after the models it reads

    def layer(self, layer: str) -> list[Model]:
        return [model for model in self.models if model.layer == layer]

    def external_inputs(self) -> dict[str, list[Model]]:
        """Relations read that no model makes (raw and settings tables), with their readers."""
        made = {model.relation for model in self.models}
        found: dict[str, list[Model]] = {}
        for model in self.models:
            for name in sorted(model.inputs - made):
                found.setdefault(name, []).append(model)
        return found

    def check_sources(self, available: Collection[str]) -> None:
        """Every relation read that no model makes must be one of `available`."""
        for name, readers in sorted(self.external_inputs().items()):
            if name not in available:
                raise ModelGraphError(f"{readers[0].file}: reads {name}, which is neither a "
                                      "model nor a table the pipeline creates")


def strip_sql(sql: str) -> str:
    """The SQL with comments removed and string literals emptied (`''`), so that neither can
    look like a reference."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == "'":
            end = i + 1
            while end < n and not (sql[end] == "'" and sql[end + 1:end + 2] != "'"):
                end += 2 if sql[end] == "'" else 1
            out.append("''")
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            out.append(" ")
            i = n if end < 0 else end + 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def unknown_reads(sql: str, allowed: Collection[str]) -> list[str]:
    """The relations a SQL file run outside the graph (after the marts) reads that are neither
    `allowed` nor a settings table (`staging.*` the pipeline writes): none may be missing."""
    return sorted(name for name in cached_references(sql)
                  if name not in allowed and not name.startswith("staging."))


def cached_references(sql: str) -> frozenset[str]:
    """`references`, kept with the models' parses (ParseCache): the SQL run after the marts
    (the drivers' units, the outlook) is checked on every build, and parsing it with sqlglot
    took a quarter of a second a file."""
    found = _parsed.inputs(sql)
    _parsed.save()
    return found


def references(sql: str) -> frozenset[str]:
    """The relations the SQL reads (every table its statements name), its own CTEs excepted,
    parsed with sqlglot's DuckDB dialect. A comma join is refused: join explicitly."""
    import sqlglot  # imported when a text is parsed: a process whose parses are cached skips it
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        raise ValueError(f"not SQL sqlglot's DuckDB dialect can parse (line "
                         f"{first.get('line', '?')}: {first.get('description', error)})"
                         ) from None
    found: set[str] = set()
    for statement in statements:
        if statement is None:
            continue
        own = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        for join in statement.find_all(exp.Join):
            if _is_comma_join(join):
                raise ValueError(f"`from {_from_name(join)}, ...`: join explicitly "
                                 "(`cross join`), so that every input is seen")
        for table in statement.find_all(exp.Table):
            if not table.name:  # a table function: `range(...)`, `unnest(...)`
                continue
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p).lower()
            if not (table.db or table.catalog) and name in own:
                continue
            found.add(name)
    return frozenset(found)


def _is_comma_join(join: exp.Join) -> bool:
    """`from a, b`: a join with no kind, side, method or condition."""
    return not any(join.args.get(arg) for arg in ("kind", "side", "method", "on", "using"))


def _from_name(join: exp.Join) -> str:
    from sqlglot import exp

    source = join.parent.args.get("from_") if join.parent else None
    table = source.this if source is not None else None
    if isinstance(table, exp.Table) and table.name:
        return ".".join(p for p in (table.db, table.name) if p).lower()
    return "(subquery)"


class ParseCache:
    """Each SQL text's inputs, kept between processes (sqlglot parses the project's models in
    about a second; every process that loads the definitions needs them): keyed by the text's
    hash and sqlglot's version, in the user's cache folder; unreadable or unwritable, it is
    simply not used."""

    VERSION = 1

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"model-inputs-{version('sqlglot')}-v{self.VERSION}.json"
        self._found: dict[str, list[str]] | None = None
        self._new = False

    def _entries(self) -> dict[str, list[str]]:
        if self._found is None:
            try:
                found = json.loads(self.path.read_text())
                self._found = found if isinstance(found, dict) else {}
            except (OSError, ValueError):
                self._found = {}
        return self._found

    def inputs(self, sql: str) -> frozenset[str]:
        key = hashlib.sha256(sql.encode()).hexdigest()
        hit = self._entries().get(key)
        if isinstance(hit, list):
            return frozenset(hit)
        found = references(sql)
        self._entries()[key] = sorted(found)
        self._new = True
        return found

    def save(self) -> None:
        if not self._new:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f"{self.path.name}.{os.getpid()}")
            partial.write_text(json.dumps(self._entries()))
            os.replace(partial, self.path)  # readers see the old file or the new, never half
            self._new = False
        except OSError:
            pass


_parsed = ParseCache(Path.home() / ".cache" / "csm-metrics")


def load_models(root: Path = ROOT) -> list[Model]:
    """Every model file under `root`, parsed (not yet ordered or checked)."""
    models = []
    kinds = {name: c.replaces for name, c in load_contracts(root).items()}
    for layer in LAYERS:
        for path in sorted((root / layer).glob("*.sql")):
            sql = path.read_text()
            try:
                inputs = _parsed.inputs(sql)
            except ValueError as error:
                raise ModelGraphError(f"transforms/{layer}/{path.name}: {error}") from None
            model = Model(layer, path.stem, path, sql, inputs)
            if layer == "working" and not path.stem.startswith(WORKING_PREFIX):
                raise ModelGraphError(f"{model.file}: a working model's name starts with "
                                      f"{WORKING_PREFIX!r}, which is how the marts name it")
            if layer == "marts":
                if path.stem not in kinds:
                    raise ModelGraphError(f"{model.file}: a mart declares what a build replaces "
                                          f"in its contract, transforms/marts/{path.stem}.yml "
                                          "(config.kind: replaces periods | replaces table)")
                model = Model(layer, path.stem, path, sql, model.inputs, kinds[path.stem])
            models.append(model)
    _parsed.save()
    return models


def build_graph(models: list[Model]) -> ModelGraph:
    """Order the models so that each comes after what it reads; refuse what cannot be ordered.

    Among models whose inputs are all made, the earliest layer and then the name goes first,
    so the order is the same on every run.
    """
    by_relation = {model.relation: model for model in models}
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    needs: dict[str, set[str]] = {}
    for model in models:
        needs[model.relation] = set()
        for name in model.inputs:
            read = by_relation.get(name)
            if read is None:
                schema = name.split(".")[0] if "." in name else None
                if schema in ("intermediate", "marts") or (
                        schema is None and name.startswith(WORKING_PREFIX)):
                    raise ModelGraphError(f"{model.file}: reads {name}, which is not a model")
                if schema is None:
                    raise ModelGraphError(
                        f"{model.file}: reads {name}, which is not a model: name a model by its "
                        f"schema ({', '.join(LAYERS)}) or a working model by its "
                        f"{WORKING_PREFIX}name")
                continue  # a raw or settings table: checked by check_sources
            if rank[read.layer] > rank[model.layer]:
                raise ModelGraphError(f"{model.file}: reads {name}, a later layer "
                                      f"({read.layer}) than its own ({model.layer})")
            needs[model.relation].add(name)
    ordered: list[Model] = []
    done: set[str] = set()
    pending = sorted(models, key=lambda m: (rank[m.layer], m.name))
    while pending:
        ready = next((m for m in pending if needs[m.relation] <= done), None)
        if ready is None:
            cycle = _cycle(pending, needs)
            raise ModelGraphError(
                f"{by_relation[cycle[0]].file}: its inputs form a cycle: {' -> '.join(cycle)}")
        ordered.append(ready)
        done.add(ready.relation)
        pending.remove(ready)
    return ModelGraph(tuple(ordered))


def _cycle(pending: list[Model], needs: dict[str, set[str]]) -> list[str]:
    """One cycle among models none of which can run: follow unmet inputs until one repeats."""
    left = {model.relation for model in pending}
    path = [pending[0].relation]
    while True:
        step = sorted(needs[path[-1]] & left)[0]
        if step in path:
            return [*path[path.index(step):], step]
        path.append(step)


@functools.cache
def model_graph() -> ModelGraph:
    """The project's models, parsed and ordered once per process."""
    return build_graph(load_models())
