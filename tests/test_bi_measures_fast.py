"""The BI measures' pure tests (the fast tier): the LookML and Tableau files read without a
server; the PostgreSQL ones are in test_bi_measures.py.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import lkml
import pytest

from tests import test_bi_measures
from tests.test_bi_measures import (
    CSM_COLUMNS,
    LEAD_TABLES,
    described,
    measures_referencing,
)
from warehouse.bi_files import (
    ONE_PERIOD,
    PostgresTarget,
    lookml_model,
    tableau_datasource,
)
from warehouse.bi_measures import SEMANTICS
from warehouse.columns import mart_docs

pytestmark = pytest.mark.fast
view = test_bi_measures.view  # the fixture, shared with test_bi_measures.py


def test_every_period_explore_always_filters_grain_and_status() -> None:
    """Every period table, with the columns the periods change gives it: the explore cannot
    be queried without a grain and a status filter, month and complete unless changed."""
    types = {}
    for table, doc in mart_docs().items():
        for key in doc.keys:
            types[(table, key)] = "DATE" if key == "period_start" else "VARCHAR"
        types[(table, "owner_at_end")] = types[(table, "csm_id")] = "VARCHAR"
    for table in LEAD_TABLES:
        types[(table, "period_status")] = "VARCHAR"
    model = lkml.load(lookml_model("csm_metrics", types))
    explores = {e["name"]: e for e in model["explores"]}
    for table in LEAD_TABLES:
        [filters] = explores[table]["always_filter"]["filters__all"]
        assert filters == [{f"{table}.period_grain": "month"},
                           {f"{table}.period_status": "complete"}], table
    for table, explore in explores.items():
        periodic = (table, "period_grain") in types
        assert ("always_filter" in explore) == periodic, table


def test_no_measure_sums_a_balance_across_periods(view: dict) -> None:
    """An analyst is offered no plain sum in a period table; the sum of a balance is a hidden
    building block read only through the one-period guard."""
    balances = SEMANTICS["csm_period_metrics"].balances
    for measure in view["measures"]:
        if measure.get("hidden") != "yes":
            assert measure["type"] in ("count", "number"), measure["name"]
        if measure["type"] != "sum":
            continue
        summed = set(re.findall(r'\$\{TABLE\}\."(\w+)"', measure["sql"]))
        assert measure.get("hidden") == "yes", measure["name"]
        if summed & set(balances):
            users = measures_referencing(view, measure["name"])
            assert users and all(ONE_PERIOD in u["sql"] for u in users), measure["name"]
    names = {m["name"] for m in view["measures"]}
    assert {"total_arr_managed", "total_accounts_managed", "total_starting_arr",
            "nrr_rollup", "grr_rollup", "logo_retention_rollup", "utilization_rollup",
            "touch_coverage_rollup"} <= names
    fields = [*view["dimensions"], *view.get("dimension_groups", []), *view["measures"]]
    assert len({f["name"] for f in fields}) == len(fields)  # LookML names are per view


def test_tableau_gets_the_same_measures_and_the_default_filters() -> None:
    text = tableau_datasource("csm_period_metrics", described(CSM_COLUMNS), "x",
                              {"class": "hyper", "dbname": "csm_metrics.hyper"})
    root = ET.fromstring(text)
    calculations = {c.get("name"): c.find("calculation").get("formula")
                    for c in root.findall("column") if c.find("calculation") is not None}
    assert calculations["[nrr_rollup]"] == (
        "IF COUNTD([period_grain] + '|' + STR([period_start])) = 1 THEN "
        "SUM(IF NOT ISNULL([starting_arr]) AND NOT ISNULL([expansion_arr]) AND "
        "NOT ISNULL([contraction_arr]) AND NOT ISNULL([churned_arr]) AND [starting_arr] > 0 "
        "THEN [starting_arr] + [expansion_arr] - [contraction_arr] - [churned_arr] END) / "
        "SUM(IF NOT ISNULL([starting_arr]) AND NOT ISNULL([expansion_arr]) AND "
        "NOT ISNULL([contraction_arr]) AND NOT ISNULL([churned_arr]) AND [starting_arr] > 0 "
        "THEN [starting_arr] END) END")
    assert {"[total_arr_managed]", "[grr_rollup]", "[logo_retention_rollup]",
            "[utilization_rollup]", "[touch_coverage_rollup]"} <= set(calculations)
    roles = {c.get("name"): c.get("role") for c in root.findall("column")}
    assert roles["[arr_managed]"] == "dimension" and roles["[hours_worked]"] == "measure"
    user = "{http://www.tableausoftware.com/xml/user}"
    filters = {f.get("column"): f.find("groupfilter") for f in root.findall("filter")}
    assert {c: (g.get("function"), g.get("member"), g.get(f"{user}ui-enumeration"))
            for c, g in filters.items()} == {
        "[period_grain]": ("member", '"month"', "inclusive"),
        "[period_status]": ("member", '"complete"', "inclusive")}


@pytest.mark.parametrize(("sslmode", "written"), [
    ("require", "require"), ("verify-full", "require"), ("verify-ca", "require"),
    ("prefer", None), ("disable", None), (None, None)])
def test_the_postgres_data_source_writes_what_tableau_accepts_for_sslmode(
        sslmode: str | None, written: str | None) -> None:
    from warehouse.bi_files import _postgres_connection

    _, attributes = _postgres_connection(PostgresTarget(sslmode=sslmode))
    assert attributes.get("sslmode") == written
    assert attributes.get("sslmode", "absent") != ""
