"""Schemas and views: a warehouse written by an older version upgrades in place."""

from __future__ import annotations

import duckdb
import pytest

from connectors.clockify import STREAMS as CLOCKIFY
from connectors.hubspot import STREAMS as HUBSPOT
from connectors.salesforce import STREAMS as SALESFORCE
from connectors.toggl import STREAMS as TOGGL
from pipelines.settings import Settings
from warehouse.schema import prepare

pytestmark = pytest.mark.fast

STREAMS = [*SALESFORCE.values(), *HUBSPOT.values(), *TOGGL.values(), *CLOCKIFY.values()]


def test_views_are_rebuilt_over_stale_ones() -> None:
    with duckdb.connect(":memory:") as conn:
        conn.execute("create schema intermediate")
        # An older version's model with other columns, and a model that no longer exists.
        conn.execute("create view intermediate.int_revenue__won_deals as select 1 as old_column")
        conn.execute("create view intermediate.int_retired__model as select 1 as x")
        prepare(conn, STREAMS, Settings().for_warehouse(), Settings().tables())
        columns = [r[0] for r in conn.execute(
            "describe intermediate.int_revenue__schedules").fetchall()]
        assert columns == ["deal_id", "account_id", "service_start", "service_end",
                           "annual_value"]
        views = {r[0] for r in conn.execute(
            "select view_name from duckdb_views() where schema_name = 'intermediate'").fetchall()}
        assert "int_retired__model" not in views


def test_settings_reach_the_models_as_typed_values() -> None:
    with duckdb.connect(":memory:") as conn:
        rules = Settings(salesforce_term_field="Term__c", currency_rates={"EUR": 1.1})
        prepare(conn, STREAMS, rules.for_warehouse(), rules.tables())
        assert conn.execute("select salesforce_term_field, hubspot_term_property "
                            "from staging.settings").fetchone() == ("Term__c", None)
        assert conn.execute("select * from staging.currency_rates").fetchall() == [("EUR", 1.1)]
        assert conn.execute("select count(*) from staging.roster").fetchone() == (0,)


def test_marts_written_by_an_older_version_gain_the_new_columns() -> None:
    from datetime import date

    from warehouse.marts import build_month_marts

    with duckdb.connect(":memory:") as conn:
        prepare(conn, STREAMS, Settings().for_warehouse(), Settings().tables())
        conn.execute("create table marts.team_period_metrics (period_grain varchar, "
                     "period_start date, period_end date, csm_count bigint)")
        conn.execute("insert into marts.team_period_metrics values "
                     "('month', '2020-01-01', '2020-02-01', 3)")
        build_month_marts(conn, date(2025, 1, 1), date(2025, 2, 1), "upgrade")
        columns = [r[0] for r in conn.execute("describe marts.team_period_metrics").fetchall()]
        assert {"total_arr", "nrr", "run_id"} <= set(columns)
        old = conn.execute("select csm_count, total_arr from marts.team_period_metrics "
                           "where period_start = '2020-01-01'").fetchone()
        assert old == (3, None)  # kept; a column it predates is NULL until rebuilt


def test_a_changed_column_type_is_a_clear_error() -> None:
    from datetime import date

    import pytest

    from warehouse.marts import MartSchemaError, build_month_marts

    with duckdb.connect(":memory:") as conn:
        prepare(conn, STREAMS, Settings().for_warehouse(), Settings().tables())
        conn.execute("create table marts.team_period_metrics (period_grain varchar, "
                     "period_start date, csm_count varchar)")
        with pytest.raises(MartSchemaError, match=r"columns changed: \['csm_count'\]"):
            build_month_marts(conn, date(2025, 1, 1), date(2025, 2, 1), "upgrade")


def test_clockify_iso_durations_are_parsed() -> None:
    from datetime import UTC, datetime

    from connectors.streams import Window
    from warehouse.loading import land

    january = Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    entries = [
        {"id": "a", "userId": "u", "timeInterval": {"start": "2025-01-06T08:00:00Z",
                                                    "end": "2025-01-06T10:54:00Z",
                                                    "duration": "PT2H54M"}, "type": "REGULAR"},
        # No end, but a duration: it ends where the duration says.
        {"id": "b", "userId": "u", "timeInterval": {"start": "2025-01-07T08:00:00Z",
                                                    "end": None, "duration": "PT1H2M3S"}},
        {"id": "c", "userId": "u", "timeInterval": {"start": "2025-01-08T08:00:00Z",
                                                    "end": None, "duration": None}},  # running
        {"id": "d", "userId": "u", "timeInterval": {"start": "2025-01-09T08:00:00Z",
                                                    "end": None, "duration": "P1DT2H"}},
    ]
    with duckdb.connect(":memory:") as conn:
        prepare(conn, STREAMS, Settings().for_warehouse(), Settings().tables())
        land(conn, CLOCKIFY["time_entries"], [entries], "run", january)
        rows = conn.execute("""
            select entry_id, duration_seconds, epoch(stop_at - start_at)
            from staging.stg_clockify__time_entries order by 1""").fetchall()
    assert rows == [("clockify:a", 10440, 10440.0), ("clockify:b", 3723, 3723.0),
                    ("clockify:c", None, None), ("clockify:d", 93600, 93600.0)]
