"""LookML views and Tableau data sources generated from the marts' schema and columns.toml.

Types come from the built tables, meanings from columns.toml, so a dashboard's field list says
what METRICS.md says. Every column becomes a dimension (a date a dimension group); the columns a
table marks additive also get a `sum` measure; ratios never do (recompute them from their parts).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import lkml

from warehouse.columns import described_columns, mart_docs

MODEL = "csm_metrics"


def write_bi_files(conn: duckdb.DuckDBPyConnection, out: Path, published: Path,
                   connection: str = MODEL) -> list[Path]:
    """Write `lookml/*.lkml` and `tableau/*.tds` for every mart table; returns the files."""
    written = []
    (out / "lookml").mkdir(parents=True, exist_ok=True)
    (out / "tableau").mkdir(parents=True, exist_ok=True)
    for table in mart_docs():
        columns = described_columns(conn, table)
        view = out / "lookml" / f"{table}.view.lkml"
        view.write_text(lookml_view(table, columns))
        tds = out / "tableau" / f"{table}.tds"
        tds.write_text(tableau_datasource(table, columns, published))
        written += [view, tds]
    model = out / "lookml" / f"{MODEL}.model.lkml"
    model.write_text(lookml_model(connection))
    return [*written, model]


def lookml_view(table: str, columns: list[tuple[str, str, str]]) -> str:
    doc = mart_docs()[table]
    dimensions, groups, measures = [], [], [{"name": "count", "type": "count",
                                             "description": f"Rows: {doc.description}"}]
    for name, kind, text in columns:
        sql = f'${{TABLE}}."{name}"'
        if kind == "DATE" or kind.startswith("TIMESTAMP"):
            groups.append({"name": name, "type": "time", "description": text, "sql": sql,
                           "datatype": "date" if kind == "DATE" else "timestamp",
                           "timeframes": ["raw", "date", "month", "quarter", "year"]})
            continue
        dimensions.append({"name": name, "type": _looker_type(kind), "description": text,
                           "sql": sql})
        if name in doc.additive:
            measures.append({"name": f"total_{name}", "type": "sum", "sql": sql,
                             "description": f"Sum over the selected rows: {text}"})
    key = " || '|' || ".join(f'COALESCE(CAST(${{TABLE}}."{k}" AS VARCHAR), \'\')'
                             for k in doc.keys)
    dimensions.insert(0, {"name": "row_key", "primary_key": "yes", "hidden": "yes",
                          "type": "string", "sql": key,
                          "description": f"The table's grain: {', '.join(doc.keys)}."})
    return lkml.dump({"views": [{
        "name": table, "sql_table_name": f"marts.{table}",
        "dimensions": dimensions, "dimension_groups": groups, "measures": measures}]}) + "\n"


def lookml_model(connection: str) -> str:
    return lkml.dump({
        "connection": connection,
        "includes": ["*.view.lkml"],
        "explores": [{"name": table, "description": doc.description}
                     for table, doc in mart_docs().items()]}) + "\n"


def tableau_datasource(table: str, columns: list[tuple[str, str, str]], published: Path) -> str:
    """A Tableau data source (.tds) for the DuckDB connector (`duckdb_jdbc`, the taco) on the
    published file, with each field's description."""
    doc = mart_docs()[table]
    root = ET.Element("datasource", {"formatted-name": f"csm_metrics {table}", "inline": "true",
                                     "version": "18.1"})
    outer = ET.SubElement(root, "connection", {"class": "federated"})
    named = ET.SubElement(ET.SubElement(outer, "named-connections"), "named-connection",
                          {"caption": "csm-metrics (published)", "name": "csm_metrics"})
    ET.SubElement(named, "connection", {
        "class": "duckdb_jdbc", "server": "local",
        # The link, not the version it points at now: each connection opens the newest.
        "v-connection_string_file": str(published.parent.resolve() / published.name),
        "dbname": "", "schema": "marts"})
    ET.SubElement(outer, "relation", {"connection": "csm_metrics", "name": table,
                                      "table": f"[marts].[{table}]", "type": "table"})
    records = ET.SubElement(outer, "metadata-records")
    for position, (name, kind, _) in enumerate(columns, start=1):
        record = ET.SubElement(records, "metadata-record", {"class": "column"})
        for tag, value in (("remote-name", name), ("remote-type", kind),
                           ("local-name", f"[{name}]"), ("parent-name", f"[{table}]"),
                           ("remote-alias", name), ("ordinal", str(position)),
                           ("local-type", _tableau_type(kind))):
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
