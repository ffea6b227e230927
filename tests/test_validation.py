"""Checks of metric series (a metric's `checks:`), run by Great Expectations over whole frames.

Most cases share one validation of many metrics (module-scoped), which is also how a run calls
it: GX judges them all at once, and each metric's rows must come out as if it were alone. The
expected texts are written by hand from the data in each case.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from okr_pipeline import validation
from okr_pipeline.config.models import Checks
from okr_pipeline.validation import (
    CHECK_COLUMNS,
    Cut,
    ValidationError,
    _run_suite,
    long_frame,
    rejected_metrics,
    validate_cuts,
    validate_days,
    validate_series,
    validation_calls,
)

AS_OF = date(2026, 11, 25)
NAN = np.nan
ROOT = Path(__file__).resolve().parents[1]


def series(days: list[str], values: list[float]) -> pd.DataFrame:
    """A frame as a connector returns it: midnight datetime64[ns] ts, float64 value."""
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(pd.Series(days, dtype=object)).astype("datetime64[ns]"),
            "value": np.array(values, dtype="float64"),
        }
    )


def days(first: str, count: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(offset)).isoformat() for offset in range(count)]


MRR = series(days("2026-10-01", 5), [150, 50, 1200, 900, 1100])

CASES: dict[str, tuple[pd.DataFrame, Checks]] = {
    "app.clean": (
        series(days("2026-11-21", 4), [10, 12, 12, 15]),
        Checks(min=0, max=100, fresh_within_days=2, non_decreasing=True),
    ),
    "app.nulls": (series(days("2026-11-22", 3), [1, NAN, NAN]), Checks()),
    "app.one_null": (series(days("2026-11-23", 2), [5, NAN]), Checks()),
    # The same values under three pairs of thresholds: only the rules differ per metric.
    "billing.mrr": (MRR, Checks(min=100, max=1000)),
    "billing.mrr_wide": (MRR.copy(), Checks(min=0, max=2000)),
    "billing.mrr_edges": (MRR.copy(), Checks(min=50, max=1200)),
    "billing.ratio": (series(days("2026-11-01", 2), [0.25, 1.5]), Checks(max=1.2)),
    # as-of 2026-11-25: 2026-11-22 is 3 days old, 2026-11-21 is 4.
    "ops.fresh_edge": (series(["2026-11-20", "2026-11-22"], [1, 2]), Checks(fresh_within_days=3)),
    "ops.stale_edge": (series(["2026-11-20", "2026-11-21"], [1, 2]), Checks(fresh_within_days=3)),
    "ops.today": (series(["2026-11-25"], [7]), Checks(fresh_within_days=0)),
    # A null is not a value: the newest value is 2026-11-24's, 1 day old.
    "ops.null_tail": (
        series(days("2026-11-23", 3), [1, 2, NAN]),
        Checks(not_null=False, fresh_within_days=0),
    ),
    "ops.dups": (
        series(
            ["2026-11-20", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-22", "2026-11-22"],
            [1, 2, 3, 4, 5, 6],
        ),
        Checks(),
    ),
    "ops.dups_allowed": (
        series(["2026-11-20", "2026-11-20", "2026-11-21"], [1, 2, 3]),
        Checks(unique_ts=False),
    ),
    "sales.total": (
        series(days("2026-11-20", 5), [10, 12, 11, 11, 15]),
        Checks(non_decreasing=True),
    ),
    # Compared with the previous non-null value: 10 -> 8 falls, 8 -> 9 rises, 9 -> 7 falls.
    "sales.gap": (
        series(days("2026-11-20", 5), [10, NAN, 8, 9, 7]),
        Checks(not_null=False, non_decreasing=True),
    ),
    # Out of order as fetched; by ts it is 10, 20, 30.
    "sales.unsorted": (
        series(["2026-11-24", "2026-11-22", "2026-11-23"], [30, 10, 20]),
        Checks(non_decreasing=True),
    ),
    "ext.empty": (series([], []), Checks(min=0, fresh_within_days=2, non_decreasing=True)),
    "ext.empty_no_freshness": (series([], []), Checks()),
    "ext.all_null": (series(days("2026-11-23", 2), [NAN, NAN]), Checks(min=0, fresh_within_days=5)),
    "ext.no_checks": (
        series(["2026-01-01", "2026-01-01"], [NAN, -5]),
        Checks(not_null=False, unique_ts=False),
    ),
}


@pytest.fixture(scope="module")
def silent_run():
    """A validation in a fresh interpreter, started first so that it overlaps the others."""
    script = textwrap.dedent(
        """
        import logging
        import sys
        from datetime import date

        import pandas as pd

        logging.basicConfig(level=logging.DEBUG)
        from okr_pipeline.config.models import Checks
        from okr_pipeline import validation

        assert "great_expectations" not in sys.modules, "imported on module import"
        frame = pd.DataFrame(
            {"ts": pd.to_datetime(["2026-11-01", "2026-11-02"]), "value": [5.0, None]}
        )
        checks = Checks(max=1, fresh_within_days=0, non_decreasing=True)
        results = validation.validate_series({"a.b": frame}, {"a.b": checks}, date(2026, 11, 2))
        print(sorted(validation.rejected_metrics(results)), validation.validation_calls())
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def results(silent_run) -> pd.DataFrame:
    """Every case of CASES validated together, as a run validates all its metrics."""
    before = validation_calls()
    frame = validate_series(
        {metric_id: data for metric_id, (data, _) in CASES.items()},
        {metric_id: rules for metric_id, (_, rules) in CASES.items()},
        AS_OF,
    )
    assert validation_calls() - before == 1
    return frame


