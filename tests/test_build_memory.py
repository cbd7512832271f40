"""What a marts build holds in memory (docs/architecture.md, Marts layer; DuckDB settings): each
working table is dropped once its last reader has run, and the build's engine settings are put
back after it. Pure: the project's model graph and an in-memory DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from transforms.graph import model_graph
from warehouse.marts import PERIODS, build_settings, last_readers_of, needed_working

pytestmark = pytest.mark.fast


def build_order() -> list:
    graph = model_graph()
    working = sorted(graph.layer("working"), key=lambda m: m.name != PERIODS)
    return [*working, *graph.layer("marts")]


def test_every_working_table_is_dropped_after_its_last_reader_and_not_before() -> None:
    order = build_order()
    last = last_readers_of(order)
    position = {model.relation: i for i, model in enumerate(order)}
    working = {m.relation for m in order if m.layer == "working"}
    # Every working table someone reads is dropped, but the periods every mart replaces.
    read = {name for m in order for name in m.inputs & working}
    assert set(last) == read - {PERIODS}
    for table, reader in last.items():
        later = [m.relation for m in order[position[reader] + 1:] if table in m.inputs]
        assert later == [], f"{table} is dropped after {reader} but {later} read it"
    # The hours cube is read out by the hours models, long before the marts end.
    assert position[last["wrk_entry_months"]] < position["marts.csm_period_metrics"]


def test_a_mart_selected_alone_builds_only_the_working_tables_it_reads() -> None:
    graph = model_graph()
    (churn,) = [m for m in graph.layer("marts") if m.name == "churn_reasons"]
    built = {m.name for m in needed_working(graph, [churn])}
    # churn_reasons reads the periods and the accounts' movements; no hours, no engagement.
    assert built == {"wrk_periods", "wrk_account_periods"}
    every = {m.name for m in needed_working(graph, graph.layer("marts"))}
    assert every == {m.name for m in graph.layer("working")}


@pytest.mark.parametrize("before", [True, False])
def test_the_build_settings_are_restored(before: bool) -> None:
    conn = duckdb.connect()
    conn.execute(f"set preserve_insertion_order = {before}")
    with build_settings(conn):
        (inside,) = conn.execute(
            "select current_setting('preserve_insertion_order')").fetchone()
        assert inside is False
    (after,) = conn.execute("select current_setting('preserve_insertion_order')").fetchone()
    assert after is before
