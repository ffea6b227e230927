"""What every connector shares: the fetch window, the result shapes, retries and redaction.

A connector turns one metric's config and a window into a frame `(ts, value)`, one row per
day: `ts` a midnight `datetime64[ns]` (a date in the project's timezone), `value` a float.
Expected failures of a source (connection, auth, timeout, HTTP error, malformed payload,
query error) are raised as `SourceError` and recorded per metric; they never stop the run.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from okr_pipeline.secrets import redact

log = logging.getLogger(__name__)
T = TypeVar("T")
SERIES_COLUMNS = ["ts", "value"]


@dataclass(frozen=True)
class FetchWindow:
    """The days a run asks a source for: `start` inclusive, `end` exclusive (as in SQL)."""

    start: date
    end: date
    as_of: date
    today: date

    @property
    def reads_point_in_time(self) -> bool:
        """Point-in-time readings describe now, so they are read only for today (SPEC 2).

        The day that just ended counts as today: the nightly run scores it a few hours
        after midnight, and a reading taken then describes that day's end. Older as-of
        dates keep the history already stored.
        """
        return self.as_of >= self.today - timedelta(days=1)


class SourceError(Exception):
    """An expected failure of a source; its message is short, user-facing and secret-free."""


class TransientSourceError(SourceError):
    """A failure worth retrying: a dropped connection, a 429, a 5xx."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class MetricFetch:
    metric_id: str
    series: pd.DataFrame | None = None
    error: str | None = None
    skipped: str | None = None
    point_in_time: bool = False

    @property
    def ok(self) -> bool:
        return self.series is not None

    def within(self, window: FetchWindow) -> MetricFetch:
        """What a fetch of `window`, inside the window this one fetched, would have returned."""
        if self.point_in_time and not window.reads_point_in_time:
            return MetricFetch(self.metric_id, skipped="point-in-time", point_in_time=True)
        if self.series is None:
            return self
        if self.point_in_time:  # a reading of now, stamped with the run's as-of date
            return replace(self, series=self.series.assign(ts=pd.Timestamp(window.as_of)))
        return replace(self, series=in_window(self.series, window))


