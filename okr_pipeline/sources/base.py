"""What every connector shares: the fetch window, the result shapes, retries and redaction.

A connector turns one metric's config and a window into a frame `(ts, value)`, one row per
day: `ts` a midnight `datetime64[ns]` (a date in the project's timezone), `value` a float.
Expected failures of a source (connection, auth, timeout, HTTP error, malformed payload,
query error) are raised as `SourceError` and recorded per metric; they never stop the run.
A value that is not a finite number (NaN, +-Infinity, an integer above 1e308) is kept in
the series as NOT_FINITE, for the `finite` check to reject the metric's data.
"""

from __future__ import annotations

import logging
import math
import re
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

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
from okr_pipeline.text import inert

log = logging.getLogger(__name__)
T = TypeVar("T")
SERIES_COLUMNS = ["ts", "value"]
NOT_FINITE = math.inf  # how a series holds a value that is no finite number
EPOCH_TEXT = re.compile(r"^\d{9,}(\.\d+)?$")  # epoch seconds written as text; 8 digits is a date


@dataclass(frozen=True)
class FetchWindow:
    """The days a run asks a source for: `start` inclusive, `end` exclusive (as in SQL)."""

    start: date
    end: date
    as_of: date
    today: date

    @cached_property
    def bounds(self) -> np.ndarray:
        """`start` and `end` as datetime64[ns]: a backfill cuts every series by them."""
        return np.array([self.start, self.end], dtype="datetime64[ns]")

    @property
    def reads_point_in_time(self) -> bool:
        """Point-in-time readings describe now, so they are read only for today.

        The day that just ended counts as today: the nightly run scores it a few hours
        after midnight, and a reading taken then describes that day's end. Older as-of
        dates keep the history already stored.
        """
        return self.as_of >= self.today - timedelta(days=1)


class SourceError(Exception):
    """An expected failure of a source; its message is short, user-facing and secret-free."""


class RejectedData(Exception):
    """The source answered, but with data no run can use (none of it inside the window):
    the metric is `invalid`, as when its data fails a check."""


class TransientSourceError(SourceError):
    """A failure worth retrying: a dropped connection, a 429, a 5xx."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class MetricFetch:
    """One metric's part of a fetch: its series, or why there is none (exactly one of
    `columns`, `error`, `rejected` and `skipped` is set).

    The series is held as two numpy arrays, `(ts, value)`: a backfill cuts every series once
    a day, and a cut of two arrays is a view, where a cut of a frame cost more than the rest
    of the day's work on it (benchmarks/RESULTS.md). `series` is the same as a frame.
    """

    metric_id: str
    columns: tuple[np.ndarray, np.ndarray] | None = None  # datetime64[ns] ts, float64 value
    error: str | None = None  # the source failed: data_status source_error
    rejected: str | None = None  # the source answered with unusable data: invalid
    skipped: str | None = None
    point_in_time: bool = False
    traceback: str | None = None  # of an unexpected exception, for the Dagster event log

    @classmethod
    def of_series(
        cls, metric_id: str, series: pd.DataFrame, point_in_time: bool = False
    ) -> MetricFetch:
        """A fetched `(ts, value)` frame (see `to_series`)."""
        ts = series["ts"].to_numpy(dtype="datetime64[ns]")
        value = series["value"].to_numpy(dtype="float64")
        return cls(metric_id, columns=(ts, value), point_in_time=point_in_time)

    @property
    def ok(self) -> bool:
        return self.columns is not None

    @property
    def rows(self) -> int:
        return len(self.columns[0]) if self.columns is not None else 0

    @property
    def series(self) -> pd.DataFrame | None:
        if self.columns is None:
            return None
        ts, value = self.columns
        return pd.DataFrame({"ts": ts, "value": value}, copy=False)

    def within(self, window: FetchWindow) -> MetricFetch:
        """What a fetch of `window`, inside the window this one fetched, would have returned."""
        if self.point_in_time and not window.reads_point_in_time:
            return MetricFetch(self.metric_id, skipped="point-in-time", point_in_time=True)
        if self.columns is None:
            return self
        ts, value = self.columns
        if self.point_in_time:  # a reading of now, stamped with the run's as-of date
            now = np.full(len(ts), np.datetime64(window.as_of, "ns"))
            return replace(self, columns=(now, value))
        rows = self.rows_within(window)
        if rows is not None:
            kept = slice(*rows)
        else:
            start, end = window.bounds
            kept = ((ts >= start) & (ts < end)) | np.isnat(ts)  # a row without a day, for checks
        return replace(self, columns=(ts[kept], value[kept]))

    def rows_within(self, window: FetchWindow) -> tuple[int, int] | None:
        """Where `within(window)` lies in the series, when it is a slice of it: the series
        ascends by day and is no point-in-time reading. Else None."""
        if self.columns is None or self.point_in_time or not self._ascending:
            return None
        first, stop = self.columns[0].searchsorted(window.bounds).tolist()
        return first, stop

    @cached_property
    def _ascending(self) -> bool:
        """Whether the days ascend with no null (then a window is a slice)."""
        ts = self.columns[0]
        return bool(not np.isnat(ts).any() and (ts[1:] >= ts[:-1]).all())


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
        return sum(metric.rows for metric in self.metrics)

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
        window's bounds (queries aggregate per day between :start and :end)."""
        metrics = [metric.within(window) for metric in self.metrics]
        return SourceFetch(self.source, self.kind, window, metrics, self.seconds)


