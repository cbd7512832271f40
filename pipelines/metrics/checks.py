"""Checks on the marts: keys and the invariants of docs/metrics.md. Each names the failing rows.

Every check but `months_have_rows` is generated from a data test in a mart's contract
(transforms/contracts.py, docs/architecture.md, Contracts): `unique_grain` becomes
`<mart>_keys_unique` (the grain's `not_null` columns judged with it), `expression_is_true` and
`failing_rows` (a SQL file returning the failing rows) a check of the test's name. A check that
reads other marts than its own depends on them too (parsed from its SQL). They are blocking: when
one fails, the run fails and nothing downstream of the marts (the published DuckDB copy, the Hyper
extract, PostgreSQL) is written, so BI keeps the last good version. The step's failure names the
check; its log and metadata name the offending keys.

A check judges its own run's build only: when an overlapping run has rebuilt the marts since,
the check passes without judging ("judged": false, and the run that rebuilt them), since that
run's checks judge its build and only that run may publish it (pipelines/resources.py, Build).
A check run on its own (no build in its run) judges whatever build is in place.
"""


from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)
from dagster._core.errors import DagsterInvalidPropertyError  # not exported by name
from dagster_duckdb import DuckDBResource

from pipelines.metrics.assets import CSM_PERIOD_METRICS, TEAM_PERIOD_METRICS
from pipelines.resources import WAREHOUSE_POOL, Build, record_failed_check, run_build
from transforms.contracts import Check, Contract, contracts
from transforms.graph import references
from warehouse.sql import transaction


def _rows(context: AssetCheckExecutionContext, warehouse: DuckDBResource,
          sql: str) -> list[tuple] | Build:
    """The rows `sql` finds in this run's build; or, when another run's build has replaced it,
    that build (not judged). One transaction: the build and the rows are one snapshot."""
    run_id = _run_id(context)
    with warehouse.get_connection() as conn, transaction(conn):
        if run_id is not None:
            build = run_build(conn, context.instance, run_id)
            if build.superseded:
                return build
        return conn.execute(sql).fetchall()


def _run_id(context: AssetCheckExecutionContext) -> str | None:
    """The check's run; None when it is called directly, outside any run (a test): it then
    judges what the warehouse holds, and records nothing."""
    try:
        return context.run.run_id
    except DagsterInvalidPropertyError:
        return None


def _not_judged(context: AssetCheckExecutionContext, build: Build) -> AssetCheckResult:
    context.log.warning(f"{context.check_specs[0].name} not judged: "
                        f"{build.superseded_message()}")
    return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN,
                            description=f"Not judged: {build.superseded_message()}.",
                            metadata={"judged": False, "superseded_by_run": build.current or ""})


def _failures(context: AssetCheckExecutionContext, warehouse: DuckDBResource,
              sql: str) -> AssetCheckResult:
    """A blocking result on the rows `sql` finds (each a failing key)."""
    rows = _rows(context, warehouse, sql)
    if isinstance(rows, Build):
        return _not_judged(context, rows)
    failing = [" ".join(str(v) for v in row) for row in rows]
    run_id = _run_id(context)
    if failing and run_id is not None:  # a publish on its own must not publish this build
        with warehouse.get_connection() as conn:  # (pipelines/resources.py)
            record_failed_check(conn, run_id, context.check_specs[0].name)
    return _result(context, failing)


def _result(context: AssetCheckExecutionContext, failing: list[str]) -> AssetCheckResult:
    """A blocking result; a failure also goes to the run's log, with the offending keys."""
    if failing:
        context.log.error(f"{context.check_specs[0].name} failed on {len(failing)} row(s), "
                          f"nothing will be published: {'; '.join(failing[:20])}")
    return AssetCheckResult(passed=not failing, severity=AssetCheckSeverity.ERROR,
                            metadata={"failing_rows": len(failing), "examples": failing[:20]})


def contract_check(contract: Contract, check: Check) -> Any:
    """A blocking check on the rows the contract's test selects."""
    asset = AssetKey(["marts", contract.name])
    reads = sorted(name for name in references(check.sql)
                   if name.startswith("marts.") and name != f"marts.{contract.name}")

    @asset_check(asset=asset, name=check.name, blocking=True, pool=WAREHOUSE_POOL,
                 additional_deps=[AssetKey(name.split(".")) for name in reads],
                 description=check.description)
    def _check(context: AssetCheckExecutionContext,
               warehouse: DuckDBResource) -> AssetCheckResult:
        return _failures(context, warehouse, check.sql)

    return _check


CONTRACT_CHECKS: dict[str, Any] = {
    check.name: contract_check(contract, check)
    for contract in contracts().values() for check in contract.checks}


@asset_check(asset=CSM_PERIOD_METRICS, additional_deps=[TEAM_PERIOD_METRICS], pool=WAREHOUSE_POOL,
             description="Every month between the first and the last one built has a team row "
                         "and CSM rows; the metadata has the rows per month. A gap is a month "
                         "never backfilled.")
def months_have_rows(context: AssetCheckExecutionContext,
                     warehouse: DuckDBResource) -> AssetCheckResult:
    rows = _rows(context, warehouse, """
            with months as (
                select unnest(generate_series(min(period_start), max(period_start),
                                              interval 1 month))::date as month
                from marts.team_period_metrics where period_grain = 'month'
            ),
            csm as (
                select period_start as month, count(*) as csm_rows
                from marts.csm_period_metrics where period_grain = 'month' group by all
            ),
            team as (
                select period_start as month, count(*) as team_rows
                from marts.team_period_metrics where period_grain = 'month' group by all
            )
            select strftime(month, '%Y-%m'), coalesce(team_rows, 0), coalesce(csm_rows, 0)
            from months left join csm using (month) left join team using (month)
            order by month""")
    if isinstance(rows, Build):
        return _not_judged(context, rows)
    gaps = [month for month, team, csm in rows if not team or not csm]
    return AssetCheckResult(
        passed=not gaps, severity=AssetCheckSeverity.WARN,
        metadata={"months": len(rows), "months_without_rows": gaps[:24],
                  "csm_rows_per_month": {month: csm for month, _, csm in rows[-24:]}})


CHECKS: list[Any] = [*CONTRACT_CHECKS.values(), months_have_rows]


def __getattr__(name: str) -> Any:
    """A contract's check by its name (`from pipelines.metrics.checks import
    account_waterfall_closes`), as Dagster users see it."""
    try:
        return CONTRACT_CHECKS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