@dataclass
class SourceFetch:
    """Everything one source returned for one window; becomes a row of `source_runs`."""

    source: str
    kind: str
    window: FetchWindow
    metrics: list[MetricFetch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if any(m.error for m in self.metrics):
            return "error"
        if self.metrics and all(m.skipped for m in self.metrics):
            return "skipped"
        return "ok"

    @property
    def rows(self) -> int:
        return sum(len(m.series) for m in self.metrics if m.series is not None)

    @property
    def message(self) -> str:
        """Each distinct error once, after the metrics it hit (`all 5 metrics` when all)."""
        by_error: dict[str, list[str]] = {}
        for metric in self.metrics:
            if metric.error:
                by_error.setdefault(metric.error, []).append(metric.metric_id)
        if by_error:
            return "; ".join(
                f"{_which(ids, len(self.metrics))}: {error}" for error, ids in by_error.items()
            )
        skipped = sorted({m.skipped for m in self.metrics if m.skipped})
        return "; ".join(f"skipped: {reason}" for reason in skipped)

    def within(self, window: FetchWindow) -> SourceFetch:
        """This fetch cut down to a window inside its own: what a run of `window.as_of` would
        have fetched. A backfill fetches a source once for its whole range and cuts each day
        from it, which holds because a source's value for a day does not depend on the
        window's bounds (SPEC 2: queries aggregate per day between :start and :end)."""
        metrics = [metric.within(window) for metric in self.metrics]
        return SourceFetch(self.source, self.kind, window, metrics, self.seconds)


def _which(metric_ids: list[str], total: int) -> str:
    return (
        f"all {total} metrics" if total > 1 and len(metric_ids) == total else ", ".join(metric_ids)
    )


def with_retries(action: Callable[[], T], retries: int, base_delay: float = 0.5) -> T:
    """Run `action`, retrying TransientSourceError with exponential backoff (or Retry-After)."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), 60.0)
        return wait_exponential(multiplier=base_delay, max=30)(state)

    retrying = Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait,
        retry=retry_if_exception_type(TransientSourceError),
        reraise=True,
        before_sleep=lambda state: log.info(
            "retrying after a transient failure (attempt %s)", state.attempt_number
        ),
    )
    return retrying(action)


def stacked(series: list[pd.DataFrame], column: str, dtype: str) -> np.ndarray:
    """One column of many series, end to end, as one numpy array."""
    parts = [frame[column].to_numpy(dtype=dtype) for frame in series]
    return np.concatenate(parts) if parts else np.array([], dtype=dtype)


def in_window(series: pd.DataFrame, window: FetchWindow) -> pd.DataFrame:
    """The rows of a series inside the window (and any row without a day, for the checks).

    A sorted series is cut by position, a view and no copy: a backfill cuts every series
    once per day, and building frames was most of a 92-day backfill (benchmarks/RESULTS.md).
    """
    ts = series["ts"].to_numpy()
    start, end = np.datetime64(window.start, "ns"), np.datetime64(window.end, "ns")
    if not np.isnat(ts).any() and (ts[1:] >= ts[:-1]).all():
        first, stop = np.searchsorted(ts, [start, end])
        return series if (first, stop) == (0, len(ts)) else series.iloc[first:stop]
    inside = ((ts >= start) & (ts < end)) | np.isnat(ts)
    return series if inside.all() else series[inside].reset_index(drop=True)


def to_series(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Normalize a raw (ts, value) frame: ts to a date in the project's timezone, value to float.

    Timezone-aware timestamps are converted to the project's timezone before truncation;
    naive ones are taken as already local. Raises SourceError for values that are not numbers
    or dates, so a malformed payload is a recorded failure, not a crash.
    """
    missing = [column for column in SERIES_COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(
            f"result has no column {', '.join(missing)} (columns: {list(frame.columns)})"
        )
    try:
        stamps = pd.to_datetime(frame["ts"], utc=False, format="mixed")
    except (ValueError, TypeError) as error:
        raise SourceError(f"ts is not a date: {error}") from None
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(timezone).dt.tz_localize(None)
    values = pd.to_numeric(frame["value"], errors="coerce")
    if (values.isna() & frame["value"].notna()).any():
        bad = frame["value"][values.isna() & frame["value"].notna()].iloc[0]
        raise SourceError(f"value is not a number: {bad!r}")
    return pd.DataFrame(
        {"ts": stamps.dt.normalize().astype("datetime64[ns]"), "value": values.astype("float64")}
    ).reset_index(drop=True)


class Connector(ABC):
    """One kind of source. Subclasses implement `fetch_metric`; the loop, timing, retries,
    point-in-time skipping and redaction are here, once."""

    def __init__(self, source: Any, project: Any):
        self.source = source
        self.project = project

    @abstractmethod
    def fetch_metric(self, metric: Any, window: FetchWindow) -> pd.DataFrame:
        """Return the raw (ts, value) frame of one metric for the window; raise SourceError."""

    def is_point_in_time(self, metric: Any) -> bool:
        return False

    def fetch(self, window: FetchWindow) -> SourceFetch:
        started = time.perf_counter()
        result = SourceFetch(self.source.name, self.source.kind, window)
        for metric in self.source.metrics:
            metric_id = f"{self.source.name}.{metric.name}"
            point_in_time = self.is_point_in_time(metric)
            if point_in_time and not window.reads_point_in_time:
                result.metrics.append(
                    MetricFetch(metric_id, skipped="point-in-time", point_in_time=True)
                )
                continue
            try:
                raw = with_retries(
                    lambda m=metric: self.fetch_metric(m, window), self.source.retries
                )
                series = to_series(raw, self.project.settings.timezone)
                series = (
                    series.assign(ts=pd.Timestamp(window.as_of))
                    if point_in_time
                    else in_window(series, window)  # a query may ignore :start and :end
                )
                result.metrics.append(
                    MetricFetch(metric_id, series=series, point_in_time=point_in_time)
                )
            except SourceError as error:
                message = redact(str(error), self.project.secrets)
                log.warning("metric %s failed: %s", metric_id, message)
                result.metrics.append(
                    MetricFetch(metric_id, error=message, point_in_time=point_in_time)
                )
        result.seconds = time.perf_counter() - started
        return result
