"""The report asset: tonight's scores as a page teams open in the morning."""

import dagster as dg

from okr_pipeline.orchestration.assets import (
    BACKFILL_POLICY,
    OWNERS,
    as_of_days,
    warehouse_key,
)
from okr_pipeline.orchestration.resources import OkrProjectResource, WarehouseResource
from okr_pipeline.report.publish import publish_report, risk_table

REPORT_KEY = dg.AssetKey(["reports", "okr_report"])


def build_report_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    # A multi_asset of one: its backfill policy is stable API, the @asset parameter beta.
    @dg.multi_asset(
        name="okr_report",
        specs=[
            dg.AssetSpec(
                REPORT_KEY,
                group_name="reports",
                description="The HTML report of the as-of day: `<report.dir>/<as_of>.html` "
                "and `latest.html` (report settings of okr_project.yaml, default "
                "`.okr/reports`). A run of many days (a backfill) writes its last day's page.",
                deps=[warehouse_key(table) for table in ("kr_scores", "objective_scores",
                                                          "source_runs", "metric_checks")],
                kinds={"html"},
                owners=OWNERS,
            )
        ],
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
    )  # fmt: skip
    def okr_report(
        context: dg.AssetExecutionContext,
        okr_project: OkrProjectResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        """Publish the page and say in the metadata what is at risk and why."""
        as_of = as_of_days(context)[-1]
        published = publish_report(warehouse.engine(), okr_project.load(), as_of)
        counts = {f"krs_{status}": count for status, count in published.counts.items()}
        return dg.MaterializeResult(
            asset_key=REPORT_KEY,
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "as_of": as_of.isoformat(),
                "latest": published.latest,
                **counts,
                "at_risk": dg.MetadataValue.md(risk_table(published.at_risk)),
                "pages_removed": len(published.removed),
            },
        )

    return okr_report
