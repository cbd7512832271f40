"""The marts' contracts (docs/architecture.md, Contracts): every contract's unit tests run its
model's SQL over the given rows on in-memory DuckDB; a contract that cannot be read names its
file and field; the model graph, the BI measures and the dbt sources are read from them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.test_model_graph import write  # writes a temporary tree of models and contracts
from transforms import ROOT
from transforms.contracts import (
    Contract,
    ContractError,
    UnitTestSpec,
    contracts,
    load_contracts,
    shared_columns,
)
from transforms.graph import ModelGraphError, ParseCache, load_models, model_graph, references
from transforms.unit_tests import contract_unit_tests, run_unit_test
from warehouse.bi_measures import SEMANTICS
from warehouse.dbt_sources import dbt_sources
from warehouse.outlook import MARTS as OUTLOOK_MARTS

pytestmark = pytest.mark.fast

UNIT_TESTS = contract_unit_tests(contracts())


@pytest.mark.parametrize(("contract", "test"), UNIT_TESTS,
                         ids=[f"{c.name}.{t.name}" for c, t in UNIT_TESTS])
def test_every_contract_unit_test_passes(contract: Contract, test: UnitTestSpec) -> None:
    outcome = run_unit_test(contract, test)
    assert outcome.actual == outcome.expected, (
        f"{contract.file}: {test.name}: columns {outcome.columns}")


def test_a_unit_test_compares_every_expected_value() -> None:
    """One expected number off, and the test fails: the runner does compare what it ran."""
    contract = contracts()["csm_outlook"]
    [test] = contract.unit_tests
    rows = [dict(row) for row in test.expect.rows]
    rows[-1]["arr_managed"] = 3501
    wrong = test.model_copy(update={"expect": test.expect.model_copy(update={"rows": rows})})
    assert not run_unit_test(contract, wrong).passed
    assert run_unit_test(contract, test).passed


def test_a_unit_test_gives_every_input_the_model_reads() -> None:
    contract = contracts()["csm_outlook"]
    [test] = contract.unit_tests
    partial = test.model_copy(update={"given": test.given[:1]})
    with pytest.raises(ValueError, match=r"csm_outlook\.yml: unit_tests .*reads "
                                         r"\['marts\.renewals'\]"):
        run_unit_test(contract, partial)


CONTRACT = """version: 2
models:
- name: m
  description: A mart.
  config: {kind: replaces periods, grain: [period_grain, k]}
  columns:
  - name: period_grain
    description: Its length.
  - name: k
    description: The key.
