"""The report asset: the CS leader's HTML page, written beside the published marts.

It reads the published copy, not the working warehouse: the page shows exactly what BI tools
read, and it opens no connection to the warehouse file. It is in the warehouse pool all the
same, like every step of the pipeline: one publish or report at a time, so a publish never
prunes the version a report is reading and two runs never write the page at once. With
publishing off (a MotherDuck warehouse) there is no published copy and no report.
"""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from pipelines.bi.assets import PUBLISHED
from pipelines.bi.resources import PublishedWarehouseResource
from pipelines.report import report_path, write_report
from pipelines.resources import WAREHOUSE_POOL, SettingsResource
from warehouse.publishing import current_version

REPORT = AssetKey(["bi", "report"])


# Like the published copy it reads: once per run, whatever months the run rebuilt.
@asset(key=REPORT, deps=[PUBLISHED], group_name="bi", kinds={"html"}, tags={"layer": "bi"},
       pool=WAREHOUSE_POOL, backfill_policy=BackfillPolicy.single_run(),
       description="The CS leader's report for the latest complete month: one self-contained "
                   "HTML page with charts, report.html beside the published marts "
                   "(docs/report.md).")
def report(context: AssetExecutionContext, published: PublishedWarehouseResource,
           settings: SettingsResource) -> MaterializeResult:
    if not published.enabled:
        context.log.info("no report: publishing is off, so there is no published copy to read")
        return MaterializeResult(metadata={"written": False})
    version = current_version(published.link())
    out = report_path(published.link())
    month = write_report(version, settings.get(), out)
    context.log.info(f"wrote the report for {month or 'no complete month'} to {out}")
    return MaterializeResult(metadata={
        "written": True, "path": str(out), "month": month.isoformat() if month else "",
        "published_version": version.name, "bytes": out.stat().st_size})
