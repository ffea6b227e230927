"""The asset graph: one asset per metric source, then the five warehouse tables.

The number of assets follows the number of sources, never the number of key results. All
sources are fetched by one step (concurrently, with one Great Expectations validation over
every series), and all tables are written by one step, in one transaction per as-of day.

Both steps take a range of as-of days: a Dagster backfill runs up to MAX_DAYS_PER_RUN days
in one run (its backfill policy), which fetches each source once for the whole range.

Every name (keys, groups, ops, resources) comes from `Names`, so several projects can share a
code location. A source that lists upstream assets in `deps:` refreshes, with the tables and
the report after it, when one of them is materialized (see `automation`).
"""

from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from okr_pipeline import runs
from okr_pipeline import warehouse as warehouse_tables
from okr_pipeline.config import Project
from okr_pipeline.formatting import format_number
from okr_pipeline.notify import notify
from okr_pipeline.orchestration.automation import refresh_source
from okr_pipeline.orchestration.names import Names
from okr_pipeline.sources import SourceFetch
from okr_pipeline.validation import CHECK_COLUMNS, failed_checks

OWNERS = ["team:data-engineering"]
TABLES = {
    "metric_values": "The validated metric series scoring used, one row per metric and day.",
    "metric_checks": "Every data check of every fetched metric, per as-of date.",
    "source_runs": "What each source did in each run: ok, error or skipped, rows and time.",
    "kr_scores": "One scored row per key result and as-of date (docs/scoring.md).",
    "objective_scores": "One rolled-up row per objective and as-of date.",
}


# A quarter per run: one fetch and a few GX calls for 92 days, while each run's check results
# (one row per day, metric and check) stay small.
MAX_DAYS_PER_RUN = 92
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DAYS_PER_RUN)


@dataclass
class SourceResult:
    """What a source asset hands to the scoring step: the range's fetch and its check results."""

    fetch: SourceFetch
    checks: pd.DataFrame


def as_of_days(context: dg.AssetExecutionContext) -> list[date]:
    """The as-of days of this run: one for a nightly run, up to MAX_DAYS_PER_RUN in a backfill."""
    keys = context.partition_key_range
    first, last = date.fromisoformat(keys.start), date.fromisoformat(keys.end)
    return [first + timedelta(days) for days in range((last - first).days + 1)]


def _cell(value) -> str:
    """A preview cell: numbers as the scoreboard prints them (441k, 0.43), text with its
    pipes escaped, nothing for null."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value)
    return "" if pd.isna(value) else str(value).replace("|", "\\|")


def _preview(frame: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    head = frame.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def column_schema(table: sa.Table) -> dg.TableSchema:
    """The table's columns as Dagster shows them on the asset (`dagster/column_schema`)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                column.name,
                type=str(column.type.compile(dialect=sqlite.dialect())).lower(),
                description="key" if column.primary_key else None,
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable)),
            )
            for column in table.columns
        ]
    )


def _source_events(key: dg.AssetKey, result: SourceResult):
    fetch, checks = result.fetch, result.checks
    failed = failed_checks(checks)
    yield dg.Output(
        result,
        output_name=key.to_python_identifier(),
        metadata={
            "dagster/row_count": fetch.rows,
            "status": fetch.status,
            "seconds": round(fetch.seconds, 3),
            "message": fetch.message or "",
            "metrics": len(fetch.metrics),
            "failed_checks": len(failed),
        },
    )
    errors = [metric.metric_id for metric in fetch.metrics if metric.error]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name="fetched",
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"failed_metrics": ", ".join(errors), "message": fetch.message or ""},
    )
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name="data_checks",
        passed=failed.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"checks": len(checks), "failed": _preview(failed)},
    )


