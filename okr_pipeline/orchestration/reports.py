"""The report asset: tonight's scores as a page teams open in the morning."""

import dagster as dg

from okr_pipeline.orchestration.assets import BACKFILL_POLICY, OWNERS, as_of_days
from okr_pipeline.orchestration.names import Names
from okr_pipeline.report.publish import publish_report, risk_table


def build_report_asset(
    partitions: dg.PartitionsDefinition, names: Names, refresh: dg.AutomationCondition | None
) -> dg.AssetsDefinition:
    """The report of the as-of day, after the tables it reads (`refresh`: as theirs)."""
    key = names.key("reports", "okr_report")

    # A multi_asset of one: its backfill policy is stable API, the @asset parameter beta.
    @dg.multi_asset(
        name=names.op("okr_report"),
        specs=[
            dg.AssetSpec(
                key,
                group_name=names.group("reports"),
                description="The HTML report of the as-of day: `<report.dir>/<as_of>.html` "
                "and `latest.html` (report settings of okr_project.yaml, default "
                "`.okr/reports`). A run of many days (a backfill) writes its last day's page.",
                deps=[names.key("warehouse", table) for table in ("kr_scores", "objective_scores",
                                                                  "source_runs", "metric_checks")],
                kinds={"html"},
                owners=OWNERS,
                automation_condition=refresh,
            )
        ],
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        required_resource_keys={names.project_resource, names.warehouse_resource},
    )  # fmt: skip
    def okr_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Publish the page and say in the metadata what is at risk and why."""
        as_of = as_of_days(context)[-1]
        project = getattr(context.resources, names.project_resource).load()
        engine = getattr(context.resources, names.warehouse_resource).engine()
        published = publish_report(engine, project, as_of)
        counts = {f"krs_{status}": count for status, count in published.counts.items()}
        return dg.MaterializeResult(
            asset_key=key,
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