"""
UNDESCRIBED = CONTRACT.replace("    description: Its length.\n", "")



def test_a_column_takes_its_shared_meaning_unless_it_says_its_own(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "marts/_shared.yml": "version: 2\ncolumns:\n- {name: period_grain, description: Its "
                             "length.}\n",
        "marts/m.yml": UNDESCRIBED})
    [contract] = load_contracts(root).values()
    assert contract.columns == {"period_grain": "Its length.", "k": "The key."}
    assert contract.replaces == "periods" and contract.keys == ("period_grain", "k")
    # In the project: the shared meanings are written once, and every mart that has the
    # column says the same unless it says more.
    shared = shared_columns()
    for mart in contracts().values():
        for name in set(mart.columns) & {"period_grain", "loaded_at", "run_id"}:
            assert mart.columns[name] == shared[name], mart.name


@pytest.mark.parametrize(("text", "message"), [
    (CONTRACT.replace("replaces periods", "replaces everything"),
     r"m\.yml: models\.0\.config\.kind: Input should be 'replaces periods' or "
     r"'replaces table'"),
    (CONTRACT.replace("    description: Its length.\n", "    colour: red\n"),
     r"m\.yml: models\.0\.columns\.0\.colour: Extra inputs are not permitted"),
    (UNDESCRIBED, r"m\.yml: columns\.0 \(period_grain\): no description, and none in _shared\.yml"),
    (CONTRACT.replace("grain: [period_grain, k]", "grain: [period_grain, key]"),
     r"m\.yml: config\.grain: \['key'\] not among the columns"),
    (CONTRACT.replace("- name: m\n", "- name: n\n"),
     r"m\.yml: models\.0\.name: 'n' is not the file's name"),
    (CONTRACT + "  columns: [\n", r"m\.yml: not YAML"),
])
def test_a_contract_that_cannot_be_read_names_its_file_and_field(
        tmp_path: Path, text: str, message: str) -> None:
    root = write(tmp_path, {"marts/m.yml": text})
    with pytest.raises(ContractError, match=message):
        load_contracts(root)


def test_a_mart_s_kind_is_its_contract_s(tmp_path: Path) -> None:
    root = write(tmp_path, {"marts/m.sql": "select 1 as k",
                            "marts/m.yml": CONTRACT.replace("replaces periods",
                                                            "replaces table")})
    [mart] = load_models(root)
    assert mart.replaces == "table"
    (root / "marts" / "m.yml").unlink()
    load_contracts.cache_clear()
    with pytest.raises(ModelGraphError, match=r"^transforms/marts/m\.sql: a mart declares what "
                                              r"a build replaces in its contract"):
        load_models(root)


def test_every_mart_has_a_contract_and_no_header_declares_it() -> None:
    """The SQL marts, the retention drivers and the outlook: each has its contract, and no SQL
    file declares what its build replaces any more (the contract's kind does)."""
    made = {m.name for m in model_graph().layer("marts")} | {"retention_drivers",
                                                              *OUTLOOK_MARTS}
    assert set(contracts()) == made
    headers = [p for p in ROOT.glob("*/*.sql") if "\n-- replaces:" in "\n" + p.read_text()]
    assert headers == []


def test_inputs_are_parsed_as_duckdb_sql() -> None:
    """Quoted names, DuckDB's joins and a `from` in any function's arguments: what a regex over
    the tokens got wrong."""
    sql = """
        with x as (select trim(both ' ' from name) as name from "staging"."settings")
        select * from x
        asof join raw.events as e on x.name = e.name
        positional join wrk_ranks
        anti join "intermediate".int_people__csms as p using (name)
    """
    assert references(sql) == {"staging.settings", "raw.events", "wrk_ranks",
                               "intermediate.int_people__csms"}
    with pytest.raises(ValueError, match="not SQL sqlglot's DuckDB dialect can parse"):
        references("select * from (")


def test_the_bi_measures_are_the_contracts() -> None:
    csm = SEMANTICS["csm_period_metrics"]
    assert [r.name for r in csm.ratios] == ["nrr", "grr", "logo_retention", "utilization",
                                            "touch_coverage"]
    assert "arr_managed" in csm.balances and "hours_worked" in csm.flows
    nrr = SEMANTICS["account_period_metrics"].ratios[0]  # a measure with no column of its own
    assert nrr.formula == ("(sum(starting_arr) + sum(expansion_arr) - sum(contraction_arr) "
                           "- sum(churned_arr)) / sum(starting_arr)")
    assert "nrr" not in contracts()["account_period_metrics"].columns


def test_the_dbt_sources_describe_and_test_each_published_mart() -> None:
    """The generated sources.yml names each mart with its meanings and tests, and its grain
    test is SQL that runs (here on DuckDB) and finds a duplicate."""
    contract = contracts()["csm_activity_hours"]
    columns = ", ".join(f'"{n}" {t}' for n, t in contract.data_types.items())
    with duckdb.connect(":memory:") as conn:
        conn.execute("create schema marts")
        conn.execute(f"create table marts.csm_activity_hours ({columns})")
        conn.execute("insert into marts.csm_activity_hours (period_grain, period_start, "
                     "csm_id, activity) values ('month', '2025-01-01', 'a', 'x'), "
                     "('month', '2025-01-01', 'a', 'x'), ('month', '2025-01-01', 'a', 'y')")
        [source] = dbt_sources(conn)["sources"]
        [table] = source["tables"]
        assert (source["schema"], table["name"]) == ("marts", "csm_activity_hours")
        assert table["description"] == contract.description
        assert [c["name"] for c in table["columns"]] == list(contract.columns)
        hours = next(c for c in table["columns"] if c["name"] == "hours")
        assert hours["description"] == contract.columns["hours"]
        not_null = [c["name"] for c in table["columns"] if "not_null" in c.get("data_tests", [])]
        assert not_null == ["period_grain", "period_start", "csm_id", "activity"]
        [test] = table["data_tests"]
        expression = test["unique"]["column_name"]
        duplicated = conn.execute(f"select {expression} from marts.csm_activity_hours "
                                  "group by all having count(*) > 1").fetchall()
    assert duplicated == [("month|2025-01-01|a|x",)]


def test_parsed_inputs_are_kept_between_processes(tmp_path: Path) -> None:
    """The next process reads each model's inputs from the cache, keyed by the SQL's text."""
    sql = "select * from staging.stg_a join wrk_b using (k)"
    first = ParseCache(tmp_path)
    assert first.inputs(sql) == references(sql)
    first.save()
    second = ParseCache(tmp_path)
    assert second.inputs(sql) == {"staging.stg_a", "wrk_b"}
    assert not second._new  # read, not parsed
    assert second.inputs(sql + " join raw.c using (k)") == {"staging.stg_a", "wrk_b", "raw.c"}
    (tmp_path / second.path.name).write_text("not json")
    assert ParseCache(tmp_path).inputs(sql) == {"staging.stg_a", "wrk_b"}  # parsed again
