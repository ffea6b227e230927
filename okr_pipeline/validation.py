"""Great Expectations checks of fetched metric series: each metric's `checks:`.

Every metric of a run is validated by one Great Expectations call, whatever the number of
metrics (one call costs tens of milliseconds); a backfill's days share a few such calls. The
series are stacked into one long frame, one row per metric and day, and each metric's rules
travel as columns of that frame:

- `min_allowed`, `max_allowed`, `fresh_within_days`: the metric's threshold, null where the
  rule is off; a column-pair expectation compares the row with it and skips null thresholds.
- `check_not_null`, `check_unique_ts`, `check_non_decreasing`: the on/off rules, applied
  through `row_condition`s built from Condition objects. `finite` is always on: a source's
  NaN or +-Infinity reaches the frame as infinity (`sources.base.NOT_FINITE`).
- Helper columns where GX has no per-group expectation: `previous_value` (the metric's previous
  non-null value by ts) for non_decreasing, `days_old` (as-of minus ts, on the metric's newest
  value only) for freshness. Uniqueness is GX's own compound (metric, ts) expectation.

The suite is the same for every run, so it is built once per process, beside one ephemeral
context. GX judges; its unexpected row indices are mapped back to their metric. pandas only
describes what was observed (the lowest value, the newest day) for the `observed` text.

A series with no values gives GX nothing to look at: its freshness check fails ("no values")
and its other checks pass, with observed "no values".

Great Expectations is imported inside the functions that need it: importing it takes seconds,
and the CLI's `check` and `status` never validate anything.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from okr_pipeline.sources.base import stacked

if TYPE_CHECKING:
    from okr_pipeline.config.models import Checks

CHECK_COLUMNS = ["as_of", "metric_id", "check", "success", "observed", "message"]
CHECKS = (
    "not_null", "finite", "min", "max", "fresh_within_days", "unique_ts", "non_decreasing",
)  # fmt: skip
# Freshness labels late data `stale`; it never rejects it (docs/scoring.md, data problems).
LABELLING_CHECKS = frozenset({"fresh_within_days"})
LARGEST_FLOAT = float(np.finfo(np.float64).max)
NO_VALUES = "no values"
# A backfill's days share GX calls up to this many rows each: one call validated 365k rows in
# about a second here (benchmarks/validation.py); far larger frames only cost memory.
MAX_ROWS_PER_CALL = 500_000

_lock = threading.Lock()
_calls = 0


class ValidationError(RuntimeError):
    """Great Expectations could not evaluate an expectation: a bug, never bad data."""


def validation_calls() -> int:
    """How many Great Expectations validations this process has run (for tests and benchmarks)."""
    return _calls


@dataclass(frozen=True)
class Cut:
    """Rows `start:stop` of one series (positions in its ts order, whole days), judged as a
    run of `as_of` would judge them: a backfill day's part of a series fetched for its range."""

    as_of: date
    series: int
    start: int
    stop: int


def validate_series(
    series: dict[str, pd.DataFrame], checks: dict[str, Checks], as_of: date
) -> pd.DataFrame:
    """The checks of one as-of date: `validate_days` for a single day."""
    return validate_days({as_of: series}, checks)


def validate_days(
    days: dict[date, dict[str, pd.DataFrame]], checks: dict[str, Checks]
) -> pd.DataFrame:
    """`validate_cuts` of whole series: `days` maps an as-of date to the series a run of that
    date fetched, metric id to its `(ts, value)` frame (see `sources.base`)."""
    series = [(metric_id, frame) for day in days.values() for metric_id, frame in day.items()]
    whole = [(as_of, len(frame)) for as_of, day in days.items() for frame in day.values()]
    cuts = [Cut(as_of, number, 0, rows) for number, (as_of, rows) in enumerate(whole)]
    return validate_cuts(series, cuts, checks)


