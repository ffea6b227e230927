"""The partitioned job and its nightly schedule (`schedule` in okr_project.yaml)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from okr_pipeline.config.models import ProjectSettings

NIGHTLY_JOB = "okr_nightly"

nightly_job = dg.define_asset_job(
    NIGHTLY_JOB,
    selection=dg.AssetSelection.all(),
    description="Fetch every source, validate, score every key result, publish the tables.",
)


def nightly_schedule(settings: ProjectSettings) -> dg.ScheduleDefinition:
    """At `schedule` in the project's timezone, score the day that just ended."""

    @dg.schedule(
        name="okr_nightly_schedule",
        cron_schedule=settings.schedule,
        execution_timezone=settings.timezone,
        job=nightly_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def okr_nightly_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(ZoneInfo(settings.timezone))
        day = (tick.date() - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=day, partition_key=day)

    return okr_nightly_schedule
