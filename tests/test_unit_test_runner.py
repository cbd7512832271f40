"""The contract unit-test runner (transforms/unit_tests.py): a `$name` only in a comment of the
model's SQL is no parameter, while one the SQL uses must be set in overrides.vars."""

from __future__ import annotations

import pytest

from transforms.contracts import Expected, GivenInput, UnitTestSpec, contracts
from transforms.unit_tests import run_unit_test

pytestmark = pytest.mark.fast


def _test(expected_months: int, overrides: dict | None = None) -> UnitTestSpec:
    return UnitTestSpec(
        name="runner", model="quarantine",
        given=(GivenInput(input="wrk_periods", rows=({"months": 1},)),),
        expect=Expected(rows=({"months": expected_months},)),
        overrides=overrides or {})


def test_a_parameter_named_only_in_a_comment_needs_no_value() -> None:
    sql = "-- measured at $as_of by the caller\nselect months from wrk_periods"
    assert run_unit_test(contracts()["quarantine"], _test(1), sql).passed


def test_a_parameter_the_sql_uses_must_be_set() -> None:
    sql = "-- plus $extra\nselect months + $extra as months from wrk_periods"
    with pytest.raises(ValueError, match=r"takes \['extra'\]: set them in overrides\.vars"):
        run_unit_test(contracts()["quarantine"], _test(3), sql)
    assert run_unit_test(contracts()["quarantine"], _test(3, {"vars": {"extra": 2}}), sql).passed
