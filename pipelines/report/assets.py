"""The report asset: the CS leader's HTML page, written beside the published marts.

It reads the published copy, not the working warehouse: the page shows exactly what BI tools
read, and it opens no connection to the warehouse file. It is in the warehouse pool all the
same, like every step of the pipeline: one publish or report at a time, so a publish never
prunes the version a report is reading and two runs never write the page at once. With
publishing off (a MotherDuck warehouse) there is no published copy and no report.

A run that published shows its own publication only: when an overlapping run has published
since, this run writes no report (that run does, or the next). A run that did not publish (the
report alone) shows the publication in place, which its own run's checks passed.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    DagsterEventType,
    MaterializeResult,
    asset,
)

from pipelines.bi.assets import PUBLISHED, publication_run
from pipelines.bi.resources import PublishedWarehouseResource
from pipelines.report import report_path, write_report
from pipelines.resources import WAREHOUSE_POOL, SettingsResource, run_lineage
from warehouse.publishing import current_version

REPORT = AssetKey(["bi", "report"])


# Like the published copy it reads: once per run, whatever months the run rebuilt.
@asset(key=REPORT, deps=[PUBLISHED], group_name="bi", kinds={"html"}, tags={"layer": "bi"},
       pool=WAREHOUSE_POOL, backfill_policy=BackfillPolicy.single_run(), output_required=False,
       description="The CS leader's report for the latest complete month: one self-contained "
                   "HTML page with charts, report.html beside the published marts "
                   "(docs/report.md).")
def report(context: AssetExecutionContext, published: PublishedWarehouseResource,
           settings: SettingsResource) -> Iterator[MaterializeResult]:
    if not published.enabled:
        context.log.info("no report: publishing is off, so there is no published copy to read")
        yield MaterializeResult(metadata={"written": False})
        return
    version = current_version(published.link())
    publisher = publication_run(version)
    lineage = run_lineage(context.instance, context.run_id)
    if publisher not in lineage and _published_in(context, lineage):
        context.log.warning(f"no report: run {publisher} has published its build since this "
                            "run published; the report shows only this run's publication")
        return
    out = report_path(published.link())
    month = write_report(version, settings.get(), out)
    context.log.info(f"wrote the report for {month or 'no complete month'} to {out}")
    yield MaterializeResult(metadata={
        "written": True, "path": str(out), "month": month.isoformat() if month else "",
        "published_version": version.name, "bytes": out.stat().st_size})


def _published_in(context: AssetExecutionContext, lineage: list[str]) -> bool:
    """Whether a run of `lineage` (this run, or one it re-executes) published the marts."""
    return any(event.dagster_event and event.dagster_event.asset_key == PUBLISHED
               for run_id in lineage
               for event in context.instance.all_logs(
                   run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION))
