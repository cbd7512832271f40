"""LookML views and Tableau data sources generated from the marts' schema and contracts.

Types come from the built tables, meanings from the contracts (transforms/contracts.py), so a
dashboard's field list says what docs/metrics.md says. Every column becomes a dimension (a date a
dimension group). What may be aggregated, and how, is warehouse/bi_measures.py's: a balance's total
is NULL across periods, a flow's across grains or `ttm` windows, and NRR, GRR, logo retention,
utilization and touch coverage are measures recomputed from their components' sums. Every explore
on a period table always filters `period_grain` (default month) and `period_status` (default
complete); each Tableau data source carries the same measures as calculated fields and the same two
filters. No file names an absolute path: the Hyper and DuckDB data sources name the published links
relative to the .tds itself.

Looker reads the marts from PostgreSQL (schema `marts`, Looker's "PostgreSQL 9.5+" dialect), so the
LookML's SQL is PostgreSQL's. Each view's hidden `row_key` primary key is what Looker's symmetric
aggregates hash, so the explores can join the marts on their keys (`JOINS`, the contracts'
`meta.joins`) and still sum each table's measures once per row. Tableau gets three data sources per
mart: the Hyper extract (`tableau/hyper/`, nothing to install), a live PostgreSQL connection
(`tableau/postgres/`, no password in the file) and the published DuckDB copy through the DuckDB
JDBC connector (`tableau/duckdb/`). docs/bi.md walks through each.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import duckdb
import lkml
import psycopg
from psycopg.conninfo import conninfo_to_dict

from warehouse.bi_measures import (
    GRAIN_DEFAULT,
    SEMANTICS,
    STATUS_DEFAULT,
    Semantics,
)
from warehouse.columns import described_columns, mart_docs
from warehouse.publishing import extract_path

MODEL = "csm_metrics"
PG_SCHEMA = "marts"

Join = tuple[str, str, str, tuple[tuple[str, str], ...]]


def contract_joins() -> tuple[Join, ...]:
    """(explore, joined view, relationship, [(explore's column, joined view's column), ...]),
    as each mart's contract declares them (`meta.joins`)."""
    return tuple((name, join.to, join.relationship, tuple(join.fields.items()))
                 for name, doc in mart_docs().items() for join in doc.joins)


JOINS = contract_joins()
TIMEFRAMES = ["raw", "date", "month", "quarter", "year"]


@dataclass(frozen=True)
class PostgresTarget:
    """Where Tableau's live connection finds the PostgreSQL marts (the read-only BI role).
    `sslmode` is libpq's (from the deployment's PostgreSQL URL); None writes none."""

    host: str = "127.0.0.1"
    port: int = 5433
    database: str = "csm_metrics"
    user: str = "bi"
    sslmode: str | None = None


def write_bi_files(conn: duckdb.DuckDBPyConnection, out: Path, published: Path,
                   connection: str = MODEL, postgres: PostgresTarget | None = None
                   ) -> list[Path]:
    """Write `lookml/*.lkml` and `tableau/{hyper,postgres,duckdb}/*.tds` for every mart table;
    returns the files. `published` is the DuckDB link; the extract's link sits beside it."""
    postgres = postgres or PostgresTarget()
    written, types = [], {}
    folder = published.parent.resolve()
    tableau = out.resolve() / "tableau"
    sources = {
        "hyper": _hyper_connection(_relative(folder / extract_path(published).name,
                                             tableau / "hyper")),
        "postgres": _postgres_connection(postgres),
        # The link, not the version it points at now: each connection opens the newest.
        "duckdb": _duckdb_connection(_relative(folder / published.name, tableau / "duckdb")),
    }
    (out / "lookml").mkdir(parents=True, exist_ok=True)
    for kind in sources:
        (out / "tableau" / kind).mkdir(parents=True, exist_ok=True)
    for table in mart_docs():
        columns = described_columns(conn, table)
        types.update({(table, name): kind for name, kind, _ in columns})
        view = out / "lookml" / f"{table}.view.lkml"
        view.write_text(lookml_view(table, columns))
        written.append(view)
        for kind, (caption, attributes) in sources.items():
            tds = out / "tableau" / kind / f"{table}.tds"
            tds.write_text(tableau_datasource(table, columns, caption, attributes))
            written.append(tds)
    model = out / "lookml" / f"{MODEL}.model.lkml"
    model.write_text(lookml_model(connection, types))
    return [*written, model]


