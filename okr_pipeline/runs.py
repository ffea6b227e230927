"""Runs without Dagster: fetch the sources, then publish the scores, for one or many days.

The Dagster assets are thin wrappers over these steps, so the logic is testable and the
CLI, the nightly schedule and a Dagster backfill produce the same tables. A run of a range
of as-of dates fetches each source once for the whole range, validates every day in a few
Great Expectations calls, and publishes day after day, each day in its own transaction and
with the same rows a run of that day alone would write.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project
from okr_pipeline.scoring import OkrFrames, ScoreTables, frames_from_project, score
from okr_pipeline.scoring.rules import select_cycles
from okr_pipeline.secrets import redact
from okr_pipeline.sources import FetchWindow, MetricFetch, SourceFetch, connector_for
from okr_pipeline.sources.base import unexpected
from okr_pipeline.text import inert
from okr_pipeline.validation import (
    CHECK_COLUMNS,
    Cut,
    rejected_metrics,
    rejecting_failures,
    validate_cuts,
)

log = logging.getLogger(__name__)
MAX_PARALLEL_SOURCES = 16


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def scored_cycles(project: Project, as_of: date):
    """The cycles a run scores, by the same rule the scoring core applies (docs/scoring.md)."""
    cycles = [okrs.cycle for okrs in project.cycles]
    scored = select_cycles(
        np.array([cycle.end.toordinal() for cycle in cycles]),
        np.array([cycle.grace_days for cycle in cycles]),
        np.array([cycle.archived for cycle in cycles], dtype=bool),
        as_of.toordinal(),
    )
    return [okrs for okrs, keep in zip(project.cycles, scored, strict=True) if keep]


def fetch_window(project: Project, as_of: date, today: date) -> FetchWindow:
    """The days every source is asked for: from the earliest day any scored KR looks at."""
    first_days = [as_of]
    for okrs in scored_cycles(project, as_of):
        first_days.append(okrs.cycle.start)
        for objective in okrs.objectives:
            for kr in objective.key_results:
                if kr.window_days:
                    first_days.append(as_of - timedelta(kr.window_days - 1))
    return FetchWindow(
        start=min(first_days),
        end=as_of + timedelta(1),
        as_of=as_of,
        today=today,
    )


def fetch_windows(project: Project, days: list[date]) -> dict[date, FetchWindow]:
    """The window a run of each day asks its sources for."""
    today = today_in(project.settings.timezone)
    return {day: fetch_window(project, day, today) for day in days}


def covering(windows: dict[date, FetchWindow]) -> FetchWindow:
    """One window holding every day's window, read as of the last day: fetched once."""
    return FetchWindow(
        start=min(window.start for window in windows.values()),
        end=max(window.end for window in windows.values()),
        as_of=max(windows),
        today=next(iter(windows.values())).today,
    )


def fetch_sources(
    project: Project, names: list[str], window: FetchWindow
) -> dict[str, SourceFetch]:
    """Fetch the named sources concurrently; each source's failures stay inside its result.

    Interrupted (Ctrl-C, SIGTERM), it leaves at once instead of waiting for sources still
    fetching: their threads end at their own deadline, or with the process.
    """
    if not names:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_SOURCES, len(names)))
    try:
        results = list(
            pool.map(
                lambda name: connector_for(project.sources[name], project).fetch(window), names
            )
        )
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return dict(zip(names, results, strict=True))


def day_fetches(
    fetches: dict[str, SourceFetch], windows: dict[date, FetchWindow]
) -> Iterator[tuple[date, dict[str, SourceFetch]]]:
    """Each day's cut of the range's fetches: what a run of that day alone would fetch."""
    for day, window in windows.items():
        yield day, {name: fetch.within(window) for name, fetch in fetches.items()}


def validate_fetches(
    project: Project, fetches: dict[str, SourceFetch], windows: dict[date, FetchWindow]
) -> pd.DataFrame:
    """Run every metric's `checks:` over each day's series, in as few GX calls as fit.

    Should that validation raise, each source is validated alone, and a source whose own
    validation raises fails like a dead source (`fail_source`): its key results keep their
    last good values while every other source's data is judged and scored.
    """
    checks = {
        metric_id: metric.checks
        for source in project.sources.values()
        for metric_id, metric in zip(source.metric_ids(), source.metrics, strict=True)
    }
    try:
        return validate_cuts(*_day_cuts(fetches, windows), checks)
    except Exception:
        log.warning("validating every source at once failed; validating them one by one")
    results = [pd.DataFrame(columns=CHECK_COLUMNS)]
    for name, fetch in fetches.items():
        try:
            results.append(validate_cuts(*_day_cuts({name: fetch}, windows), checks))
        except Exception as error:
            reason = f"validation failed: {unexpected(error)}"
            fail_source(fetch, reason, project.secrets)
    return pd.concat([frame for frame in results if len(frame)] or results, ignore_index=True)


