"""The partitioned job and its nightly schedule (`schedule` in okr_project.yaml)."""

from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import dagster as dg

from okr_pipeline.config.models import ProjectSettings
from okr_pipeline.orchestration.names import Names

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

NIGHTLY_JOB = Names().job  # this repository's own code location: no key prefix


def nightly_job(names: Names, assets: list[dg.AssetsDefinition]) -> "UnresolvedAssetJobDefinition":
    """Every asset of the project: fetch, validate, score, publish, report."""
    return dg.define_asset_job(
        names.job,
        selection=dg.AssetSelection.assets(*assets),
        description="Fetch every source, validate, score every key result, publish the tables "
        "and the report.",
    )


def nightly_schedule(
    settings: ProjectSettings, names: Names, job: "UnresolvedAssetJobDefinition"
) -> dg.ScheduleDefinition:
    """At `schedule` in the project's timezone, score the day that just ended."""

    @dg.schedule(
        name=names.schedule,
        cron_schedule=settings.schedule,
        execution_timezone=settings.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def okr_nightly_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(ZoneInfo(settings.timezone))
        day = (tick.date() - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=day, partition_key=day)

    return okr_nightly_schedule