def validate_cuts(
    series: list[tuple[str, pd.DataFrame]], cuts: list[Cut], checks: dict[str, Checks]
) -> pd.DataFrame:
    """One row per cut and enabled check (the `metric_checks` table), in the order of `cuts`.

    `series` are (metric id, frame) pairs; `checks` holds the `checks:` of every metric. A
    backfill passes each series fetched for its range once, and one cut of it per day: every
    row is judged once, and each day counts the failing rows inside its cut, as a run of that
    day alone would have seen them. Series share one GX validation while they fit in
    MAX_ROWS_PER_CALL rows. `observed` is a short text of what was seen; `message` a short
    sentence when the check failed, else None.
    """
    missing = sorted({metric_id for metric_id, _ in series if metric_id not in checks})
    if missing:
        raise ValueError(f"no checks for {', '.join(missing)}")
    rows: list[list[tuple]] = [[] for _ in cuts]
    for part, numbers, part_cuts in _chunks(series, cuts):
        for number, cut_rows in zip(numbers, _validate_chunk(part, part_cuts, checks), strict=True):
            rows[number] = cut_rows
    flat = [row for cut_rows in rows for row in cut_rows]
    columns = list(zip(*flat, strict=True)) if flat else [()] * len(CHECK_COLUMNS)
    dtypes = (object, None, None, bool, None, object)  # as_of dates; message None when passed
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=dtype)
            for name, values, dtype in zip(CHECK_COLUMNS, columns, dtypes, strict=True)
        }
    )


def _chunks(series: list[tuple[str, pd.DataFrame]], cuts: list[Cut]):
    """Consecutive runs of series of at most MAX_ROWS_PER_CALL rows (a longer one alone),
    their cuts renumbered to the run: (series, numbers of their cuts in `cuts`)."""
    by_series: list[list[int]] = [[] for _ in series]
    for number, cut in enumerate(cuts):
        by_series[cut.series].append(number)
    chunk: list[int] = []
    rows = 0
    for index, (_, frame) in enumerate(series):
        size = len(frame) + len(by_series[index])  # a freshness row per cut
        if chunk and rows + size > MAX_ROWS_PER_CALL:
            yield _renumbered(series, chunk, by_series, cuts)
            chunk, rows = [], 0
        chunk.append(index)
        rows += size
    if chunk:
        yield _renumbered(series, chunk, by_series, cuts)


def _renumbered(series, chunk: list[int], by_series: list[list[int]], cuts: list[Cut]):
    first = chunk[0]  # a chunk is a run of consecutive series
    numbers = sorted(number for index in chunk for number in by_series[index])
    part_cuts = [
        Cut(cut.as_of, cut.series - first, cut.start, cut.stop)
        for cut in (cuts[number] for number in numbers)
    ]
    return series[first : chunk[-1] + 1], numbers, part_cuts


def _validate_chunk(
    series: list[tuple[str, pd.DataFrame]], cuts: list[Cut], checks: dict[str, Checks]
) -> list[list[tuple]]:
    """The metric_checks rows of each cut of some series, from one GX call."""
    rules = [checks[metric_id] for metric_id, _ in series]
    frame, layout = long_frame([data for _, data in series], rules, cuts)
    failures = _run_suite(frame) if len(frame) else None
    observed = _Observed(frame, layout, cuts, failures)
    # a backfill has a cut per day of every series: look up each series' checks once
    describers = [
        [(check, getattr(observed, f"_{check}")) for check in _enabled(rule)] for rule in rules
    ]
    rows = []
    for number, cut in enumerate(cuts):
        metric_id, rule = series[cut.series][0], rules[cut.series]
        empty = not observed.size[number]
        rows.append(
            [
                (cut.as_of, metric_id, check, True, NO_VALUES, None)
                if empty and check != "fresh_within_days"
                else (cut.as_of, metric_id, check, *describe(number, rule))
                for check, describe in describers[cut.series]
            ]
        )
    return rows