def _day_cuts(
    fetches: dict[str, SourceFetch], windows: dict[date, FetchWindow]
) -> tuple[list[tuple[str, pd.DataFrame]], list[Cut]]:
    """Each day's part of every fetched series, for `validate_cuts`: a slice of the range's
    series where it ascends by day (each row is then judged once for the whole range), else
    that day's own series (a point-in-time reading, a series out of order)."""
    series: list[tuple[str, pd.DataFrame]] = []
    numbers: dict[int, int] = {}  # id(MetricFetch): its whole series' number in `series`
    cuts = []
    for day, window in windows.items():
        for fetch in fetches.values():
            for metric in fetch.metrics:
                rows = metric.rows_within(window)
                if rows is not None:
                    if id(metric) not in numbers:
                        numbers[id(metric)] = len(series)
                        series.append((metric.metric_id, metric.series))
                    cuts.append(Cut(day, numbers[id(metric)], *rows))
                    continue
                part = metric.within(window)
                if part.ok:
                    series.append((metric.metric_id, part.series))
                    cuts.append(Cut(day, len(series) - 1, 0, part.rows))
    return series, cuts


def fail_source(fetch: SourceFetch, reason: str, secrets: frozenset[str]) -> None:
    """Turn every fetched metric of a source into a failure with `reason` (and the
    traceback being handled, for the Dagster event log)."""
    trace = redact(traceback.format_exc(), secrets)
    fetch.metrics = [
        MetricFetch(
            metric.metric_id,
            error=inert(redact(reason, secrets)),
            point_in_time=metric.point_in_time,
            traceback=trace,
        )
        if metric.ok
        else metric
        for metric in fetch.metrics
    ]


def data_problems(fetches: dict[str, SourceFetch], checks: pd.DataFrame) -> pd.DataFrame:
    """Metrics whose fetch failed (`source_error`), or whose data the source sent unusable
    or failed a rejecting check (`invalid`). Late data is no problem here: scoring labels
    it `stale` from the newest value it has."""
    rows = [
        (metric.metric_id, "source_error", metric.error)
        for fetch in fetches.values()
        for metric in fetch.metrics
        if metric.error
    ]
    rows += [
        (metric.metric_id, "invalid", metric.rejected)
        for fetch in fetches.values()
        for metric in fetch.metrics
        if metric.rejected
    ]
    failed = rejecting_failures(checks)
    for metric_id, group in failed.groupby("metric_id", sort=True) if len(failed) else []:
        first = group.iloc[0]
        rows.append((metric_id, "invalid", f"check {first['check']} failed: {first['message']}"))
    return pd.DataFrame(rows, columns=["metric_id", "data_status", "data_message"])


