"""The contracts against the tiny company's build: every built mart has its contract and its
columns are the contract's, in order and type; the checks generated from the contracts keep the
names and blocking Dagster users know; the dbt sources' tests hold on the built marts."""

from __future__ import annotations

import duckdb

from pipelines.metrics.checks import CHECKS
from tests.conftest import TinyBuild
from transforms.contracts import contracts
from warehouse.dbt_sources import dbt_sources

# The checks before the contracts, by name: each is still there, still blocking.
BLOCKING = {
    "csm_period_metrics_keys_unique", "team_period_metrics_keys_unique",
    "account_period_metrics_keys_unique", "csm_activity_hours_keys_unique",
    "account_waterfall_closes", "team_waterfall_closes", "csm_movements_sum_to_team",
    "accounts_touched_within_book", "csm_touchpoints_sum_to_team",
    "touch_ratios_null_without_book", "churn_reasons_keys_unique",
    "churn_reason_shares_sum_to_one", "churn_reason_ranks_are_a_permutation",
    "capacity_plan_keys_unique", "kpi_control_keys_unique", "kpi_control_limits_ordered",
    "kpi_control_signals_only_with_limits", "capacity_fte_is_the_rosters",
    "renewals_keys_unique", "account_risk_keys_unique", "csm_outlook_keys_unique",
    "csm_outlook_team_is_the_sum", "renewals_sum_to_outlook", "churn_probabilities_in_range"}


def test_every_built_mart_has_its_contract_and_the_contract_s_columns(
        tiny_built: TinyBuild) -> None:
    with duckdb.connect(str(tiny_built.warehouse), read_only=True) as conn:
        built: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in conn.execute(
                "select table_name, column_name, data_type from duckdb_columns() "
                "where schema_name = 'marts' order by table_name, column_index").fetchall():
            built.setdefault(table, []).append((column, kind.lower()))
    assert set(built) == set(contracts())
    for name, contract in contracts().items():
        assert [c for c, _ in built[name]] == list(contract.columns), contract.file
        assert dict(built[name]) == contract.data_types, contract.file


def test_the_checks_from_the_contracts_keep_their_names_and_block() -> None:
    specs = {spec.name: spec for check in CHECKS for spec in check.check_specs}
    assert set(specs) >= BLOCKING
    assert all(specs[name].blocking for name in BLOCKING)
    assert not specs["months_have_rows"].blocking  # a warning, as before
    # Declared in the contracts: the net retained identity and the drivers' grain.
    assert {"csm_net_retained_arr_identity", "team_net_retained_arr_identity",
            "retention_drivers_keys_unique"} <= set(specs)
    deps = {name: {d.asset_key.path[-1] for d in spec.additional_deps}
            for name, spec in specs.items()}
    assert deps["csm_movements_sum_to_team"] == {"csm_period_metrics"}
    assert deps["churn_probabilities_in_range"] == {"renewals"}


def test_the_dbt_sources_tests_hold_on_the_built_marts(tiny_built: TinyBuild) -> None:
    """What a dbt project would run on the published marts: each table's grain is unique and
    its not_null columns hold no null."""
    with duckdb.connect(str(tiny_built.warehouse), read_only=True) as conn:
        [source] = dbt_sources(conn)["sources"]
        assert {t["name"] for t in source["tables"]} == set(contracts())
        for table in source["tables"]:
            [test] = table["data_tests"]
            key = test["unique"]["column_name"]
            duplicated = conn.execute(f"select {key} from marts.{table['name']} group by all "
                                      "having count(*) > 1").fetchall()
            assert duplicated == [], table["name"]
            for column in table["columns"]:
                if "not_null" in column.get("data_tests", []):
                    nulls = conn.execute(f"select count(*) from marts.{table['name']} "
                                         f"where \"{column['name']}\" is null").fetchone()
                    assert nulls == (0,), (table["name"], column["name"])
