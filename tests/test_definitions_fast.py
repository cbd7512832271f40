"""The code location's pure tests (the fast tier); the runs and the CLI are in
test_definitions.py.
"""

from __future__ import annotations

import os

import pytest
from dagster import AssetKey, Definitions

from pipelines.definitions import build_definitions

pytestmark = pytest.mark.fast


def test_definitions_load_without_any_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SALESFORCE_", "HUBSPOT_", "TOGGL_", "CLOCKIFY_")):
            monkeypatch.delenv(name)
    defs = build_definitions()
    Definitions.validate_loadable(defs)
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert AssetKey(["marts", "csm_period_metrics"]) in keys
    assert AssetKey(["raw", "salesforce", "account_history"]) in keys
    assert {"pull_sources", "monthly_metrics"} <= {job.name for job in defs.resolve_all_job_defs()}


def test_a_secret_is_an_env_var_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-not-a-real-token")
    defs = build_definitions()
    resource = defs.resources["hubspot"]
    assert "pat-na1-not-a-real-token" not in repr(resource)


def test_the_asset_graph_is_the_data_flow() -> None:
    """Raw -> staging -> intermediate -> marts, as the SQL reads it: every staging, intermediate
    and mart file is an asset, working models are not, and each input parsed from a model's SQL
    is an edge (a working model's inputs stand in for it) (docs/architecture.md, Dagster)."""
    from itertools import pairwise

    from transforms.graph import model_graph

    assets = build_definitions().resolve_asset_graph()
    keys = assets.get_all_asset_keys()
    models = model_graph()
    for model in models.models:
        assert (AssetKey([model.layer, model.name]) in keys) == (model.layer != "working"), model

    def parents(*path: str) -> set[str]:
        return {key.to_user_string() for key in assets.get(AssetKey(list(path))).parent_keys}

    chain = ["raw/toggl/time_entries", "staging/stg_toggl__time_entries",
             "intermediate/int_time_entries__keyed", "intermediate/int_time_entries__keys",
             "intermediate/int_time_entries__accounts",
             "intermediate/int_time_entries__activities",
             "intermediate/int_time_entries__resolved", "marts/csm_period_metrics",
             "marts/team_period_metrics", "bi/published_marts"]
    for upstream, downstream in pairwise(chain):
        assert upstream in parents(*downstream.split("/")), (upstream, downstream)
    for model in models.models:
        if model.layer == "working":
            continue
        read = {name.replace(".", "/") for name in model.inputs
                if name.split(".")[0] in ("staging", "intermediate", "marts")
                and AssetKey(name.split(".")) in keys}
        assert read <= parents(model.layer, model.name), model.name
        if model.layer == "staging":  # staging reads raw tables only
            assert parents(model.layer, model.name) <= {
                k.to_user_string() for k in keys if k.path[0] == "raw"}, model.name
    # The marts also depend directly on every raw asset below their models, so a run lands
    # the time entries before it builds them; the shared raw tables map to their writers.
    below = {p for p in parents("marts", "csm_period_metrics") if p.startswith("raw/")}
    assert {"raw/toggl/time_entries", "raw/clockify/time_entries",
            "raw/salesforce/accounts"} <= below
    assert parents("staging", "stg_pipeline__ownership_snapshots") == {
        "raw/salesforce/accounts", "raw/hubspot/companies"}
    assert assets.get(AssetKey(["staging", "stg_toggl__time_entries"])).group_name == "staging"
