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
from collections.abc import Callable
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


def validate_series(
    series: dict[str, pd.DataFrame], checks: dict[str, Checks], as_of: date
) -> pd.DataFrame:
    """The checks of one as-of date: `validate_days` for a single day."""
    return validate_days({as_of: series}, checks)


def validate_days(
    days: dict[date, dict[str, pd.DataFrame]], checks: dict[str, Checks]
) -> pd.DataFrame:
    """One row per as-of date, metric and enabled check (the `metric_checks` table).

    `days` maps an as-of date to the series a run of that date fetched: metric id to its
    `(ts, value)` frame (see `sources.base`); `checks` holds the `checks:` of every metric.
    Each day is judged as its own run would judge it (freshness against that day), but all
    days share one GX validation while they fit in MAX_ROWS_PER_CALL rows: a backfill costs a
    few calls, not one per day. `observed` is a short text of what was seen; `message` a
    short sentence when the check failed, else None.
    """
    keyed = [
        (as_of, metric_id, frame)
        for as_of, series in days.items()
        for metric_id, frame in series.items()
    ]
    missing = sorted({metric_id for _, metric_id, _ in keyed if metric_id not in checks})
    if missing:
        raise ValueError(f"no checks for {', '.join(missing)}")
    rows = [row for chunk in _chunks(keyed) for row in _validate_chunk(chunk, checks)]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(CHECK_COLUMNS)
    dtypes = (object, None, None, bool, None, object)  # as_of dates; message None when passed
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=dtype)
            for name, values, dtype in zip(CHECK_COLUMNS, columns, dtypes, strict=True)
        }
    )


def _chunks(keyed: list[tuple[date, str, pd.DataFrame]]):
    """Consecutive runs of series of at most MAX_ROWS_PER_CALL rows (a longer one alone)."""
    chunk, rows = [], 0
    for item in keyed:
        if chunk and rows + len(item[2]) > MAX_ROWS_PER_CALL:
            yield chunk
            chunk, rows = [], 0
        chunk.append(item)
        rows += len(item[2])
    if chunk:
        yield chunk


def _validate_chunk(keyed: list[tuple[date, str, pd.DataFrame]], checks: dict[str, Checks]):
    """The metric_checks rows of some (as-of, metric) series, from one GX call."""
    rules = [checks[metric_id] for _, metric_id, _ in keyed]
    frame = long_frame(
        [series for _, _, series in keyed], rules, [pd.Timestamp(as_of) for as_of, _, _ in keyed]
    )
    failures = _run_suite(frame) if len(frame) else {check: {} for check in CHECKS}
    observed = _Observed(frame)
    for number, ((as_of, metric_id, _), rule) in enumerate(zip(keyed, rules, strict=True)):
        for check in _enabled(rule):
            success, seen, message = observed.outcome(check, number, rule, failures[check])
            yield as_of, metric_id, check, success, seen, message


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
    series: list[pd.DataFrame], rules: list[Checks], as_of: list[pd.Timestamp]
) -> pd.DataFrame:
    """All series stacked, sorted by metric then ts, with each metric's rules as columns.

    A metric is its position in `series` (`metric`): GX copies the frame for each filter it
    applies, and an integer column is cheaper to copy and hash than the metric id's text.
    `as_of[i]` is the as-of date series i is judged against (its freshness).
    """
    lengths = np.array([len(frame) for frame in series], dtype=np.int64)

    def per_metric(values: list[Any], dtype: Any) -> np.ndarray:
        return np.repeat(np.array(values, dtype=dtype), lengths)

    def threshold(values: list[float | int | None]) -> np.ndarray:
        return per_metric([np.nan if value is None else value for value in values], np.float64)

    frame = pd.DataFrame(
        {
            "metric": per_metric(list(range(len(series))), np.int64),
            "ts": stacked(series, "ts", "datetime64[ns]"),
            "value": stacked(series, "value", "float64"),
            "check_not_null": per_metric([rule.not_null for rule in rules], bool),
            "check_unique_ts": per_metric([rule.unique_ts for rule in rules], bool),
            "check_non_decreasing": per_metric([rule.non_decreasing for rule in rules], bool),
            "min_allowed": threshold([rule.min for rule in rules]),
            "max_allowed": threshold([rule.max for rule in rules]),
            "fresh_within_days": threshold([rule.fresh_within_days for rule in rules]),
            "as_of": per_metric(as_of, "datetime64[ns]"),
        }
    )
    frame = frame.sort_values(["metric", "ts"], kind="stable", ignore_index=True)
    filled = frame.groupby("metric", sort=False)["value"].ffill()
    frame["previous_value"] = filled.groupby(frame["metric"], sort=False).shift()
    known = frame[frame["value"].notna() & frame["ts"].notna()]
    newest = known.drop_duplicates("metric", keep="last")  # sorted by ts: the newest value
    frame["days_old"] = np.nan
    age = (newest["as_of"] - newest["ts"]).dt.days
    frame.loc[newest.index, "days_old"] = age.astype("float64")
    return frame.drop(columns="as_of")


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