def url_sslmode(url: str) -> str | None:
    """The `sslmode` of a libpq URL or conninfo (None when absent); never echoes the URL."""
    if not url:
        return None
    try:
        return conninfo_to_dict(url).get("sslmode") or None
    except psycopg.ProgrammingError:  # the message would quote the URL, password and all
        raise ValueError("CSM_METRICS_POSTGRES_URL is not a libpq URL or conninfo") from None


def semantics(table: str, names: set[str]) -> Semantics:
    """What the BI files may aggregate in `table` (warehouse/bi_measures.py), restricted to the
    columns it has: a period table's balances, flows and computable ratios; for a table with
    no `period_grain`, its contract's additive columns as plain flows."""
    if "period_grain" not in names:
        return Semantics(flows=tuple(c for c in mart_docs()[table].additive if c in names))
    declared = SEMANTICS.get(table, Semantics())
    return Semantics(tuple(c for c in declared.balances if c in names),
                     tuple(c for c in declared.flows if c in names),
                     tuple(r for r in declared.ratios if set(r.components) <= names))


def lookml_view(table: str, columns: list[tuple[str, str, str]]) -> str:
    doc = mart_docs()[table]
    names = {name for name, _, _ in columns}
    dimensions, groups, measures = [], [], [{"name": "count", "type": "count",
                                             "description": f"Rows: {doc.description}"}]
    for name, kind, text in columns:
        sql = f'${{TABLE}}."{name}"'
        if kind == "DATE" or kind.startswith("TIMESTAMP"):
            # A date has no time zone to convert; an instant is converted to the viewer's.
            groups.append({"name": name, "type": "time", "description": text, "sql": sql,
                           "datatype": "date" if kind == "DATE" else "timestamp",
                           **({"convert_tz": "no"} if kind == "DATE" else {}),
                           "timeframes": TIMEFRAMES})
            continue
        dimensions.append({"name": name, "type": _looker_type(kind), "description": text,
                           "sql": sql})
    measures += _lookml_measures(table, columns, semantics(table, names), "period_grain" in names)
    key = " || '|' || ".join(f'COALESCE(CAST(${{TABLE}}."{k}" AS TEXT), \'\')'
                             for k in doc.keys)
    dimensions.insert(0, {"name": "row_key", "primary_key": "yes", "hidden": "yes",
                          "type": "string", "sql": key,
                          "description": f"The table's grain: {', '.join(doc.keys)}."})
    return lkml.dump({"views": [{
        "name": table, "sql_table_name": f"{PG_SCHEMA}.{table}",
        "dimensions": dimensions, "dimension_groups": groups, "measures": measures}]}) + "\n"


# The guards, as LookML over the hidden counting measures of `_lookml_measures`.
ONE_PERIOD = "${period_count} = 1"
ONE_GRAIN = "${grain_count} = 1 AND ${ttm_window_count} <= 1"