def outcome(results: pd.DataFrame, metric_id: str, check: str) -> tuple[bool, str, str | None]:
    found = results[(results["metric_id"] == metric_id) & (results["check"] == check)]
    assert len(found) == 1, f"{len(found)} rows for {metric_id} {check}"
    row = found.iloc[0]
    return bool(row["success"]), row["observed"], row["message"]


def checks_of(results: pd.DataFrame, metric_id: str) -> list[str]:
    return results.loc[results["metric_id"] == metric_id, "check"].tolist()


# ------------------------------------------------------------------- shape


def test_one_row_per_metric_and_enabled_check(results):
    assert list(results.columns) == CHECK_COLUMNS
    assert results["as_of"].map(type).eq(date).all() and set(results["as_of"]) == {AS_OF}
    assert results["success"].dtype == bool
    assert not results.duplicated(["metric_id", "check"]).any()
    assert checks_of(results, "app.clean") == [
        "not_null",
        "finite",
        "min",
        "max",
        "fresh_within_days",
        "unique_ts",
        "non_decreasing",
    ]
    assert checks_of(results, "app.nulls") == ["not_null", "finite", "unique_ts"]  # defaults
    assert checks_of(results, "billing.ratio") == ["not_null", "finite", "max", "unique_ts"]


def test_disabled_checks_produce_no_row(results):
    assert checks_of(results, "ops.dups_allowed") == ["not_null", "finite"]
    # Every check that can be turned off is: a null and a duplicate day, only `finite` left.
    assert checks_of(results, "ext.no_checks") == ["finite"]


def test_passing_data(results):
    assert outcome(results, "app.clean", "not_null") == (True, "0 null values", None)
    assert outcome(results, "app.clean", "min") == (True, "min 10 on 2026-11-21", None)
    assert outcome(results, "app.clean", "max") == (True, "max 15 on 2026-11-24", None)
    # 2026-11-25 - 2026-11-24 = 1 day, within 2
    assert outcome(results, "app.clean", "fresh_within_days") == (
        True,
        "newest 2026-11-24 (1 day old)",
        None,
    )
    assert outcome(results, "app.clean", "unique_ts") == (True, "0 duplicate days", None)
    # 10 -> 12 -> 12 -> 15: equal is not a decrease
    assert outcome(results, "app.clean", "non_decreasing") == (True, "0 decreases", None)
    assert "app.clean" not in rejected_metrics(results)


# ------------------------------------------------------------------- each check failing


def test_null_values(results):
    assert outcome(results, "app.nulls", "not_null") == (
        False,
        "2 null values",
        "value is null on 2026-11-23, and 1 more value",
    )
    assert outcome(results, "app.one_null", "not_null") == (
        False,
        "1 null value",
        "value is null on 2026-11-24",
    )
    assert outcome(results, "app.nulls", "unique_ts") == (True, "0 duplicate days", None)


