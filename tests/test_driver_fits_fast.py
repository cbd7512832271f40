"""The retention drivers' fit is kept with what it was fitted on and reused while the units are
the same (warehouse/driver_fits.py): the daily refresh of an open month then fits nothing, and
writes exactly what a new fit would."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest

import warehouse.driver_fits as driver_fits
from tests.test_outlook import INPUTS, units
from warehouse.drivers import fit_retention

pytestmark = pytest.mark.fast


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the fits actually made (each still the real one)."""
    made: list[int] = []

    def counted(frame, inputs):
        made.append(len(frame))
        return fit_retention(frame, inputs)

    monkeypatch.setattr(driver_fits, "fit_retention", counted)
    return made


def warehouse() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create schema raw")
    return conn


def test_the_same_units_reuse_the_fit_and_changed_ones_fit_again(fits: list[int]) -> None:
    conn = warehouse()
    frame = units()
    first = driver_fits.fit_or_reuse(conn, frame, INPUTS)
    # The same units in another order (SQL returns them in any order): no new fit.
    again = driver_fits.fit_or_reuse(conn, frame.sample(frac=1.0, random_state=3), INPUTS)
    assert fits == [len(frame)]
    assert driver_fits.to_json(again) == driver_fits.to_json(first)
    # A closed quarter's unit changed, or the inputs setting: fitted again.
    changed = frame.copy()
    changed.loc[7, "churned"] = not changed.loc[7, "churned"]
    driver_fits.fit_or_reuse(conn, changed, INPUTS)
    driver_fits.fit_or_reuse(conn, changed, INPUTS[:2])
    assert fits == [len(frame)] * 3
    assert conn.execute(f"select count(*) from {driver_fits.TABLE}").fetchall() == [(1,)]


def test_a_kept_fit_is_the_fit_exactly() -> None:
    frame = units()
    fitted = fit_retention(frame, INPUTS)
    kept = driver_fits.from_json(json.loads(json.dumps(driver_fits.to_json(fitted))))
    assert kept.drivers == fitted.drivers  # floats and dates exact
    assert kept.model == fitted.model and kept.reason == fitted.reason
    mine, notes = kept.model.predict(frame)
    theirs, their_notes = fitted.model.predict(frame)
    assert np.array_equal(mine, theirs, equal_nan=True) and notes == their_notes


def test_no_model_is_kept_with_its_reason(fits: list[int]) -> None:
    conn = warehouse()
    few = units().head(20)
    fitted = driver_fits.fit_or_reuse(conn, few, INPUTS)
    again = driver_fits.fit_or_reuse(conn, few, INPUTS)
    assert fitted.model is None and again.model is None
    assert again.reason == fitted.reason and again.drivers == fitted.drivers
    assert fits == [20]
