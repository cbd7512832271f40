"""Checks on the marts: keys and the invariants of docs/metrics.md. Each names the failing rows.

Every check but `months_have_rows` is generated from a data test in a mart's contract
(transforms/contracts.py, docs/architecture.md, Contracts): `unique_grain` becomes
`<mart>_keys_unique` (the grain's `not_null` columns judged with it), `expression_is_true` and
`failing_rows` (a SQL file returning the failing rows) a check of the test's name. A check that
reads other marts than its own depends on them too (parsed from its SQL). They are blocking: when
one fails, the run fails and nothing downstream of the marts (the published DuckDB copy, the Hyper
extract, PostgreSQL) is written, so BI keeps the last good version. The step's failure names the
check; its log and metadata name the offending keys.

They are judged together, in one step (`mart_checks`, a multi-asset check that can be subset):
one connection and one snapshot of the build for all of them, instead of a step, a connection
and Dagster's bookkeeping per check (docs/performance.md, The demo's runs). Each keeps its own
key, so the UI shows and runs each check of each mart as before.

A check judges its own run's build only: when an overlapping run has rebuilt the marts since,
the check passes without judging ("judged": false, and the run that rebuilt them), since that
run's checks judge its build and only that run may publish it (pipelines/resources.py, Build).
A check run on its own (no build in its run) judges whatever build is in place.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)
from dagster._core.errors import DagsterInvalidPropertyError  # not exported by name
from dagster_duckdb import DuckDBResource

from pipelines.metrics.assets import CSM_PERIOD_METRICS, TEAM_PERIOD_METRICS
from pipelines.resources import WAREHOUSE_POOL, Build, record_failed_check, run_build
from transforms.contracts import contracts
from transforms.graph import references
from warehouse.sql import transaction

MONTHS_HAVE_ROWS_SQL = """
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
    order by month"""


@dataclass(frozen=True)
class MartCheck:
    """One check: its spec, the SQL whose rows it judges, and how (failing keys, or the rows
    per month of `months_have_rows`)."""

    spec: AssetCheckSpec
    sql: str
    months: bool = False  # months_have_rows: a warning on the months without rows

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, context: AssetCheckExecutionContext,
                 warehouse: DuckDBResource) -> AssetCheckResult:
        """This check alone, as the step judges it (`from pipelines.metrics.checks import
        account_waterfall_closes`; tests call it with `build_asset_check_context()`)."""
        [result] = judge(context, warehouse, [self])
        return result


def contract_checks() -> list[MartCheck]:
    """A blocking check per data test of every contract; one that reads other marts than its
    own depends on them too."""
    found = []
    for contract in contracts().values():
        for check in contract.checks:
            reads = sorted(name for name in references(check.sql)
                           if name.startswith("marts.") and name != f"marts.{contract.name}")
            found.append(MartCheck(AssetCheckSpec(
                check.name, asset=AssetKey(["marts", contract.name]), blocking=True,
                additional_deps=[AssetKey(name.split(".")) for name in reads],
                description=check.description), check.sql))
    return found


MONTHS_HAVE_ROWS = MartCheck(AssetCheckSpec(
    "months_have_rows", asset=CSM_PERIOD_METRICS, additional_deps=[TEAM_PERIOD_METRICS],
    description="Every month between the first and the last one built has a team row and CSM "
                "rows; the metadata has the rows per month. A gap is a month never "
                "backfilled."), MONTHS_HAVE_ROWS_SQL, months=True)

MART_CHECKS: list[MartCheck] = [*contract_checks(), MONTHS_HAVE_ROWS]
CONTRACT_CHECKS: dict[str, MartCheck] = {c.name: c for c in MART_CHECKS if not c.months}


def judge(context: AssetCheckExecutionContext, warehouse: DuckDBResource,
          checks: Sequence[MartCheck]) -> list[AssetCheckResult]:
    """The results of `checks` on this run's build, read in one transaction (one snapshot);
    not judged when another run's build has replaced it. A failed blocking check is recorded
    on the build, so a publish on its own does not publish it (pipelines/resources.py)."""
    run_id = _run_id(context)
    with warehouse.get_connection() as conn:
        with transaction(conn):
            build = run_build(conn, context.instance, run_id) if run_id is not None else None
            if build is not None and build.superseded:
                return [_not_judged(context, check, build) for check in checks]
            found = {check.name: conn.execute(check.sql).fetchall() for check in checks}
        failed = [c.name for c in checks if found[c.name] and c.spec.blocking]
        if failed and run_id is not None:
            record_failed_check(conn, run_id, failed[0])
    return [_months_result(check, found[check.name]) if check.months
            else _result(context, check, found[check.name]) for check in checks]


def _run_id(context: AssetCheckExecutionContext) -> str | None:
    """The check's run; None when it is called directly, outside any run (a test): it then
    judges what the warehouse holds, and records nothing."""
    try:
        return context.run.run_id
    except DagsterInvalidPropertyError:
        return None


def _not_judged(context: AssetCheckExecutionContext, check: MartCheck,
                build: Build) -> AssetCheckResult:
    context.log.warning(f"{check.name} not judged: {build.superseded_message()}")
    return AssetCheckResult(asset_key=check.spec.asset_key, check_name=check.name, passed=True,
                            severity=AssetCheckSeverity.WARN,
                            description=f"Not judged: {build.superseded_message()}.",
                            metadata={"judged": False, "superseded_by_run": build.current or ""})


def _result(context: AssetCheckExecutionContext, check: MartCheck,
            rows: list[tuple]) -> AssetCheckResult:
    """A blocking result on the failing keys; a failure also goes to the run's log."""
    failing = [" ".join(str(v) for v in row) for row in rows]
    if failing:
        context.log.error(f"{check.name} failed on {len(failing)} row(s), nothing will be "
                          f"published: {'; '.join(failing[:20])}")
    return AssetCheckResult(asset_key=check.spec.asset_key, check_name=check.name,
                            passed=not failing, severity=AssetCheckSeverity.ERROR,
                            metadata={"failing_rows": len(failing), "examples": failing[:20]})


def _months_result(check: MartCheck, rows: list[tuple]) -> AssetCheckResult:
    """A warning on the months between the first and the last built that have no rows."""
    gaps = [month for month, team, csm in rows if not team or not csm]
    return AssetCheckResult(
        asset_key=check.spec.asset_key, check_name=check.name, passed=not gaps,
        severity=AssetCheckSeverity.WARN,
        metadata={"months": len(rows), "months_without_rows": gaps[:24],
                  "csm_rows_per_month": {month: csm for month, _, csm in rows[-24:]}})


@multi_asset_check(specs=[c.spec for c in MART_CHECKS], can_subset=True, pool=WAREHOUSE_POOL,
                   name="mart_checks",
                   description="The marts' checks, judged together on one snapshot of the "
                               "build.")
def mart_checks(context: AssetCheckExecutionContext,
                warehouse: DuckDBResource) -> Iterator[AssetCheckResult]:
    selected = context.selected_asset_check_keys
    yield from judge(context, warehouse, [c for c in MART_CHECKS if c.spec.key in selected])


CHECKS: list[Any] = [mart_checks]


def __getattr__(name: str) -> Any:
    """A check by its name (`from pipelines.metrics.checks import account_waterfall_closes`),
    as Dagster users see it: callable alone with a check context and the warehouse."""
    try:
        return {c.name: c for c in MART_CHECKS}[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