def test_min_and_max_fail_with_the_extreme_value(results):
    # values 150, 50, 1200, 900, 1100 under min 100, max 1000: 50 below; 1200 and 1100 above
    assert outcome(results, "billing.mrr", "min") == (
        False,
        "min 50 on 2026-10-02",
        "value 50 on 2026-10-02 is below min 100",
    )
    assert outcome(results, "billing.mrr", "max") == (
        False,
        "max 1200 on 2026-10-03",
        "value 1200 on 2026-10-03 is above max 1000, and 1 more value",
    )
    assert outcome(results, "billing.ratio", "max") == (
        False,
        "max 1.5 on 2026-11-02",
        "value 1.5 on 2026-11-02 is above max 1.2",
    )


def test_thresholds_differ_per_metric(results):
    assert outcome(results, "billing.mrr_wide", "min") == (True, "min 50 on 2026-10-02", None)
    assert outcome(results, "billing.mrr_wide", "max") == (True, "max 1200 on 2026-10-03", None)
    # min 50 and max 1200 are met by 50 and 1200 themselves: the bounds are inclusive
    assert outcome(results, "billing.mrr_edges", "min") == (True, "min 50 on 2026-10-02", None)
    assert outcome(results, "billing.mrr_edges", "max") == (True, "max 1200 on 2026-10-03", None)


def test_freshness_at_the_exact_boundary(results):
    # 2026-11-25 - 2026-11-22 = 3 days: within 3
    assert outcome(results, "ops.fresh_edge", "fresh_within_days") == (
        True,
        "newest 2026-11-22 (3 days old)",
        None,
    )
    # 2026-11-25 - 2026-11-21 = 4 days: more than 3
    assert outcome(results, "ops.stale_edge", "fresh_within_days") == (
        False,
        "newest 2026-11-21 (4 days old)",
        "newest value on 2026-11-21 is 4 days old, more than 3 days",
    )
    assert outcome(results, "ops.today", "fresh_within_days") == (
        True,
        "newest 2026-11-25 (0 days old)",
        None,
    )


def test_freshness_counts_values_not_null_rows(results):
    # the row of 2026-11-25 is null: the newest value is 2026-11-24's, 1 day old, more than 0
    assert outcome(results, "ops.null_tail", "fresh_within_days") == (
        False,
        "newest 2026-11-24 (1 day old)",
        "newest value on 2026-11-24 is 1 day old, more than 0 days",
    )


def test_duplicate_days(results):
    # 2026-11-20 twice and 2026-11-22 three times: 2 days
    assert outcome(results, "ops.dups", "unique_ts") == (
        False,
        "2 duplicate days",
        "2 values on 2026-11-20, and 1 more day",
    )
    assert outcome(results, "ops.dups", "not_null") == (True, "0 null values", None)


def test_non_decreasing_with_a_decrease(results):
    # 10, 12, 11, 11, 15: one fall, 12 -> 11 on 2026-11-22
    assert outcome(results, "sales.total", "non_decreasing") == (
        False,
        "1 decrease",
        "value fell from 12 to 11 on 2026-11-22",
    )
    assert outcome(results, "sales.gap", "non_decreasing") == (
        False,
        "2 decreases",
        "value fell from 10 to 8 on 2026-11-22, and 1 more decrease",
    )
    assert outcome(results, "sales.unsorted", "non_decreasing") == (True, "0 decreases", None)


def test_empty_series_fails_only_freshness(results):
    assert outcome(results, "ext.empty", "fresh_within_days") == (
        False,
        "no values",
        "no values within 2 days of the as-of date",
    )
    for check in ("not_null", "min", "unique_ts", "non_decreasing"):
        assert outcome(results, "ext.empty", check) == (True, "no values", None)
    assert set(results.loc[results["metric_id"] == "ext.empty_no_freshness", "success"]) == {True}


def test_series_of_nulls_only(results):
    assert outcome(results, "ext.all_null", "not_null") == (
        False,
        "2 null values",
        "value is null on 2026-11-23, and 1 more value",
    )
    assert outcome(results, "ext.all_null", "min") == (True, "no values", None)
    assert outcome(results, "ext.all_null", "fresh_within_days") == (
        False,
        "no values",
        "no values within 5 days of the as-of date",
    )


