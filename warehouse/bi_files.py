"""LookML views and Tableau data sources generated from the marts' schema and columns.toml.

Types come from the built tables, meanings from columns.toml, so a dashboard's field list says
what docs/metrics.md says. Every column becomes a dimension (a date a dimension group); the
columns a table marks additive also get a `sum` measure; ratios never do (recompute them from
their parts).

Looker reads the marts from PostgreSQL (schema `marts`, Looker's "PostgreSQL 9.5+" dialect), so
the LookML's SQL is PostgreSQL's. Each view's hidden `row_key` primary key is what Looker's
symmetric aggregates hash, so the explores can join the marts on their keys (`JOINS`) and still
sum each table's measures once per row. Tableau gets three data sources per mart: the Hyper
extract (`tableau/hyper/`, nothing to install), a live PostgreSQL connection (`tableau/postgres/`,
no password in the file) and the published DuckDB copy through the DuckDB JDBC connector
(`tableau/duckdb/`). docs/bi.md walks through each.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import duckdb
import lkml

from warehouse.columns import described_columns, mart_docs
from warehouse.publishing import extract_path

MODEL = "csm_metrics"
PG_SCHEMA = "marts"

# (explore, joined view, relationship, [(explore's column, joined view's column), ...]).
# An account's owner at period end is the CSM whose ending book (arr_managed) it is in.
GRAIN = (("period_grain", "period_grain"), ("period_start", "period_start"))
JOINS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("csm_period_metrics", "account_period_metrics", "one_to_many",
     (*GRAIN, ("csm_id", "owner_at_end"))),
    ("csm_period_metrics", "team_period_metrics", "many_to_one", GRAIN),
    ("team_period_metrics", "csm_period_metrics", "one_to_many", GRAIN),
    ("csm_activity_hours", "csm_period_metrics", "many_to_one", (*GRAIN, ("csm_id", "csm_id"))),
    ("account_period_metrics", "csm_period_metrics", "many_to_one",
     (*GRAIN, ("owner_at_end", "csm_id"))),
)
TIMEFRAMES = ["raw", "date", "month", "quarter", "year"]


@dataclass(frozen=True)
class PostgresTarget:
    """Where Tableau's live connection finds the PostgreSQL marts (the read-only BI role)."""

    host: str = "127.0.0.1"
    port: int = 5433
    database: str = "csm_metrics"
    user: str = "bi"


def write_bi_files(conn: duckdb.DuckDBPyConnection, out: Path, published: Path,
                   connection: str = MODEL, postgres: PostgresTarget | None = None
                   ) -> list[Path]:
    """Write `lookml/*.lkml` and `tableau/{hyper,postgres,duckdb}/*.tds` for every mart table;
    returns the files. `published` is the DuckDB link; the extract's link sits beside it."""
    postgres = postgres or PostgresTarget()
    written, types = [], {}
    folder = published.parent.resolve()
    sources = {
        "hyper": _hyper_connection(folder / extract_path(published).name),
        "postgres": _postgres_connection(postgres),
        # The link, not the version it points at now: each connection opens the newest.
        "duckdb": _duckdb_connection(folder / published.name),
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


def lookml_view(table: str, columns: list[tuple[str, str, str]]) -> str:
    doc = mart_docs()[table]
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
        if name in doc.additive:
            measures.append({"name": f"total_{name}", "type": "sum", "sql": sql,
                             "description": f"Sum over the selected rows: {text}"})
    key = " || '|' || ".join(f'COALESCE(CAST(${{TABLE}}."{k}" AS TEXT), \'\')'
                             for k in doc.keys)
    dimensions.insert(0, {"name": "row_key", "primary_key": "yes", "hidden": "yes",
                          "type": "string", "sql": key,
                          "description": f"The table's grain: {', '.join(doc.keys)}."})
    return lkml.dump({"views": [{
        "name": table, "sql_table_name": f"{PG_SCHEMA}.{table}",
        "dimensions": dimensions, "dimension_groups": groups, "measures": measures}]}) + "\n"


def lookml_field(view: str, column: str, kind: str) -> str:
    """How LookML refers to a column: a date's or instant's dimension group by its raw value."""
    field = f"{column}_raw" if kind == "DATE" or kind.startswith("TIMESTAMP") else column
    return f"${{{view}.{field}}}"


def lookml_model(connection: str, types: dict[tuple[str, str], str]) -> str:
    """The model: one explore per mart, joined to the marts that share its keys (`JOINS`).
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
        explores.append({"name": table, "description": doc.description,
                         **({"joins": joins} if joins else {})})
    return lkml.dump({"connection": connection, "includes": ["*.view.lkml"],
                      "explores": explores}) + "\n"


def tableau_datasource(table: str, columns: list[tuple[str, str, str]], caption: str,
                       attributes: dict[str, str]) -> str:
    """A Tableau data source (.tds) on one connection (`attributes`), with each field typed,
    described, and the additive numbers set as measures."""
    doc = mart_docs()[table]
    root = ET.Element("datasource", {"formatted-name": f"csm_metrics {table}", "inline": "true",
                                     "version": "18.1"})
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
                           ("aggregation", "Sum" if datatype in ("integer", "real")
                            else "Count"),
                           ("contains-null", "true")):
            ET.SubElement(record, tag).text = value
    for name, kind, text in columns:
        datatype = _tableau_type(kind)
        measure = datatype in ("integer", "real") and name in doc.additive
        column = ET.SubElement(root, "column", {
            "caption": name.replace("_", " ").capitalize(), "datatype": datatype,
            "name": f"[{name}]", "role": "measure" if measure else "dimension",
            "type": "quantitative" if measure else "ordinal" if datatype.startswith("date")
            else "nominal"})
        run = ET.SubElement(ET.SubElement(ET.SubElement(column, "desc"), "formatted-text"), "run")
        run.text = text
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f"<?xml version='1.0' encoding='utf-8' ?>\n{body}\n"


def _hyper_connection(extract: Path) -> tuple[str, dict[str, str]]:
    """Tableau's own file format: `dbname` is the extract's link, swapped on each publish."""
    return "csm-metrics (Hyper extract)", {
        "class": "hyper", "dbname": str(extract), "schema": PG_SCHEMA,
        "default-settings": "yes", "sslmode": "", "username": "tableau_internal_user",
        "authentication": "auth-none"}


def _postgres_connection(target: PostgresTarget) -> tuple[str, dict[str, str]]:
    """A live connection as the read-only BI role; Tableau asks for the password."""
    return "csm-metrics (PostgreSQL)", {
        "class": "postgres", "server": target.host, "port": str(target.port),
        "dbname": target.database, "username": target.user, "schema": PG_SCHEMA,
        "authentication": "username-password", "sslmode": "", "one-time-sql": ""}


def _duckdb_connection(link: Path) -> tuple[str, dict[str, str]]:
    """The DuckDB connector for Tableau (`duckdb_jdbc`, the taco) on the published copy."""
    return "csm-metrics (published DuckDB)", {
        "class": "duckdb_jdbc", "server": "local", "v-connection_string_file": str(link),
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