def failed_checks(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of `results` (CHECK_COLUMNS) whose check failed."""
    if results.empty:
        return results
    return results[~results["success"].astype(bool)]


def rejecting_failures(results: pd.DataFrame) -> pd.DataFrame:
    """The failed checks that reject their metric's data: all but freshness."""
    failed = failed_checks(results)
    return failed[~failed["check"].isin(LABELLING_CHECKS)] if len(failed) else failed


def rejected_metrics(results: pd.DataFrame) -> set[str]:
    """Metrics that failed a rejecting check: their data is rejected whole for the run."""
    return set(rejecting_failures(results)["metric_id"])


def long_frame(
    series: list[pd.DataFrame], rules: list[Checks], cuts: list[Cut]
) -> tuple[pd.DataFrame, _Layout]:
    """All series stacked, each sorted by ts (no day last), with its metric's rules as
    columns; then one freshness row per cut that holds a value, in the order of the cuts.
    Also where each cut lies in the series rows (`_Layout`), for describing what GX found.

    A series is its position in `series` (`metric`): GX copies the frame for each filter it
    applies, and an integer column is cheaper to copy and hash than the metric id's text.
    A row of a series may be the newest of several cuts, each with its own as-of date, so
    the age of a cut's newest value (`days_old`) sits on a row of its own (`cut` its number,
    the newest day as `ts`, no value, every other rule off); series rows have `cut` -1.
    """
    lengths = np.array([len(frame) for frame in series], dtype=np.int64)

    def per_metric(values: list[Any], dtype: Any) -> np.ndarray:
        return np.repeat(np.array(values, dtype=dtype), lengths)

    rows = pd.DataFrame(
        {
            "metric": per_metric(list(range(len(series))), np.int64),
            "ts": stacked(series, "ts", "datetime64[ns]"),
            "value": stacked(series, "value", "float64"),
            "check_not_null": per_metric([rule.not_null for rule in rules], bool),
            "check_unique_ts": per_metric([rule.unique_ts for rule in rules], bool),
            "check_non_decreasing": per_metric([rule.non_decreasing for rule in rules], bool),
            "min_allowed": per_metric(_thresholds(rules, "min"), np.float64),
            "max_allowed": per_metric(_thresholds(rules, "max"), np.float64),
            "fresh_within_days": per_metric(_thresholds(rules, "fresh_within_days"), np.float64),
        }
    )
    rows = rows.sort_values(["metric", "ts"], kind="stable", ignore_index=True)
    filled = rows.groupby("metric", sort=False)["value"].ffill()
    rows["previous_value"] = filled.groupby(rows["metric"], sort=False).shift()
    rows["days_old"] = np.nan
    rows["cut"] = np.int64(-1)
    layout = _Layout(rows, cuts)
    holding = np.flatnonzero(layout.newest >= 0)
    newest_ts = rows["ts"].to_numpy()[layout.newest[holding]]
    as_of = np.array([cuts[number].as_of for number in holding], dtype="datetime64[ns]")
    metric = layout.series[holding]
    freshness = pd.DataFrame(
        {
            "metric": metric,
            "ts": newest_ts,
            "value": np.nan,
            "check_not_null": False,
            "check_unique_ts": False,
            "check_non_decreasing": False,
            "min_allowed": np.nan,
            "max_allowed": np.nan,
            "fresh_within_days": np.array(_thresholds(rules, "fresh_within_days"))[metric],
            "previous_value": np.nan,
            "days_old": ((as_of - newest_ts) // np.timedelta64(1, "D")).astype(np.float64),
            "cut": holding,
        }
    )
    frame = pd.concat([rows, freshness], ignore_index=True) if len(freshness) else rows
    return frame, layout


def _thresholds(rules: list[Checks], name: str) -> list[float]:
    return [np.nan if getattr(rule, name) is None else getattr(rule, name) for rule in rules]


class _Layout:
    """Where each cut lies in the stacked series rows (sorted by series, then ts): rows
    `start:stop`, and `newest`, its last row with a value and a day (-1 when none)."""

    def __init__(self, rows: pd.DataFrame, cuts: list[Cut]):
        def of_cuts(name: str) -> np.ndarray:
            return np.array([getattr(cut, name) for cut in cuts], dtype=np.int64)

        self.series = of_cuts("series")
        first = np.searchsorted(rows["metric"].to_numpy(), self.series)
        self.start, self.stop = first + of_cuts("start"), first + of_cuts("stop")
        known = (rows["value"].notna() & rows["ts"].notna()).to_numpy()
        # latest[k]: the last row before k with a value and a day
        latest = np.maximum.accumulate(np.where(known, np.arange(len(rows)), -1))
        latest = np.concatenate([[-1], latest]).astype(np.int64)
        before_stop = latest[self.stop]
        self.newest = np.where(before_stop >= self.start, before_stop, -1)


def _enabled(rule: Checks) -> list[str]:
    on = {
        "not_null": rule.not_null,
        "finite": True,
        "min": rule.min is not None,
        "max": rule.max is not None,
        "fresh_within_days": rule.fresh_within_days is not None,
        "unique_ts": rule.unique_ts,
        "non_decreasing": rule.non_decreasing,
    }
    return [check for check in CHECKS if on[check]]


# ----------------------------------------------------------------- Great Expectations


@cache
def _gx() -> tuple[Any, Any]:
    """One ephemeral context per process: its whole-dataframe batch definition and the suite."""
    _quiet_loggers()  # importing GX logs, too
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_loggers()  # some GX modules set their own logger to INFO on import
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batches = (
        context.data_sources.add_pandas("okr_metrics")
        .add_dataframe_asset("series")
        .add_batch_definition_whole_dataframe("every_metric")
    )
    return batches, _suite()


def _quiet_loggers() -> None:
    """Keep GX's chatter (registrations, temporary directories) off the user's terminal."""
    names = ["great_expectations", *logging.root.manager.loggerDict]
    for name in names:
        if name.split(".")[0] == "great_expectations":
            logging.getLogger(name).setLevel(logging.ERROR)


def _suite():
    """The `checks:` rules as one suite over the long frame; `meta.check` names each one."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import (
        Column,
        ComparisonCondition,
        Operator,
    )

    expect = gx.expectations

    def switched_on(flag: str):
        return ComparisonCondition(column=Column(flag), operator=Operator.EQUAL, parameter=True)

    def at_least(column_a: str, column_b: str, check: str, **options: Any):
        return expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=column_a,
            column_B=column_b,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"check": check},
            **options,
        )

    return gx.ExpectationSuite(
        name="metric_checks",
        expectations=[
            expect.ExpectColumnValuesToNotBeNull(
                column="value",
                row_condition=switched_on("check_not_null"),
                meta={"check": "not_null"},
            ),
            expect.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=-LARGEST_FLOAT,
                max_value=LARGEST_FLOAT,
                meta={"check": "finite"},
            ),
            at_least("value", "min_allowed", "min"),
            at_least("max_allowed", "value", "max"),
            at_least("fresh_within_days", "days_old", "fresh_within_days"),
            expect.ExpectCompoundColumnsToBeUnique(
                column_list=["metric", "ts"],
                row_condition=switched_on("check_unique_ts"),
                meta={"check": "unique_ts"},
            ),
            at_least(
                "value",
                "previous_value",
                "non_decreasing",
                row_condition=switched_on("check_non_decreasing"),
            ),
        ],
    )


def _run_suite(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Validate the long frame once; for each check, which of its rows failed."""
    global _calls
    with _lock:
        batches, suite = _gx()
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        _calls += 1
        outcome = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
    failures = {}
    for result in outcome.results:
        check = result.expectation_config.meta["check"]
        if "unexpected_index_list" not in result.result:
            raise ValidationError(f"check {check} could not run: {_gx_error(result)}")
        failed = np.zeros(len(frame), dtype=bool)
        failed[np.asarray(result.result["unexpected_index_list"], dtype=np.int64)] = True
        failures[check] = failed
    if set(failures) != set(CHECKS):
        raise ValidationError(f"GX reported no result for {sorted(set(CHECKS) - set(failures))}")
    return failures


def _gx_error(result: Any) -> str:
    """The exception behind a result GX could not compute.

    GX reports it in two shapes: one `{raised_exception, exception_message, ...}` dict, or,
    when metrics failed to resolve, a dict of ExceptionInfo objects by metric.
    """
    info = result.exception_info or {}
    if "exception_message" in info:
        return str(info["exception_message"])
    return "; ".join(str(getattr(item, "exception_message", item)) for item in info.values())


# ----------------------------------------------------------------- observed and message


class _Observed:
    """What each cut holds, from GX's failing rows and the values themselves.

    Counts are running sums over the stacked rows, and firsts a search among the failing
    rows, so a cut costs the same whether it spans one day or a year.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        layout: _Layout,
        cuts: list[Cut],
        failures: dict[str, np.ndarray] | None,
    ):
        # the series rows come first, then a freshness row per cut holding a value
        series_rows = len(frame) - int((layout.newest >= 0).sum())
        rows, freshness = frame.iloc[:series_rows], frame.iloc[series_rows:]
        self.layout = layout
        self.size = (layout.stop - layout.start).tolist()
        failed = {
            check: failures[check][:series_rows] if failures else np.zeros(len(rows), dtype=bool)
            for check in CHECKS
        }
        value, ts = rows["value"].to_numpy(), rows["ts"].to_numpy()
        self.value, self.previous = value.tolist(), rows["previous_value"].tolist()
        self.day = np.where(np.isnat(ts), "an unknown day", np.datetime_as_string(ts, "D"))
        self.day = self.day.tolist()
        self.count, self.first = {}, {}
        for check in ("not_null", "finite", "min", "max", "unique_ts", "non_decreasing"):
            self.count[check], self.first[check] = self._failing(failed[check])
        self._skip_first_comparison(failed["non_decreasing"], value)
        self.lowest = self._extreme(value)
        self.highest = self._extreme(-value)
        self._duplicates(failed["unique_ts"], rows["metric"].to_numpy(), ts)
        self.count = {check: count.tolist() for check, count in self.count.items()}
        self.first = {check: first.tolist() for check, first in self.first.items()}
        self.newest = layout.newest.tolist()
        at_cut = freshness["cut"].to_numpy()
        stale = np.zeros(len(cuts), dtype=bool)
        if failures:
            stale[at_cut] = failures["fresh_within_days"][series_rows:]
        self.stale = stale.tolist()
        days_old = np.zeros(len(cuts), dtype=np.int64)
        days_old[at_cut] = freshness["days_old"].to_numpy(dtype=np.int64)
        self.days_old = days_old.tolist()

    def _failing(self, failed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cut: how many of its rows failed, and the first that did (-1 when none)."""
        running = np.concatenate([[0], np.cumsum(failed)])
        count = running[self.layout.stop] - running[self.layout.start]
        positions = np.append(np.flatnonzero(failed), len(failed))
        first = positions[np.searchsorted(positions, self.layout.start)]
        return count, np.where(count > 0, first, -1)

    def _skip_first_comparison(self, failed: np.ndarray, value: np.ndarray) -> None:
        """A cut's first value has no previous value inside the cut, so the fall GX saw from
        a value before the cut does not count (non_decreasing)."""
        known = np.append(np.flatnonzero(~np.isnan(value)), len(value))
        first_value = known[np.searchsorted(known, self.layout.start)]
        padded = np.append(failed, False)
        lost = (first_value < self.layout.stop) & padded[first_value]
        count = self.count["non_decreasing"] - lost
        positions = np.append(np.flatnonzero(failed), len(failed))
        after = np.searchsorted(positions, self.layout.start) + lost
        first = positions[np.minimum(after, len(positions) - 1)]
        self.count["non_decreasing"] = count
        self.first["non_decreasing"] = np.where(count > 0, first, -1)

    def _extreme(self, key: np.ndarray) -> list[int]:
        """Per cut, the row of the lowest `key` with a value (the first of equals), or -1."""
        order = np.lexsort((np.arange(len(key)), key))  # NaN last
        rank = np.empty(len(key), dtype=np.int64)
        rank[order] = np.arange(len(key))
        rank[np.isnan(key)] = len(key)
        bounds = np.stack([self.layout.start, self.layout.stop], axis=1).ravel()
        if not len(bounds):
            return []
        best = np.minimum.reduceat(np.append(rank, len(key)), bounds)[::2]
        found = (self.layout.stop > self.layout.start) & (best < len(key))
        return np.where(found, np.append(order, -1)[np.minimum(best, len(key))], -1).tolist()

    def _duplicates(self, failed: np.ndarray, metric: np.ndarray, ts: np.ndarray) -> None:
        """Per cut: its duplicated days, and how many failing rows share the first one."""
        if not len(ts):  # no rows: every cut is empty
            self.duplicate_days = self.repeats = [0] * len(self.size)
            return
        day = ts.view(np.int64)  # NaT is one value here, as for pandas' nunique(dropna=False)
        new_day = np.ones(len(day), dtype=bool)
        new_day[1:] = (metric[1:] != metric[:-1]) | (day[1:] != day[:-1])
        starts = failed & new_day
        running = np.concatenate([[0], np.cumsum(starts)])
        # a cut holds whole days
        self.duplicate_days = running[self.layout.stop] - running[self.layout.start]
        run = np.cumsum(new_day) - 1
        run_end = np.append(np.flatnonzero(new_day)[1:], len(day))
        fails = np.concatenate([[0], np.cumsum(failed)])
        first = self.first["unique_ts"]
        safe = np.maximum(first, 0)
        same_day = fails[run_end[run[safe]]] - fails[safe]
        self.repeats = np.where(np.isnat(ts[safe]), self.count["unique_ts"], same_day).tolist()
        self.duplicate_days = self.duplicate_days.tolist()

    def _failed(self, check: str, cut: int) -> tuple[int, int]:
        return self.count[check][cut], self.first[check][cut]

    def _not_null(self, cut: int, rule: Checks):
        count, first = self._failed("not_null", cut)
        seen = _count(count, "null value")
        if not count:
            return True, seen, None
        return False, seen, f"value is null on {self.day[first]}{_more(count, 'value')}"

    def _finite(self, cut: int, rule: Checks):
        count, first = self._failed("finite", cut)
        seen = _count(count, "non-finite value")
        if not count:
            return True, seen, None
        message = (
            f"value on {self.day[first]} is not a finite number (NaN or ±Infinity)"
            f"{_more(count, 'value')}"
        )
        return False, seen, message

    def _min(self, cut: int, rule: Checks):
        return self._bound(self.lowest[cut], "min", rule.min, "below", cut)

    def _max(self, cut: int, rule: Checks):
        return self._bound(self.highest[cut], "max", rule.max, "above", cut)

    def _bound(self, row: int, name: str, limit: float, side: str, cut: int):
        if row < 0:
            return True, NO_VALUES, None
        count, _ = self._failed(name, cut)
        extreme, day = _number(self.value[row]), self.day[row]
        seen = f"{name} {extreme} on {day}"
        if not count:
            return True, seen, None
        message = (
            f"value {extreme} on {day} is {side} {name} {_number(limit)}{_more(count, 'value')}"
        )
        return False, seen, message

    def _fresh_within_days(self, cut: int, rule: Checks):
        allowed = _count(rule.fresh_within_days, "day")
        row = self.newest[cut]
        if row < 0:
            return False, NO_VALUES, f"no values within {allowed} of the as-of date"
        age, day = _age(self.days_old[cut]), self.day[row]
        seen = f"newest {day} ({age})"
        if not self.stale[cut]:
            return True, seen, None
        return False, seen, f"newest value on {day} is {age}, more than {allowed}"

    def _unique_ts(self, cut: int, rule: Checks):
        count, first = self._failed("unique_ts", cut)
        if not count:
            return True, _count(0, "duplicate day"), None
        days = self.duplicate_days[cut]
        message = f"{self.repeats[cut]} values on {self.day[first]}{_more(days, 'day')}"
        return False, _count(days, "duplicate day"), message

    def _non_decreasing(self, cut: int, rule: Checks):
        count, first = self._failed("non_decreasing", cut)
        seen = _count(count, "decrease")
        if not count:
            return True, seen, None
        message = (
            f"value fell from {_number(self.previous[first])} to {_number(self.value[first])} "
            f"on {self.day[first]}{_more(count, 'decrease')}"
        )
        return False, seen, message


def _number(value: float) -> str:
    """1200.0 as "1200", 0.25 as "0.25": the way a person writes the number."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _more(number: int, noun: str) -> str:
    return f", and {_count(number - 1, 'more ' + noun)}" if number > 1 else ""


def _age(days: int) -> str:
    if days < 0:
        return f"{_count(-days, 'day')} after the as-of date"
    return f"{_count(days, 'day')} old"