def test_rejected_metrics_are_those_failing_any_check_but_freshness(results):
    assert rejected_metrics(results) == {
        "app.nulls",
        "app.one_null",
        "billing.mrr",
        "billing.ratio",
        "ops.dups",
        "sales.total",
        "sales.gap",
        "ext.all_null",
    }
    # Late data is labelled, never rejected: these failed fresh_within_days alone.
    late = {"ops.stale_edge", "ops.null_tail", "ext.empty"}
    failed_freshness = results[(results["check"] == "fresh_within_days") & ~results["success"]]
    assert late <= set(failed_freshness["metric_id"])
    assert late.isdisjoint(rejected_metrics(results))
    failed = results[~results["success"]]
    passed = results[results["success"]]
    assert failed["message"].map(bool).all()
    assert passed["message"].isna().all()


# ------------------------------------------------------------------- calls


def test_several_metrics_where_only_one_fails():
    data = {
        "shop.orders": series(days("2026-11-20", 3), [5, 6, 7]),
        "shop.refunds": series(days("2026-11-20", 3), [1, 40, 2]),
        "shop.visits": series(days("2026-11-20", 3), [500, 600, 700]),
    }
    rules = {
        "shop.orders": Checks(min=0, max=10),
        "shop.refunds": Checks(min=0, max=10),
        "shop.visits": Checks(min=0, max=1000),
    }
    results = validate_series(data, rules, AS_OF)
    assert rejected_metrics(results) == {"shop.refunds"}
    assert outcome(results, "shop.refunds", "max") == (
        False,
        "max 40 on 2026-11-21",
        "value 40 on 2026-11-21 is above max 10",
    )
    others = results[results["metric_id"] != "shop.refunds"]
    # not_null, finite, min, max, unique_ts each
    assert len(others) == 10 and others["success"].all()


def test_calls_do_not_grow_with_metrics():
    month = series(days("2026-10-27", 30), list(range(30)))  # values 0..29 up to 2026-11-25

    def calls(metrics: int) -> int:
        data = {f"s.m{n}": month for n in range(metrics)}
        rules = {f"s.m{n}": Checks(max=n % 40, fresh_within_days=1) for n in range(metrics)}
        before = validation_calls()
        results = validate_series(data, rules, AS_OF)
        assert len(results) == 5 * metrics  # not_null, finite, max, fresh, unique_ts
        # max n % 40 is below 29, the month's highest value, for every n % 40 < 29
        failing = {f"s.m{n}" for n in range(metrics) if n % 40 < 29}
        assert rejected_metrics(results) == failing
        return validation_calls() - before

    assert calls(10) == calls(1000) == 1


def test_nothing_to_validate_makes_no_call():
    before = validation_calls()
    nothing = validate_series({}, {}, AS_OF)
    assert list(nothing.columns) == CHECK_COLUMNS and nothing.empty
    assert rejected_metrics(nothing) == set()
    empty = validate_series({"a.b": series([], [])}, {"a.b": Checks(min=0)}, AS_OF)
    assert rejected_metrics(empty) == set()  # no values: nothing to reject
    assert empty.loc[empty["check"] == "min", "observed"].tolist() == ["no values"]
    assert validation_calls() == before


def test_a_metric_without_checks_is_a_programming_error():
    with pytest.raises(ValueError, match="no checks for a.b"):
        validate_series({"a.b": series([], [])}, {}, AS_OF)


def test_an_expectation_gx_cannot_compute_is_an_error_not_a_pass():
    frame, _ = long_frame([series(["2026-11-24"], [1])], [Checks()], [Cut(AS_OF, 0, 0, 1)])
    with pytest.raises(ValidationError, match='check non_decreasing could not run: .*"previous'):
        _run_suite(frame.drop(columns=["previous_value"]))


def test_other_timestamp_resolutions_are_read_as_days():
    data = series(["2026-11-23", "2026-11-24"], [3, 2]).astype({"ts": "datetime64[us]"})
    results = validate_series({"a.b": data}, {"a.b": Checks(fresh_within_days=1)}, AS_OF)
    assert outcome(results, "a.b", "fresh_within_days") == (
        True,
        "newest 2026-11-24 (1 day old)",
        None,
    )


