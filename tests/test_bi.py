"""Looker and Tableau: the generated LookML (PostgreSQL dialect, explores joined on the marts'
keys) and Tableau data sources (Hyper extract, PostgreSQL, DuckDB), docs/bi.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import lkml
import pytest

from tests.conftest import ROOT, TinyBuild
from warehouse.bi_files import JOINS, ONE_GRAIN, ONE_PERIOD, semantics
from warehouse.columns import mart_docs
from warehouse.publishing import current_version

FIELD = re.compile(r"\$\{(\w+)\.(\w+)\}")


@pytest.fixture(scope="module")
def built(tiny_built: TinyBuild) -> Path:
    return tiny_built.folder


@pytest.fixture(scope="module")
def bi_files(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bi_files")
    env = {**os.environ, "WAREHOUSE_PATH": str(built / "warehouse.duckdb"),
           "CSM_METRICS_POSTGRES_URL": "postgresql://publisher:secret@pg.internal:5432/"
                                       "csm_metrics?sslmode=verify-full"}
    env.pop("CSM_METRICS_PUBLISHED_PATH", None)
    done = subprocess.run([sys.executable, "-m", "warehouse", "bi-files", "--out", str(out),
                           "--pg-host", "db.example.internal", "--pg-port", "6543",
                           "--pg-database", "analytics", "--pg-user", "tableau_reader"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def published_columns(built: Path) -> dict[str, dict[str, str]]:
    """Each published mart's columns and their DuckDB types, in table order."""
    with duckdb.connect(str(current_version(built / "published" / "csm_metrics.duckdb")),
                        read_only=True) as conn:
        rows = conn.execute("select table_name, column_name, data_type from duckdb_columns() "
                            "where schema_name = 'marts' order by table_name, column_index"
                            ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        columns.setdefault(table, {})[column] = kind
    return columns


def view_of(bi_files: Path, table: str) -> dict:
    return lkml.load((bi_files / "lookml" / f"{table}.view.lkml").read_text())["views"][0]


def test_lookml_names_every_column_with_its_description(built: Path, bi_files: Path) -> None:
    columns = published_columns(built)
    for table, doc in mart_docs().items():
        view = view_of(bi_files, table)
        fields = {d["name"]: d for d in [*view.get("dimensions", []),
                                         *view.get("dimension_groups", [])]}
        assert set(fields) - {"row_key"} == set(columns[table])
        assert all(fields[c]["description"] == doc.columns[c] for c in columns[table])
        kinds = semantics(table, set(columns[table]))
        visible = {m["name"]: m for m in view["measures"] if m.get("hidden") != "yes"}
        assert set(visible) == {"count", *(f"total_{c}" for c in (*kinds.balances,
                                                                  *kinds.flows)),
                                *(f"{r.name}_rollup" for r in kinds.ratios)}
        if "period_grain" not in columns[table]:
            assert all(visible[f"total_{c}"]["type"] == "sum" for c in kinds.flows)
            continue
        # Every number the table says adds up within a period has a guarded total.
        assert {c for c in doc.additive} <= {*kinds.balances, *kinds.flows}, table
        for c in kinds.balances:
            assert visible[f"total_{c}"]["sql"] == (
                f"CASE WHEN {ONE_PERIOD} THEN ${{sum_{c}}} END")
        for c in kinds.flows:
            assert visible[f"total_{c}"]["sql"] == f"CASE WHEN {ONE_GRAIN} THEN ${{sum_{c}}} END"
        assert all(m["type"] != "sum" for m in visible.values())


def test_the_ratio_roll_ups_exist_where_their_components_do(built: Path, bi_files: Path
                                                           ) -> None:
    """NRR, GRR, logo retention, utilization and touch coverage for the CSMs; NRR, GRR and
    logo retention for the team; NRR and GRR over accounts (by segment, say)."""
    rollups = {table: {m["name"] for m in view_of(bi_files, table)["measures"]
                       if m["name"].endswith("_rollup")}
               for table in ("csm_period_metrics", "team_period_metrics",
                             "account_period_metrics")}
    assert rollups == {
        "csm_period_metrics": {"nrr_rollup", "grr_rollup", "logo_retention_rollup",
                               "utilization_rollup", "touch_coverage_rollup"},
        "team_period_metrics": {"nrr_rollup", "grr_rollup", "logo_retention_rollup"},
        "account_period_metrics": {"nrr_rollup", "grr_rollup"}}


def test_every_period_explore_always_filters_the_grain(built: Path, bi_files: Path) -> None:
    """The tiny build's tables: `period_grain` everywhere it is a column, `period_status`
    wherever the build has it (every period table, once the periods change lands)."""
    columns = published_columns(built)
    model = lkml.load((bi_files / "lookml" / "csm_metrics.model.lkml").read_text())
    for explore in model["explores"]:
        table = explore["name"]
        expected = [{f"{table}.{c}": v} for c, v in (("period_grain", "month"),
                                                     ("period_status", "complete"))
                    if c in columns[table]]
        if "period_grain" in columns[table]:
            assert explore["always_filter"]["filters__all"] == [expected], table
        else:
            assert "always_filter" not in explore, table


def test_lookml_is_postgresql_on_the_marts_schema(built: Path, bi_files: Path) -> None:
    columns = published_columns(built)
    for table, doc in mart_docs().items():
        view = view_of(bi_files, table)
        assert view["sql_table_name"] == f"marts.{table}"
        [key] = [d for d in view["dimensions"] if d.get("primary_key") == "yes"]
        assert key["name"] == "row_key" and key["hidden"] == "yes"
        assert key["sql"] == " || '|' || ".join(
            f"COALESCE(CAST(${{TABLE}}.\"{k}\" AS TEXT), '')" for k in doc.keys)
        for field in [*view["dimensions"], *view.get("dimension_groups", [])]:
            assert "VARCHAR" not in field["sql"]  # DuckDB's name; PostgreSQL's is TEXT
            if field["name"] != "row_key":
                assert field["sql"] == f'${{TABLE}}."{field["name"]}"'
        for group in view.get("dimension_groups", []):
            kind = columns[table][group["name"]]
            assert group["datatype"] == ("date" if kind == "DATE" else "timestamp")
            assert group.get("convert_tz") == ("no" if kind == "DATE" else None)
            assert "raw" in group["timeframes"]


def looker_fields(view: dict) -> dict[str, tuple[str, str]]:
    """Every field a LookML reference can name: `name` -> (column, Looker type)."""
    fields = {d["name"]: (d["name"], d["type"]) for d in view["dimensions"]}
    for group in view.get("dimension_groups", []):
        for timeframe in group["timeframes"]:
            fields[f"{group['name']}_{timeframe}"] = (group["name"], group["datatype"])
    return fields


def test_explores_join_the_marts_on_keys_both_views_have(built: Path, bi_files: Path) -> None:
    columns = published_columns(built)
    model = lkml.load((bi_files / "lookml" / "csm_metrics.model.lkml").read_text())
    assert model["connection"] == "csm_metrics" and model["includes"] == ["*.view.lkml"]
    explores = {e["name"]: e for e in model["explores"]}
    assert set(explores) == set(mart_docs())
    views = {t: looker_fields(view_of(bi_files, t)) for t in mart_docs()}
    joined = {(name, j["name"]): j for name, e in explores.items() for j in e.get("joins", [])}
    assert {(explore, view): relationship for explore, view, relationship, _ in JOINS} == {
        key: j["relationship"] for key, j in joined.items()}
    assert joined[("csm_period_metrics", "account_period_metrics")]["relationship"] == \
        "one_to_many"
    assert joined[("team_period_metrics", "csm_period_metrics")]["relationship"] == \
        "one_to_many"
    assert joined[("csm_activity_hours", "csm_period_metrics")]["relationship"] == \
        "many_to_one"
    for (explore, view), join in joined.items():
        pairs = [FIELD.findall(side) for side in join["sql_on"].split(" AND ")]
        sides = []
        for pair in pairs:
            assert len(pair) == 2, join["sql_on"]
            (left_view, left), (right_view, right) = pair
            assert (left_view, right_view) == (explore, view)
            assert left in views[explore] and right in views[view], join["sql_on"]
            left_column, left_type = views[explore][left]
            right_column, right_type = views[view][right]
            assert left_type == right_type, join["sql_on"]
            assert columns[explore][left_column] == columns[view][right_column]
            sides.append((left_column, right_column))
        # The grain of the "one" side is covered: a many_to_one join hits at most one row.
        one = explore if join["relationship"] == "one_to_many" else view
        covered = {mine if one == explore else theirs for mine, theirs in sides}
        assert covered == set(mart_docs()[one].keys), join["sql_on"]
    account_join = joined[("csm_period_metrics", "account_period_metrics")]["sql_on"]
    assert "${csm_period_metrics.csm_id} = ${account_period_metrics.owner_at_end}" in \
        account_join


def tds(bi_files: Path, kind: str, table: str) -> ET.Element:
    return ET.parse(bi_files / "tableau" / kind / f"{table}.tds").getroot()


def test_tableau_data_sources_name_every_column(built: Path, bi_files: Path) -> None:
    columns = published_columns(built)
    for table, doc in mart_docs().items():
        for kind in ("hyper", "postgres", "duckdb"):
            root = tds(bi_files, kind, table)
            fields = {c.get("name"): c for c in root.findall("column")
                      if c.find("calculation") is None}
            assert set(fields) == {f"[{c}]" for c in columns[table]}
            assert all(fields[f"[{c}]"].find("desc/formatted-text/run").text == doc.columns[c]
                       for c in columns[table])
            measures = {n for n, c in fields.items() if c.get("role") == "measure"}
            kinds = semantics(table, set(columns[table]))
            assert measures == {f"[{c}]" for c in kinds.flows}  # a balance is no plain sum
            calculated = {c.get("name") for c in root.findall("column")
                          if c.find("calculation") is not None}
            assert calculated == {*(f"[total_{c}]" for c in kinds.balances),
                                  *(f"[{r.name}_rollup]" for r in kinds.ratios)}
            filters = {f.get("column"): f.find("groupfilter").get("member")
                       for f in root.findall("filter")}
            assert filters == {f"[{c}]": f'"{v}"' for c, v in (("period_grain", "month"),
                                                                ("period_status", "complete"))
                               if c in columns[table]}
            relation = root.find("connection/relation")
            assert relation.get("table") == f"[marts].[{table}]"
            records = root.findall("connection/metadata-records/metadata-record")
            assert [r.findtext("remote-name") for r in records] == list(columns[table])


def test_tableau_connections_point_at_the_extract_postgres_and_duckdb(
        built: Path, bi_files: Path) -> None:
    published = built / "published"
    for table in mart_docs():
        hyper = tds(bi_files, "hyper", table).find(
            "connection/named-connections/named-connection/connection")
        assert hyper.get("class") == "hyper" and hyper.get("schema") == "marts"
        # Relative to the .tds: the same files copied elsewhere together still connect.
        folder = bi_files / "tableau" / "hyper"
        assert not Path(hyper.get("dbname")).is_absolute()
        assert (folder / hyper.get("dbname")).resolve() == \
            (published / "csm_metrics.hyper").resolve()
        assert (folder / hyper.get("dbname")).resolve().suffix == ".hyper"

        postgres = tds(bi_files, "postgres", table).find(
            "connection/named-connections/named-connection/connection")
        assert {k: postgres.get(k) for k in ("class", "server", "port", "dbname", "username",
                                             "schema")} == {
            "class": "postgres", "server": "db.example.internal", "port": "6543",
            "dbname": "analytics", "username": "tableau_reader", "schema": "marts"}
        text = (bi_files / "tableau" / "postgres" / f"{table}.tds").read_text()
        assert "password" not in postgres.attrib and "password=" not in text.lower()
        assert postgres.get("sslmode") == "require"  # the URL's verify-full, as Tableau has it
        assert "secret" not in text and "pg.internal" not in text

        duck = tds(bi_files, "duckdb", table).find(
            "connection/named-connections/named-connection/connection")
        assert duck.get("class") == "duckdb_jdbc"
        link = duck.get("v-connection_string_file")
        assert not Path(link).is_absolute()
        assert (bi_files / "tableau" / "duckdb" / link).resolve() == \
            (published / "csm_metrics.duckdb").resolve()


def test_no_generated_file_names_a_path_of_the_machine_that_wrote_it(
        built: Path, bi_files: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Committed or generated, a .tds names no host path: not the temporary folder these files
    and the warehouse live in, not the project's checkout."""
    machine = {str(tmp_path_factory.getbasetemp()), str(tmp_path_factory.getbasetemp()
                                                        .resolve()), str(ROOT), str(built)}
    files = [*bi_files.rglob("*.tds"), *bi_files.rglob("*.lkml")]
    assert len(files) == 4 * len(mart_docs()) + 1
    for path in files:
        text = path.read_text()
        assert not [m for m in machine if m in text], path


def test_bi_files_default_to_the_local_postgres(built: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WAREHOUSE_PATH": str(built / "warehouse.duckdb")}
    env.pop("CSM_METRICS_PUBLISHED_PATH", None)
    env.pop("CSM_METRICS_POSTGRES_URL", None)
    done = subprocess.run([sys.executable, "-m", "warehouse", "bi-files", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    postgres = tds(tmp_path, "postgres", "csm_period_metrics").find(
        "connection/named-connections/named-connection/connection")
    assert (postgres.get("server"), postgres.get("port"), postgres.get("dbname"),
            postgres.get("username")) == ("127.0.0.1", "5433", "csm_metrics", "bi")
    # No URL, no TLS requirement: the attribute is left out, never written empty.
    assert "sslmode" not in postgres.attrib