def build_source_assets(
    project: Project, partitions: dg.PartitionsDefinition, names: Names
) -> dg.AssetsDefinition:
    """One asset per source, all fetched by one step (can_subset: a run may fetch a few)."""
    keys = {name: names.key("sources", name) for name in sorted(project.sources)}
    specs = [
        dg.AssetSpec(
            key,
            description=f"Metric series of source `{name}` ({project.sources[name].kind}), "
            "fetched for the as-of day and validated: "
            f"{', '.join(project.sources[name].metric_ids())}.",
            group_name=names.group("sources"),
            kinds={project.sources[name].kind},
            owners=OWNERS,
            skippable=True,
            deps=[dg.AssetKey.from_user_string(dep) for dep in project.sources[name].deps],
            automation_condition=refresh_source() if project.sources[name].deps else None,
        ).with_io_manager_key(names.io_manager)
        for name, key in keys.items()
    ]
    check_specs = [
        spec
        for key in keys.values()
        for spec in (
            dg.AssetCheckSpec("fetched", asset=key, description="Every metric fetched."),
            dg.AssetCheckSpec("data_checks", asset=key, description="Every `checks:` rule passed."),
        )
    ]

    @dg.multi_asset(
        name=names.op("fetch_sources"),
        specs=specs,
        check_specs=check_specs,
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        can_subset=True,
        required_resource_keys={names.project_resource},
    )
    def fetch_sources(context: dg.AssetExecutionContext):
        """Fetch the selected sources concurrently, once for all the run's days, and check
        each day's data; a dead source is a warning, not a crash."""
        project = getattr(context.resources, names.project_resource).load()
        windows = runs.fetch_windows(project, as_of_days(context))
        selected = sorted(name for name, key in keys.items() if key in context.selected_asset_keys)
        fetches = runs.fetch_sources(project, selected, runs.covering(windows))
        checks = runs.validate_fetches(project, fetches, windows)
        for fetch in fetches.values():
            for metric in fetch.metrics:
                if metric.traceback:  # a bug or an exhausted machine: the whole story here
                    context.log.error(f"{metric.metric_id}: {metric.error}\n{metric.traceback}")
        for name in selected:
            ids = set(project.sources[name].metric_ids())
            source_checks = checks[checks["metric_id"].isin(ids)] if len(checks) else checks
            yield from _source_events(keys[name], SourceResult(fetches[name], source_checks))

    return fetch_sources


def build_score_assets(
    project: Project,
    partitions: dg.PartitionsDefinition,
    names: Names,
    refresh: dg.AutomationCondition | None,
) -> dg.AssetsDefinition:
    """The five warehouse tables, written together by one step from every source."""
    sources = sorted(project.sources)
    specs = [
        dg.AssetSpec(
            names.key("warehouse", table),
            description=description,
            group_name=names.group("warehouse"),
            kinds={"sql", "pandas"},
            owners=OWNERS,
            deps=[names.key("sources", name) for name in sources],
            metadata={
                "dagster/column_schema": column_schema(warehouse_tables.metadata.tables[table])
            },
            automation_condition=refresh,
        )
        for table, description in TABLES.items()
    ]

    @dg.multi_asset(
        name=names.op("score_okrs"),
        specs=specs,
        ins={name: dg.AssetIn(names.key("sources", name)) for name in sources},
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        required_resource_keys={names.project_resource, names.warehouse_resource},
    )
    def score_okrs(context: dg.AssetExecutionContext, **sources: SourceResult):
        """Score every key result and objective, and publish the five tables: one transaction
        per as-of day, oldest first."""
        project = getattr(context.resources, names.project_resource).load()
        warehouse = getattr(context.resources, names.warehouse_resource)
        windows = runs.fetch_windows(project, as_of_days(context))
        fetches = {name: result.fetch for name, result in sources.items()}
        checks = pd.concat([result.checks for result in sources.values()], ignore_index=True)
        checks = checks if len(checks) else pd.DataFrame(columns=CHECK_COLUMNS)
        engine = warehouse.engine()
        outcomes = list(runs.publish_days(engine, project, windows, fetches, checks))
        last = outcomes[-1]
        notify_problems = notify(project, engine, last.as_of)
        for problem in notify_problems:
            context.log.warning(problem)
        krs = last.tables.kr_scores
        marked = krs[krs["data_status"] != "ok"]
        counts = {
            "metric_values": sum(outcome.values_written for outcome in outcomes),
            "metric_checks": sum(len(outcome.checks) for outcome in outcomes),
            "source_runs": sum(len(outcome.source_runs) for outcome in outcomes),
            "kr_scores": sum(len(outcome.tables.kr_scores) for outcome in outcomes),
            "objective_scores": sum(len(outcome.tables.objective_scores) for outcome in outcomes),
        }
        summary = {
            "days": len(outcomes),
            "last_as_of": last.as_of.isoformat(),
            "krs_scored": len(krs),
            "krs_marked": len(marked),
            "status_counts": dg.MetadataValue.json(krs["status"].value_counts().to_dict()),
            "notify_problems": dg.MetadataValue.json(notify_problems),
        }
        previews = {
            "kr_scores": _preview(
                krs[["kr_id", "current_value", "score", "status", "data_status"]]
            ),
            "source_runs": _preview(last.source_runs[["source", "status", "rows", "message"]]),
        }
        for table in TABLES:
            metadata = {"dagster/row_count": counts[table], **summary}
            if table in previews:
                metadata["preview"] = previews[table]
            yield dg.MaterializeResult(asset_key=names.key("warehouse", table), metadata=metadata)

    return score_okrs