def _run_suite(frame: pd.DataFrame) -> dict[str, dict[int, pd.DataFrame]]:
    """Validate the long frame once; the failing rows of each check, by metric."""
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
        rows = frame.loc[sorted(result.result["unexpected_index_list"])]
        failures[check] = dict(tuple(rows.groupby("metric", sort=False)))
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
    """Turns GX's failing rows, and what pandas saw in each series, into the text of a row."""

    def __init__(self, frame: pd.DataFrame):
        by_metric = frame[frame["value"].notna()].groupby("metric", sort=False)["value"]
        self.sizes = frame.groupby("metric", sort=False).size()
        self.lowest = _rows_at(frame, by_metric.idxmin())
        self.highest = _rows_at(frame, by_metric.idxmax())
        newest = frame[frame["days_old"].notna()]
        self.newest = _rows_at(frame, pd.Series(newest.index, index=newest["metric"]))
        self.nothing_failed = frame.iloc[:0]

    def outcome(
        self, check: str, metric: int, rule: Checks, failed: dict[int, pd.DataFrame]
    ) -> tuple[bool, str, str | None]:
        describe: Callable[..., tuple[bool, str, str | None]] = getattr(self, f"_{check}")
        if check != "fresh_within_days" and not self.sizes.get(metric, 0):
            return True, NO_VALUES, None
        return describe(metric, rule, failed.get(metric, self.nothing_failed))

    def _not_null(self, metric: int, rule: Checks, failed: pd.DataFrame):
        seen = _count(len(failed), "null value")
        if failed.empty:
            return True, seen, None
        first = failed.iloc[0]
        return False, seen, f"value is null on {_day(first.ts)}{_more(len(failed), 'value')}"

    def _finite(self, metric: int, rule: Checks, failed: pd.DataFrame):
        seen = _count(len(failed), "non-finite value")
        if failed.empty:
            return True, seen, None
        first = failed.iloc[0]
        message = (
            f"value on {_day(first.ts)} is not a finite number (NaN or ±Infinity)"
            f"{_more(len(failed), 'value')}"
        )
        return False, seen, message

    def _min(self, metric: int, rule: Checks, failed: pd.DataFrame):
        return self._extreme(self.lowest.get(metric), "min", rule.min, "below", failed)

    def _max(self, metric: int, rule: Checks, failed: pd.DataFrame):
        return self._extreme(self.highest.get(metric), "max", rule.max, "above", failed)

    def _extreme(self, row, name: str, limit: float, side: str, failed: pd.DataFrame):
        if row is None:
            return True, NO_VALUES, None
        seen = f"{name} {_number(row.value)} on {_day(row.ts)}"
        if failed.empty:
            return True, seen, None
        message = (
            f"value {_number(row.value)} on {_day(row.ts)} is {side} {name} {_number(limit)}"
            f"{_more(len(failed), 'value')}"
        )
        return False, seen, message

    def _fresh_within_days(self, metric: int, rule: Checks, failed: pd.DataFrame):
        allowed = _count(rule.fresh_within_days, "day")
        row = self.newest.get(metric)
        if row is None:
            return False, NO_VALUES, f"no values within {allowed} of the as-of date"
        age = _age(int(row.days_old))
        seen = f"newest {_day(row.ts)} ({age})"
        if failed.empty:
            return True, seen, None
        return False, seen, f"newest value on {_day(row.ts)} is {age}, more than {allowed}"

    def _unique_ts(self, metric: int, rule: Checks, failed: pd.DataFrame):
        if failed.empty:
            return True, _count(0, "duplicate day"), None
        days = failed["ts"].nunique(dropna=False)
        first = failed["ts"].iloc[0]
        repeats = int((failed["ts"] == first).sum()) if pd.notna(first) else len(failed)
        message = f"{repeats} values on {_day(first)}{_more(days, 'day')}"
        return False, _count(days, "duplicate day"), message

    def _non_decreasing(self, metric: int, rule: Checks, failed: pd.DataFrame):
        seen = _count(len(failed), "decrease")
        if failed.empty:
            return True, seen, None
        first = failed.iloc[0]
        message = (
            f"value fell from {_number(first.previous_value)} to {_number(first.value)} "
            f"on {_day(first.ts)}{_more(len(failed), 'decrease')}"
        )
        return False, seen, message


def _rows_at(frame: pd.DataFrame, rows: pd.Series) -> dict[int, Any]:
    """The frame's row `rows[metric]` of each metric, as a named tuple by metric."""
    picked = frame.loc[rows.to_numpy()]
    return dict(zip(rows.index, picked.itertuples(index=False), strict=True))


def _number(value: float) -> str:
    """1200.0 as "1200", 0.25 as "0.25": the way a person writes the number."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def _day(ts: pd.Timestamp) -> str:
    return ts.date().isoformat() if pd.notna(ts) else "an unknown day"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _more(number: int, noun: str) -> str:
    return f", and {_count(number - 1, 'more ' + noun)}" if number > 1 else ""


def _age(days: int) -> str:
    if days < 0:
        return f"{_count(-days, 'day')} after the as-of date"
    return f"{_count(days, 'day')} old"