def _lookml_measures(table: str, columns: list[tuple[str, str, str]], kinds: Semantics,
                     periodic: bool) -> list[dict]:
    """Each balance and flow a `total_<column>` and each ratio a `<ratio>_rollup`, NULL where
    the query's rows make it meaningless (module docstring); hidden sums feed them so that
    Looker's symmetric aggregates still count each row once across a fan-out join."""
    texts = {name: text for name, _, text in columns}
    col = '${{TABLE}}."{}"'.format
    if not periodic:
        return [{"name": f"total_{c}", "type": "sum", "sql": col(c),
                 "description": f"Sum over the selected rows: {texts[c]}"} for c in kinds.flows]
    grain, start = col("period_grain"), col("period_start")
    measures: list[dict] = [
        {"name": "period_count", "type": "count_distinct", "hidden": "yes",
         "sql": f"{grain} || '|' || CAST({start} AS TEXT)",
         "description": "Periods (grain and start) among the selected rows."},
        {"name": "grain_count", "type": "count_distinct", "hidden": "yes", "sql": grain,
         "description": "Grains among the selected rows."},
        {"name": "ttm_window_count", "type": "count_distinct", "hidden": "yes",
         "sql": f"CASE WHEN {grain} = 'ttm' THEN CAST({start} AS TEXT) END",
         "description": "Trailing-twelve-month windows among the selected rows."}]
    for c in (*kinds.balances, *kinds.flows):
        balance = c in kinds.balances
        guard, when = ((ONE_PERIOD, "the selected rows span more than one period")
                       if balance else
                       (ONE_GRAIN, "the selected rows mix grains or trailing-twelve-month "
                                   "windows"))
        measures += [
            {"name": f"sum_{c}", "type": "sum", "hidden": "yes", "sql": col(c),
             "description": f"Building block of total_{c}; use that."},
            {"name": f"total_{c}", "type": "number",
             "sql": f"CASE WHEN {guard} THEN ${{sum_{c}}} END",
             "description": f"{'Balance' if balance else 'Sum'} over the selected rows, NULL "
                            f"when {when}: {texts[c]}"}]
    for ratio in kinds.ratios:
        defined = " AND ".join([*(f"{col(c)} IS NOT NULL" for c in ratio.components),
                                f"{col(ratio.denominator)} > 0"])
        numerator = " ".join(f"{'+' if sign > 0 else '-'} {col(c)}"
                             for sign, c in ratio.numerator).removeprefix("+ ")
        guard = ONE_PERIOD if kinds.one_period(ratio) else ONE_GRAIN
        measures += [
            {"name": f"{ratio.name}_numerator", "type": "sum", "hidden": "yes",
             "sql": f"CASE WHEN {defined} THEN {numerator} END",
             "description": f"Building block of {ratio.name}_rollup."},
            {"name": f"{ratio.name}_denominator", "type": "sum", "hidden": "yes",
             "sql": f"CASE WHEN {defined} THEN {col(ratio.denominator)} END",
             "description": f"Building block of {ratio.name}_rollup."},
            {"name": f"{ratio.name}_rollup", "type": "number", "label": f"{ratio.label} (roll-up)",
             "value_format_name": "percent_1",
             "sql": f"CASE WHEN {guard} THEN CAST(${{{ratio.name}_numerator}} AS DOUBLE "
                    f"PRECISION) / NULLIF(${{{ratio.name}_denominator}}, 0) END",
             "description": f"{ratio.label} of the selected rows, {ratio.formula} over the rows "
                            f"where it is defined (docs/metrics.md), so it rolls up across "
                            f"rows as the team's own figure does; NULL when "
                            + ("the rows span more than one period."
                               if kinds.one_period(ratio) else
                               "the rows mix grains or trailing-twelve-month windows.")}]
    return measures


def lookml_field(view: str, column: str, kind: str) -> str:
    """How LookML refers to a column: a date's or instant's dimension group by its raw value."""
    field = f"{column}_raw" if kind == "DATE" or kind.startswith("TIMESTAMP") else column
    return f"${{{view}.{field}}}"


def default_filters(table: str, names: set[str] | dict) -> dict[str, str]:
    """The filters every query of a period table carries unless the analyst changes them."""
    filters = {"period_grain": GRAIN_DEFAULT, "period_status": STATUS_DEFAULT}
    return {c: value for c, value in filters.items() if c in names}


def lookml_model(connection: str, types: dict[tuple[str, str], str]) -> str:
    """The model: one explore per mart, joined to the marts that share its keys (`JOINS`),
    always filtered on `period_grain` and `period_status` where the table has them.
    `types` maps (table, column) to its DuckDB type (a date joins on its raw timeframe)."""
    explores = []
    for table, doc in mart_docs().items():
        joins = []
        for explore, joined, relationship, pairs in JOINS:
            if explore != table:
                continue
            sql_on = " AND ".join(
                f"{lookml_field(explore, mine, types[(explore, mine)])} = "
                f"{lookml_field(joined, theirs, types[(joined, theirs)])}"
                for mine, theirs in pairs)
            joins.append({"name": joined, "type": "left_outer", "relationship": relationship,
                          "sql_on": sql_on})
        filters = default_filters(table, {c for t, c in types if t == table})
        explores.append({
            "name": table, "description": doc.description,
            **({"always_filter": {"filters__all": [[{f"{table}.{c}": v}
                                                    for c, v in filters.items()]]}}
               if filters else {}),
            **({"joins": joins} if joins else {})})
    return lkml.dump({"connection": connection, "includes": ["*.view.lkml"],
                      "explores": explores}) + "\n"


