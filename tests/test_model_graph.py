"""The model graph: inputs parsed from the SQL, models run in dependency order, and a model that
cannot be ordered refused with its file named (docs/architecture.md, Transform layer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.toggl import STREAMS as TOGGL
from transforms.graph import ModelGraphError, build_graph, load_models, model_graph, references
from warehouse.marts import MART_TABLES, WHOLE_TABLES
from warehouse.schema import pipeline_tables

pytestmark = pytest.mark.fast

STREAMS = [*SALESFORCE.values(), *HUBSPOT.values(), *TOGGL.values(), *CLOCKIFY.values()]
MART = "-- grain: one row.\n"


def contract(name: str, kind: str = "replaces periods") -> str:
    """The least contract a mart needs: what its build replaces, its grain and columns."""
    return (f"version: 2\nmodels:\n- name: {name}\n  description: A mart.\n"
            f"  config: {{kind: {kind}, grain: [k]}}\n  columns:\n  - {{name: k, "
            "description: The key.}\n")


def write(root: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    return root


def test_every_project_model_runs_after_the_models_it_reads() -> None:
    graph = model_graph()
    seen: set[str] = set()
    made = {model.relation for model in graph.models}
    for model in graph.models:
        assert model.inputs & made <= seen, f"{model.file} runs before {model.inputs - seen}"
        seen.add(model.relation)
    order = [model.relation for model in graph.models]
    assert order.index("wrk_periods") < order.index("wrk_entry_months") < order.index(
        "wrk_csm_hours") < order.index("marts.csm_period_metrics") < order.index(
        "marts.team_period_metrics")  # the team's cost is the sum of its people's rows
    assert {m.name for m in graph.layer("working")} == {
        "wrk_periods", "wrk_months", "wrk_entry_keys", "wrk_entry_months", "wrk_entry_periods",
        "wrk_onboardings",
        "wrk_account_periods", "wrk_csm_hours",
        "wrk_csm_capacity", "wrk_touchpoints", "wrk_inbound_messages", "wrk_touchpoint_periods",
        "wrk_inbound_message_periods", "wrk_engagement", "wrk_last_touch",
        "wrk_outcomes_items", "wrk_outcomes", "wrk_retention"}
    assert set(MART_TABLES) == {"csm_period_metrics", "team_period_metrics",
                                "account_period_metrics", "csm_activity_hours",
                                "churn_reasons", "capacity_plan"}
    assert set(WHOLE_TABLES) == {"quarantine", "kpi_control"}
    # The control limits read the published people's and team's month rows.
    assert order.index("marts.csm_period_metrics") < order.index("marts.kpi_control")
    assert order.index("marts.team_period_metrics") < order.index("marts.kpi_control")
    graph.check_sources(pipeline_tables(STREAMS))  # every raw and settings table read exists


def test_inputs_are_parsed_from_from_and_join_only() -> None:
    sql = """
        -- from staging.in_a_comment
        /* join intermediate.in_a_block_comment */
        with picked as materialized (
            select 'from raw.in_a_string' as s, extract(year from picked_at) as y
            from raw.things
        ),
        days as (select * from range(1, 3) as days(d))
        select * from picked
        left join intermediate.int_other on true
        cross join wrk_periods
        semi join days using (d)
        where x in (select y from staging.settings)
    """
    assert references(sql) == {"raw.things", "intermediate.int_other", "wrk_periods",
                               "staging.settings"}


def test_models_are_ordered_by_their_inputs_not_their_names(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "staging/stg_a.sql": "select * from raw.a",
        "intermediate/int_a.sql": "select * from intermediate.int_b",
        "intermediate/int_b.sql": "select * from intermediate.int_c",
        "intermediate/int_c.sql": "select * from staging.stg_a",
        "working/wrk_z.sql": "select * from intermediate.int_a",
        "working/wrk_y.sql": "select * from wrk_z",
        "marts/a.sql": MART + "select * from marts.b",
        "marts/a.yml": contract("a"),
        "marts/b.sql": MART + "select * from wrk_y",
        "marts/b.yml": contract("b", "replaces table"),
    })
    graph = build_graph(load_models(root))
    assert [m.relation for m in graph.models] == [
        "staging.stg_a", "intermediate.int_c", "intermediate.int_b", "intermediate.int_a",
        "wrk_z", "wrk_y", "marts.b", "marts.a"]


def test_a_cycle_is_refused_naming_the_file_and_the_cycle(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "intermediate/int_a.sql": "select * from intermediate.int_b",
        "intermediate/int_b.sql": "select * from intermediate.int_c join raw.x on true",
        "intermediate/int_c.sql": "select * from intermediate.int_a",
        "intermediate/int_d.sql": "select * from intermediate.int_a",
    })
    with pytest.raises(ModelGraphError) as refused:
        build_graph(load_models(root))
    assert str(refused.value) == (
        "transforms/intermediate/int_a.sql: its inputs form a cycle: intermediate.int_a -> "
        "intermediate.int_b -> intermediate.int_c -> intermediate.int_a")


def test_a_comma_join_is_refused_naming_the_file(tmp_path: Path) -> None:
    root = write(tmp_path, {"staging/stg_a.sql": "select * from raw.a as a, raw.b"})
    with pytest.raises(ModelGraphError, match=r"^transforms/staging/stg_a\.sql: `from raw\.a, "
                                              r"\.\.\.`: join explicitly"):
        load_models(root)


def test_a_missing_model_is_refused_naming_the_file(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "intermediate/int_a.sql": "select 1",
        "marts/m.sql": MART + "with x as (select * from intermediate.int_a)\n"
                              "select * from x join wrk_nowhere using (k)",
        "marts/m.yml": contract("m"),
    })
    with pytest.raises(ModelGraphError, match=r"^transforms/marts/m\.sql: reads wrk_nowhere, "
                                              "which is not a model$"):
        build_graph(load_models(root))


def test_a_missing_raw_or_settings_table_is_refused_naming_the_file(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "staging/stg_a.sql": "select * from raw.salesforce__accounts",
        "staging/stg_b.sql": "select * from raw.salesforce__acounts cross join staging.settings",
    })
    graph = build_graph(load_models(root))
    with pytest.raises(ModelGraphError, match=r"^transforms/staging/stg_b\.sql: reads "
                                              r"raw\.salesforce__acounts, which is neither"):
        graph.check_sources(pipeline_tables(STREAMS))


def test_a_view_cannot_read_a_build_s_working_tables(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "intermediate/int_a.sql": "select * from wrk_p",
        "working/wrk_p.sql": "select 1",
    })
    with pytest.raises(ModelGraphError, match=r"^transforms/intermediate/int_a\.sql: reads "
                                              r"wrk_p, a later layer \(working\)"):
        build_graph(load_models(root))


def test_a_model_named_without_its_schema_or_prefix_is_refused(tmp_path: Path) -> None:
    root = write(tmp_path, {"intermediate/int_a.sql": "select * from stg_a"})
    with pytest.raises(ModelGraphError, match=r"^transforms/intermediate/int_a\.sql: reads "
                                              "stg_a, which is not a model"):
        build_graph(load_models(root))


def test_working_names_and_mart_headers_are_required(tmp_path: Path) -> None:
    with pytest.raises(ModelGraphError, match=r"^transforms/working/periods\.sql: .*'wrk_'"):
        load_models(write(tmp_path / "a", {"working/periods.sql": "select 1"}))
    with pytest.raises(ModelGraphError, match=r"^transforms/marts/m\.sql: .*replaces"):
        load_models(write(tmp_path / "b", {"marts/m.sql": "select 1"}))