def test_gx_says_nothing_on_the_terminal(silent_run, results):
    stdout, stderr = silent_run.communicate(timeout=120)
    assert silent_run.returncode == 0, stderr
    assert stderr == ""
    # value 5 above max 1 and a null on 2026-11-02; one GX call
    assert stdout == "['a.b'] 1\n"


@pytest.mark.parametrize("rows_per_call, calls", [(500_000, 1), (2, 2)])
def test_each_day_is_judged_against_its_own_as_of_date(monkeypatch, rows_per_call, calls):
    monkeypatch.setattr(validation, "MAX_ROWS_PER_CALL", rows_per_call)
    data = series(["2026-11-20", "2026-11-21"], [1, 2])
    early, late = date(2026, 11, 22), date(2026, 11, 24)
    before = validation_calls()
    results = validate_days(
        {early: {"a.b": data}, late: {"a.b": data}}, {"a.b": Checks(fresh_within_days=1)}
    )
    assert validation_calls() - before == calls  # both days in one call while they fit
    fresh = results[results["check"] == "fresh_within_days"].set_index("as_of")
    assert fresh.loc[early, "success"]  # the newest value, Nov 21, is 1 day old
    assert fresh.loc[early, "observed"] == "newest 2026-11-21 (1 day old)"
    assert not fresh.loc[late, "success"]
    assert fresh.loc[late, "message"] == (
        "newest value on 2026-11-21 is 3 days old, more than 1 day"
    )


def test_cuts_of_a_range_judge_each_day_as_that_day_alone():
    """A backfill validates each series once and counts each day's part of it; a run of one
    day validates that day's series whole. Over random series with nulls, infinities,
    duplicated days and falls, under random rules, both must give the same rows."""
    rng = np.random.default_rng(11)
    first_day = date(2026, 11, 1)
    days = [first_day + timedelta(n) for n in range(12)]
    series, rules = {}, {}
    for number in range(40):
        stamps = np.sort(rng.integers(0, 14, rng.integers(0, 16)))  # duplicated days too
        values = rng.normal(5, 4, len(stamps)).round(1)
        values[rng.random(len(stamps)) < 0.15] = np.nan
        values[rng.random(len(stamps)) < 0.05] = np.inf
        metric_id = f"m.{number}"
        series[metric_id] = series_of(first_day, stamps, values)
        rules[metric_id] = Checks(
            not_null=bool(rng.integers(2)),
            unique_ts=bool(rng.integers(2)),
            non_decreasing=bool(rng.integers(2)),
            min=float(rng.integers(-2, 4)) if rng.integers(2) else None,
            max=float(rng.integers(6, 12)) if rng.integers(2) else None,
            fresh_within_days=int(rng.integers(0, 4)) if rng.integers(2) else None,
        )
    # each day's part: from a day up to 5 days back (a trailing window) to the as-of date
    parts = {day: (day - timedelta(int(rng.integers(0, 6))), day + timedelta(1)) for day in days}
    alone = validate_days(
        {
            day: {
                metric_id: frame[(frame["ts"] >= str(start)) & (frame["ts"] < str(end))]
                for metric_id, frame in series.items()
            }
            for day, (start, end) in parts.items()
        },
        rules,
    )
    named = list(series.items())
    cuts = [
        Cut(day, number, *np.searchsorted(frame["ts"], [pd.Timestamp(start), pd.Timestamp(end)]))
        for day, (start, end) in parts.items()
        for number, (_, frame) in enumerate(named)
    ]
    together = validate_cuts(named, cuts, rules)
    assert len(alone) > 1000 and (~alone["success"]).sum() > 100  # every kind of failure
    assert set(alone.loc[~alone["success"], "check"]) == set(validation.CHECKS)
    pd.testing.assert_frame_equal(together, alone)


def series_of(first_day: date, offsets: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    ts = pd.Timestamp(first_day) + pd.to_timedelta(offsets, unit="D")
    return pd.DataFrame({"ts": ts.astype("datetime64[ns]"), "value": values})