USER_NS = "http://www.tableausoftware.com/xml/user"


def tableau_datasource(table: str, columns: list[tuple[str, str, str]], caption: str,
                       attributes: dict[str, str]) -> str:
    """A Tableau data source (.tds) on one connection (`attributes`), with each field typed and
    described, the flows set as measures, the balances' totals and the ratios' roll-ups as
    calculated fields, and data source filters on the default grain and status."""
    names = {name for name, _, _ in columns}
    kinds = semantics(table, names)
    root = ET.Element("datasource", {"formatted-name": f"csm_metrics {table}", "inline": "true",
                                     "version": "18.1", "xmlns:user": USER_NS})
    outer = ET.SubElement(root, "connection", {"class": "federated"})
    named = ET.SubElement(ET.SubElement(outer, "named-connections"), "named-connection",
                          {"caption": caption, "name": MODEL})
    ET.SubElement(named, "connection", attributes)
    ET.SubElement(outer, "relation", {"connection": MODEL, "name": table,
                                      "table": f"[{PG_SCHEMA}].[{table}]", "type": "table"})
    records = ET.SubElement(outer, "metadata-records")
    for position, (name, kind, _) in enumerate(columns, start=1):
        datatype = _tableau_type(kind)
        record = ET.SubElement(records, "metadata-record", {"class": "column"})
        for tag, value in (("remote-name", name), ("remote-type", _remote_type(kind)),
                           ("local-name", f"[{name}]"), ("parent-name", f"[{table}]"),
                           ("remote-alias", name), ("ordinal", str(position)),
                           ("local-type", datatype),
                           ("aggregation", "Sum" if name in kinds.flows else "Count"),
                           ("contains-null", "true")):
            ET.SubElement(record, tag).text = value
    for name, kind, text in columns:
        datatype = _tableau_type(kind)
        measure = datatype in ("integer", "real") and name in kinds.flows
        _tableau_column(root, name, name.replace("_", " ").capitalize(), datatype,
                        measure, text)
    for name, caption, formula, text in tableau_calculations(table, columns, kinds):
        column = _tableau_column(root, name, caption, "real", True, text)
        ET.SubElement(column, "calculation", {"class": "tableau", "formula": formula})
    for column, value in default_filters(table, names).items():
        # A data source filter: every sheet on the source gets it; Data > Edit Data Source
        # Filters changes it (docs/bi.md).
        where = ET.SubElement(root, "filter", {"class": "categorical", "column": f"[{column}]"})
        ET.SubElement(where, "groupfilter", {
            "function": "member", "level": f"[{column}]", "member": f'"{value}"',
            "user:ui-domain": "database", "user:ui-enumeration": "inclusive",
            "user:ui-marker": "enumerate"})
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f"<?xml version='1.0' encoding='utf-8' ?>\n{body}\n"


def _tableau_column(root: ET.Element, name: str, caption: str, datatype: str, measure: bool,
                    text: str) -> ET.Element:
    column = ET.SubElement(root, "column", {
        "caption": caption, "datatype": datatype, "name": f"[{name}]",
        "role": "measure" if measure else "dimension",
        "type": "quantitative" if measure else "ordinal" if datatype.startswith("date")
        else "nominal"})
    run = ET.SubElement(ET.SubElement(ET.SubElement(column, "desc"), "formatted-text"), "run")
    run.text = text
    return column


TABLEAU_ONE_PERIOD = "COUNTD([period_grain] + '|' + STR([period_start])) = 1"
TABLEAU_ONE_GRAIN = ("COUNTD([period_grain]) = 1 AND "
                     "COUNTD(IF [period_grain] = 'ttm' THEN STR([period_start]) END) <= 1")