def source_runs_frame(
    fetches: dict[str, SourceFetch], problems: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """One row per source. A source that answered keeps status `ok` even when a metric's data
    was rejected by a check; its message then says which metric was rejected and why."""
    rejected = problems[problems["data_status"] == "invalid"]
    rows = []
    for name, fetch in sorted(fetches.items()):
        ids = {metric.metric_id for metric in fetch.metrics}
        notes = [fetch.message] if fetch.message else []
        notes += [
            f"{row.metric_id}: rejected, {row.data_message}"
            for row in rejected.itertuples()
            if row.metric_id in ids
        ]
        rows.append(
            {
                "as_of": as_of,
                "source": name,
                "status": fetch.status,
                "rows": fetch.rows,
                "seconds": round(fetch.seconds, 3),
                "message": "; ".join(notes) or None,
            }
        )
    return pd.DataFrame(rows, columns=["as_of", "source", "status", "rows", "seconds", "message"])


@dataclass
class StoredValues:
    """`metric_values` as a publication left it, with the lock count its commit set: the next
    day of a range reuses the frame instead of reading the table, unless another run has
    published in between."""

    frame: pd.DataFrame
    runs: int


@dataclass
class RunOutcome:
    as_of: date
    tables: ScoreTables
    source_runs: pd.DataFrame
    checks: pd.DataFrame
    values_written: int
    stored: StoredValues


@dataclass
class Accepted:
    """A series that passed its checks, and the stored range it replaces."""

    source: str
    metric: MetricFetch
    start: date
    end: date


def _accepted(fetches: dict[str, SourceFetch], rejected: set[str]) -> list[Accepted]:
    accepted = []
    for name, fetch in fetches.items():
        for metric in fetch.metrics:
            if metric.ok and metric.metric_id not in rejected:
                start, end = fetch.window.start, fetch.window.end
                if metric.point_in_time:
                    start, end = fetch.window.as_of, fetch.window.as_of + timedelta(1)
                accepted.append(Accepted(name, metric, start, end))
    return accepted


@dataclass
class ValueChanges:
    """What a run does to `metric_values` (an accepted fetch replaces its range)."""

    values: pd.DataFrame  # the table afterwards, (metric_id, ts, value): what scoring reads
    deleted: pd.DataFrame  # (metric_id, ts) of stored rows replaced or gone
    inserted: pd.DataFrame  # (metric_id, ts, value, source) of new or changed rows


def merge_values(stored: pd.DataFrame, accepted: list[Accepted]) -> ValueChanges:
    """Stored history with each accepted fetch replacing its own range.

    Only rows whose value changed are written: a backfill day re-fetches the whole window
    but adds one new day per metric, and rewriting the rest cost 0.45 s a day
    (benchmarks/RESULTS.md). One merge for all metrics, not a mask per metric.
    """
    keys = ["metric_id", "ts"]
    metric_ids = np.array([item.metric.metric_id for item in accepted], dtype=object)
    ranges = pd.DataFrame(
        {
            "metric_id": metric_ids,
            "start": pd.to_datetime([item.start for item in accepted]),
            "end": pd.to_datetime([item.end for item in accepted]),
        }
    )
    bounds = stored[["metric_id"]].merge(ranges, on="metric_id", how="left")
    replaced = (stored["ts"].to_numpy() >= bounds["start"].to_numpy()) & (
        stored["ts"].to_numpy() < bounds["end"].to_numpy()
    )
    columns = [item.metric.columns for item in accepted]
    lengths = [len(ts) for ts, _ in columns]
    fresh = pd.DataFrame(
        {
            "metric_id": np.repeat(metric_ids, lengths),
            "ts": np.concatenate([ts for ts, _ in columns] or [np.array([], "datetime64[ns]")]),
            "value": np.concatenate([value for _, value in columns] or [np.array([], float)]),
            "source": np.repeat(np.array([item.source for item in accepted], object), lengths),
        }
    )
    both = stored[replaced].merge(
        fresh, on=keys, how="outer", suffixes=("_old", ""), indicator=True
    )
    same = (both["_merge"] == "both") & (
        (both["value_old"] == both["value"]) | (both["value_old"].isna() & both["value"].isna())
    )
    return ValueChanges(
        values=pd.concat([stored[~replaced], fresh[keys + ["value"]]], ignore_index=True),
        deleted=both.loc[(both["_merge"] != "right_only") & ~same, keys],
        inserted=both.loc[(both["_merge"] != "left_only") & ~same, [*keys, "value", "source"]],
    )


def publish(
    engine: sa.Engine,
    okrs: OkrFrames,
    as_of: date,
    fetches: dict[str, SourceFetch],
    checks: pd.DataFrame,
    stored: StoredValues | None = None,
) -> RunOutcome:
    """Score on stored history plus this run's accepted data, and write it all in one go.

    `stored` is the previous day's outcome in a range: reused when no other run published
    since (the lock count tells), else the table is read again.
    """
    accepted = _accepted(fetches, rejected_metrics(checks))
    problems = data_problems(fetches, checks)
    runs = source_runs_frame(fetches, problems, as_of)
    with warehouse.publishing(engine) as publication:
        current = stored is not None and publication.runs == stored.runs + 1
        changes = merge_values(stored.frame if current else publication.read_values(), accepted)
        tables = score(okrs, changes.values, problems, as_of)
        publication.change_values(changes.deleted, changes.inserted)
        publication.replace_day(warehouse.metric_checks, as_of, checks.assign(as_of=as_of))
        publication.replace_day(warehouse.source_runs, as_of, runs)
        publication.replace_day(warehouse.kr_scores, as_of, tables.kr_scores)
        publication.replace_day(warehouse.objective_scores, as_of, tables.objective_scores)
    stored = StoredValues(changes.values, publication.runs)
    return RunOutcome(as_of, tables, runs, checks, len(changes.inserted), stored)


def publish_days(
    engine: sa.Engine,
    project: Project,
    windows: dict[date, FetchWindow],
    fetches: dict[str, SourceFetch],
    checks: pd.DataFrame,
) -> Iterator[RunOutcome]:
    """Publish each day of a range from its cut of the fetches, oldest first, one
    transaction per day: a range stopped half way leaves its first days complete."""
    okrs, stored = frames_from_project(project), None
    by_day = dict(tuple(checks.groupby("as_of", sort=False))) if len(checks) else {}
    empty = pd.DataFrame(columns=CHECK_COLUMNS)
    for number, (day, cut) in enumerate(day_fetches(fetches, windows), start=1):
        day_checks = by_day.get(day, empty).reset_index(drop=True)
        outcome = publish(engine, okrs, day, cut, day_checks, stored)
        stored = outcome.stored
        log.info("published %s (%d of %d)", day, number, len(windows))
        yield outcome