def _which(metric_ids: list[str], total: int) -> str:
    return (
        f"all {total} metrics" if total > 1 and len(metric_ids) == total else ", ".join(metric_ids)
    )


def with_retries(
    action: Callable[[], T], retries: int, deadline: float = math.inf, base_delay: float = 0.5
) -> T:
    """Run `action`, retrying TransientSourceError with exponential backoff (or Retry-After),
    never waiting past `deadline` (a time.monotonic() value) for another attempt."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), 60.0)
        return wait_exponential(multiplier=base_delay, max=30)(state)

    def out_of_time(state: RetryCallState) -> bool:
        return time.monotonic() + (state.upcoming_sleep or 0) >= deadline

    retrying = Retrying(
        stop=stop_after_attempt(retries + 1) | out_of_time,
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


def local_stamp(raw: Any, timezone: str) -> datetime | None:
    """A raw ts as a naive local datetime, None for a null, ValueError for what is no date.

    A date or an ISO text is taken as written (local time); a timestamp with an offset is
    converted to the project's timezone; a number, or digits of 9 or more, is epoch
    seconds. Python's datetime spans the years 1 to 9999, so an open-end sentinel such as
    `9999-12-31` parses (and is then dropped as outside the window) instead of overflowing
    pandas' nanosecond range.
    """
    if raw is None or raw is pd.NaT or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, np.datetime64):
        raw = pd.Timestamp(raw).to_pydatetime()
    if isinstance(raw, datetime):
        stamp = raw
    elif isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, int | float | np.integer | np.floating) or (
        isinstance(raw, str) and EPOCH_TEXT.match(raw.strip())
    ):
        try:
            stamp = datetime.fromtimestamp(float(raw), UTC)
        except (OverflowError, OSError) as error:
            raise ValueError(raw) from error
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            stamp = pd.Timestamp(text).to_pydatetime()  # other spellings: "Nov 20, 2026"
    else:
        raise ValueError(raw)
    if stamp.tzinfo is None:
        return stamp
    try:
        return stamp.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    except OverflowError:  # an offset at year 1 or 9999: outside any window anyway
        return stamp.replace(tzinfo=None)


def finite_number(raw: Any) -> float:
    """A raw value as a float: NaN for a null; NOT_FINITE for NaN, +-Infinity or a number
    too large for a float; ValueError for what is no number."""
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return math.nan
    if isinstance(raw, str):
        raw = raw.strip()
        if not raw:
            return math.nan
    try:
        number = float(raw)
    except OverflowError:  # an integer above 1e308
        return NOT_FINITE
    except (TypeError, ValueError):
        raise ValueError(raw) from None
    return number if math.isfinite(number) else NOT_FINITE


def _shown(raw: Any) -> str:
    return repr(inert(str(raw), 40)) if isinstance(raw, str) else inert(str(raw), 40)


def window_rows(
    stamps: Sequence[Any],
    values: Sequence[Any],
    timezone: str,
    window: FetchWindow,
    *,
    where: Callable[[int], str] | None = None,
    names: tuple[str, str] = ("ts", "value"),
    quote_cells: bool = True,
) -> pd.DataFrame:
    """Raw (ts, value) pairs to `(stamp, ts, value)`: the rows dated inside the window.

    Rows outside the window are dropped before any conversion to pandas, whatever their
    date, so no sentinel can overflow. Raises SourceError for a ts that is no date or a
    value that is no number, and RejectedData when rows came back and none of them is
    dated inside the window: a ts misread as a date far away (`20261130` as epoch seconds
    is 1970) must not look like a quiet day. A row with a null ts is kept, for the checks.

    Messages name a row by `where(i)` (default `row i`) and its fields by `names`, and
    quote the raw cell unless `quote_cells` is false: a file's cells are never quoted, as
    a misconfigured path may point at a file of secrets.
    """
    where = where or (lambda number: f"row {number + 1}")

    def cell(raw: Any) -> str:
        return f": {_shown(raw)}" if quote_cells else ""

    first, last = datetime.combine(window.start, clock.min), datetime.combine(window.end, clock.min)
    kept_stamps: list[datetime | None] = []
    kept_values: list[float] = []
    for number, (raw_ts, raw_value) in enumerate(zip(stamps, values, strict=True)):
        try:
            stamp = local_stamp(raw_ts, timezone)
        except (ValueError, TypeError, OverflowError):
            raise SourceError(f"{where(number)}: {names[0]} is not a date{cell(raw_ts)}") from None
        if stamp is not None and not first <= stamp < last:
            continue
        try:
            kept_values.append(finite_number(raw_value))
        except ValueError:
            raise SourceError(
                f"{where(number)}: {names[1]} is not a number{cell(raw_value)}"
            ) from None
        kept_stamps.append(stamp)
    if len(stamps) and not kept_stamps:
        latest = window.end - timedelta(1)
        first_day = local_stamp(stamps[0], timezone)
        seen = _shown(stamps[0]) if quote_cells else f"dated {first_day:%Y-%m-%d}"
        raise RejectedData(
            f"none of the {len(stamps)} rows is dated inside {window.start} .. {latest}; "
            f"the first ({where(0)}) is {seen}"
        )
    stamp_column = pd.Series(kept_stamps, dtype="datetime64[ns]")
    return pd.DataFrame(
        {
            "stamp": stamp_column,
            "ts": stamp_column.dt.normalize(),
            "value": np.array(kept_values, dtype=np.float64),
        }
    )


def to_series(frame: pd.DataFrame, timezone: str, window: FetchWindow) -> pd.DataFrame:
    """A raw (ts, value) frame as a series of the window (see `window_rows`).

    In an object column (what the SQL connector returns) a NaN is a value the source sent,
    so it is NOT_FINITE; in a float column NaN is how pandas holds a null.
    """
    missing = [column for column in SERIES_COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(
            f"result has no column {', '.join(missing)} (columns: {list(frame.columns)})"
        )
    values = frame["value"]
    if pd.api.types.is_float_dtype(values):  # a float column cannot tell NaN from null: null
        values = values.astype(object).where(values.notna(), None)
    rows = window_rows(frame["ts"].tolist(), values.tolist(), timezone, window)
    return rows[SERIES_COLUMNS]


def unexpected(error: BaseException) -> str:
    """An exception nobody planned for, in one line: `unexpected MemoryError`."""
    detail = str(error).strip()
    return f"unexpected {type(error).__name__}" + (f": {detail}" if detail else "")


class Connector(ABC):
    """One kind of source. Subclasses implement `fetch_metric`; the loop, the source's
    deadline, retries, point-in-time skipping, window cutting and redaction are here, once.

    Whatever one metric's fetch raises stays with that metric: an expected failure
    (SourceError) is recorded with its message; anything else, a bug or a MemoryError
    included, is recorded as `unexpected <class>: <message>` with its traceback kept for
    the Dagster event log. Either way the other metrics and sources go on.
    """

    def __init__(self, source: Any, project: Any):
        self.source = source
        self.project = project
        self.deadline = math.inf  # time.monotonic() by which the whole source must be done

    @abstractmethod
    def fetch_metric(self, metric: Any, window: FetchWindow) -> pd.DataFrame:
        """Return the raw (ts, value) frame of one metric for the window; raise SourceError."""

    def is_point_in_time(self, metric: Any) -> bool:
        return False

    def remaining_seconds(self) -> float:
        """Time left before the source's deadline (`deadline_minutes`); raises SourceError
        once it has passed, so no request starts after it."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SourceError(self.deadline_message())
        return left

    def deadline_message(self) -> str:
        return f"the source's deadline of {self.source.deadline_minutes:g} min passed"

    def fetch(self, window: FetchWindow) -> SourceFetch:
        started = time.perf_counter()
        self.deadline = time.monotonic() + self.source.deadline_minutes * 60
        result = SourceFetch(self.source.name, self.source.kind, window)
        for metric in self.source.metrics:
            metric_id = f"{self.source.name}.{metric.name}"
            point_in_time = self.is_point_in_time(metric)
            if point_in_time and not window.reads_point_in_time:
                result.metrics.append(
                    MetricFetch(metric_id, skipped="point-in-time", point_in_time=True)
                )
                continue
            result.metrics.append(self._fetch_one(metric, metric_id, window, point_in_time))
        result.seconds = time.perf_counter() - started
        return result

    def _fetch_one(
        self, metric: Any, metric_id: str, window: FetchWindow, point_in_time: bool
    ) -> MetricFetch:
        def clean(text: str) -> str:
            return inert(redact(text, self.project.secrets))

        try:
            self.remaining_seconds()
            raw = with_retries(
                lambda: self.fetch_metric(metric, window), self.source.retries, self.deadline
            )
            if point_in_time:
                raw = raw.assign(ts=pd.Timestamp(window.as_of))
            series = to_series(raw, self.project.settings.timezone, window)
            return MetricFetch.of_series(metric_id, series, point_in_time)
        except RejectedData as error:
            message = clean(str(error))
            log.warning("metric %s rejected: %s", metric_id, message)
            return MetricFetch(metric_id, rejected=message, point_in_time=point_in_time)
        except SourceError as error:
            message = clean(str(error))
            log.warning("metric %s failed: %s", metric_id, message)
            return MetricFetch(metric_id, error=message, point_in_time=point_in_time)
        except Exception as error:  # a bug or an exhausted machine: still this metric's alone
            message = clean(unexpected(error))
            trace = redact(traceback.format_exc(), self.project.secrets)
            log.warning("metric %s failed: %s", metric_id, message)
            return MetricFetch(
                metric_id, error=message, point_in_time=point_in_time, traceback=trace
            )
