"""The thin Dagster shell over the pure core: assets, checks, resources, job, schedule."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from okr_pipeline import PROJECT_ENV, WAREHOUSE_ENV, default_warehouse_url
from okr_pipeline.config import load_project
from okr_pipeline.orchestration.assets import (
    MAX_DAYS_PER_RUN,
    build_score_assets,
    build_source_assets,
)
from okr_pipeline.orchestration.automation import refresh_downstream
from okr_pipeline.orchestration.jobs import NIGHTLY_JOB, nightly_job, nightly_schedule
from okr_pipeline.orchestration.names import Names
from okr_pipeline.orchestration.reports import build_report_asset
from okr_pipeline.orchestration.resources import (
    OkrProjectResource,
    RangePickleIOManager,
    WarehouseResource,
)


def as_of_partitions(project) -> dg.DailyPartitionsDefinition:
    """One partition per as-of day, from the first cycle's start through today."""
    first = min((okrs.cycle.start for okrs in project.cycles), default=date(2020, 1, 1))
    return dg.DailyPartitionsDefinition(
        start_date=first.isoformat(), timezone=project.settings.timezone, end_offset=1
    )


def warehouse_setting(url: str | None, names: Names, project_dir: str) -> str | dg.EnvVar:
    """The warehouse as the resource is given it. A URL holding a password reaches Dagster
    as `EnvVar(<the variable that holds it>)`, so run config and job snapshots show a name,
    never the password; without a URL, $OKR_WAREHOUSE_URL, else SQLite in the project."""
    if url is None:
        if os.environ.get(WAREHOUSE_ENV):
            return dg.EnvVar(WAREHOUSE_ENV)
        return default_warehouse_url(project_dir)
    if not sa.engine.make_url(url).password:
        return url
    holders = sorted(name for name, value in os.environ.items() if value == url)
    if not holders:  # given in code: parked in a variable of this project's own
        holders = ["__".join([WAREHOUSE_ENV, *names.key_prefix]).upper()]
        os.environ[holders[0]] = url
    return dg.EnvVar(WAREHOUSE_ENV if WAREHOUSE_ENV in holders else holders[0])


def build_definitions(
    project_dir: str | Path,
    warehouse_url: str | None = None,
    key_prefix: Sequence[str] = (),
    group_name: str | None = None,
) -> dg.Definitions:
    """Everything Dagster needs for one project: its assets and checks, the nightly job and
    schedule, and its resources, every name taken from `key_prefix` (see `Names`). The
    warehouse URL defaults to $OKR_WAREHOUSE_URL, else SQLite under the project."""
    project_dir = str(Path(project_dir).resolve())
    project = load_project(project_dir)
    partitions = as_of_partitions(project)
    names = Names(tuple(key_prefix), group_name)
    # Scores refresh between nights only after a source with upstream `deps:` did.
    refresh = refresh_downstream() if any(s.deps for s in project.sources.values()) else None
    assets = [
        build_source_assets(project, partitions, names),
        build_score_assets(project, partitions, names, refresh),
        build_report_asset(partitions, names, refresh),
    ]
    job = nightly_job(names, assets)
    warehouse = warehouse_setting(warehouse_url, names, project_dir)
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[nightly_schedule(project.settings, names, job)],
        resources={
            names.project_resource: OkrProjectResource(project_dir=project_dir),
            names.warehouse_resource: WarehouseResource(url=warehouse),
            names.io_manager: RangePickleIOManager(),
        },
    )


DAGSTER_HOME_ENV = "DAGSTER_HOME"
# Written into a new home so `dagster dev` on it starts without a warning and sends nothing.
INSTANCE_SETTINGS = "telemetry:\n  enabled: false\n"


def dagster_home(project_dir: str | Path) -> Path:
    """Where the CLI and the UI keep one Dagster history: $DAGSTER_HOME, else
    `<project>/.okr/dagster`."""
    home = os.environ.get(DAGSTER_HOME_ENV)
    return Path(home) if home else Path(project_dir).resolve() / ".okr" / "dagster"


def instance_for(project_dir: str | Path) -> dg.DagsterInstance:
    """The persistent instance of `dagster_home`: runs of the CLI show in the UI started
    on the same home (`make ui`), with their materializations and check results."""
    home = dagster_home(project_dir)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_SETTINGS)
    return dg.DagsterInstance.from_config(str(home))


def materialize_days(
    defs: dg.Definitions, first: date, last: date, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Run the nightly job in this process for the as-of days first..last (at most
    MAX_DAYS_PER_RUN), as one run, with Dagster's console log quiet."""
    days = {"partition_key": first.isoformat()}
    if last != first:
        days = {
            "tags": {
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            }
        }
    return defs.resolve_job_def(NIGHTLY_JOB).execute_in_process(
        **days,
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )


def materialize_day(
    defs: dg.Definitions, as_of: date, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """`materialize_days` for one day: what the nightly schedule runs."""
    return materialize_days(defs, as_of, as_of, instance)


__all__ = [
    "MAX_DAYS_PER_RUN",
    "NIGHTLY_JOB",
    "PROJECT_ENV",
    "WAREHOUSE_ENV",
    "Names",
    "as_of_partitions",
    "build_definitions",
    "dagster_home",
    "instance_for",
    "materialize_day",
    "materialize_days",
]