def tableau_calculations(table: str, columns: list[tuple[str, str, str]], kinds: Semantics
                         ) -> list[tuple[str, str, str, str]]:
    """(name, caption, formula, description) of each calculated field: the LookML measures'
    guarded balance totals and ratio roll-ups, in Tableau's formula language."""
    texts = {name: text for name, _, text in columns}
    fields = [(f"total_{c}", f"Total {c.replace('_', ' ')} (one period)",
               f"IF {TABLEAU_ONE_PERIOD} THEN SUM([{c}]) END",
               f"Balance over the rows in view, NULL when they span more than one period: "
               f"{texts[c]}") for c in kinds.balances]
    for ratio in kinds.ratios:
        defined = " AND ".join([*(f"NOT ISNULL([{c}])" for c in ratio.components),
                                f"[{ratio.denominator}] > 0"])
        numerator = " ".join(f"{'+' if sign > 0 else '-'} [{c}]"
                             for sign, c in ratio.numerator).removeprefix("+ ")
        guard = TABLEAU_ONE_PERIOD if kinds.one_period(ratio) else TABLEAU_ONE_GRAIN
        fields.append((
            f"{ratio.name}_rollup", f"{ratio.label} (roll-up)",
            f"IF {guard} THEN SUM(IF {defined} THEN {numerator} END) / "
            f"SUM(IF {defined} THEN [{ratio.denominator}] END) END",
            f"{ratio.label} of the rows in view, {ratio.formula} over the rows where it is "
            f"defined (docs/metrics.md); NULL when "
            + ("they span more than one period." if kinds.one_period(ratio) else
               "they mix grains or trailing-twelve-month windows.")))
    return fields


def _relative(target: Path, tds_folder: Path) -> str:
    """`target` relative to the folder of the .tds that names it: no host path in the file."""
    return Path(os.path.relpath(target, tds_folder)).as_posix()


def _hyper_connection(extract: str) -> tuple[str, dict[str, str]]:
    """Tableau's own file format: `dbname` is the extract's link (relative to the .tds),
    swapped on each publish."""
    return "csm-metrics (Hyper extract)", {
        "class": "hyper", "dbname": extract, "schema": PG_SCHEMA,
        "default-settings": "yes", "sslmode": "", "username": "tableau_internal_user",
        "authentication": "auth-none"}


# libpq's sslmode to Tableau's: Tableau's PostgreSQL connection has one switch ("Require SSL",
# `sslmode='require'`); a mode that does not require TLS leaves the attribute out.
TABLEAU_SSLMODE = {"require": "require", "verify-ca": "require", "verify-full": "require"}


def _postgres_connection(target: PostgresTarget) -> tuple[str, dict[str, str]]:
    """A live connection as the read-only BI role; Tableau asks for the password."""
    ssl = TABLEAU_SSLMODE.get(target.sslmode or "")
    return "csm-metrics (PostgreSQL)", {
        "class": "postgres", "server": target.host, "port": str(target.port),
        "dbname": target.database, "username": target.user, "schema": PG_SCHEMA,
        "authentication": "username-password", **({"sslmode": ssl} if ssl else {}),
        "one-time-sql": ""}


def _duckdb_connection(link: str) -> tuple[str, dict[str, str]]:
    """The DuckDB connector for Tableau (`duckdb_jdbc`, the taco) on the published copy."""
    return "csm-metrics (published DuckDB)", {
        "class": "duckdb_jdbc", "server": "local", "v-connection_string_file": link,
        "dbname": "", "schema": PG_SCHEMA}


def _looker_type(kind: str) -> str:
    if kind == "BOOLEAN":
        return "yesno"
    if kind in ("VARCHAR", "UUID"):
        return "string"
    return "number"


def _tableau_type(kind: str) -> str:
    if kind == "DATE":
        return "date"
    if kind.startswith("TIMESTAMP"):
        return "datetime"
    if kind == "BOOLEAN":
        return "boolean"
    if kind in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT"):
        return "integer"
    if kind == "DOUBLE" or kind == "FLOAT" or kind.startswith("DECIMAL"):
        return "real"
    return "string"


def _remote_type(kind: str) -> str:
    """The OLE DB type code Tableau records for a column (`remote-type`), whatever the source."""
    if kind == "DATE":
        return "133"  # DBTYPE_DBDATE
    if kind.startswith("TIMESTAMP"):
        return "135"  # DBTYPE_DBTIMESTAMP
    if kind.startswith("DECIMAL"):
        return "131"  # DBTYPE_NUMERIC
    return {"BOOLEAN": "11", "BIGINT": "20", "INTEGER": "3", "SMALLINT": "2",
            "DOUBLE": "5", "FLOAT": "4"}.get(kind, "129")  # 129: DBTYPE_STR
