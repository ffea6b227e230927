"""Count the Great Expectations calls of one validation, and time 1,000 metrics × 365 days.

    .venv/bin/python benchmarks/validation.py [--metrics 1000] [--days 365] [--runs 3]

Each metric gets its own thresholds (min, max, freshness, non_decreasing on every other one)
and a few metrics carry a fault of each kind, so the failure mapping is part of the figure.
The call counts show that validation does not call GX once per metric; the time is the median
of several runs of `validate_series`, after a warm-up that pays the GX import and context.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from okr_pipeline.config.models import Checks  # noqa: E402
from okr_pipeline.validation import validate_series, validation_calls  # noqa: E402

AS_OF = date(2026, 12, 31)


def workload(metrics: int, days: int) -> tuple[dict[str, pd.DataFrame], dict[str, Checks]]:
    stamps = pd.date_range(AS_OF - timedelta(days - 1), periods=days).astype("datetime64[ns]")
    series, checks = {}, {}
    for number in range(metrics):
        values = np.arange(days, dtype="float64") + number
        if number % 97 == 1:
            values[days // 2] = np.nan
        if number % 89 == 2:
            values[days // 3] = -1.0
        frame = pd.DataFrame({"ts": stamps, "value": values})
        if number % 83 == 3:
            frame = frame.iloc[: days - 10]
        metric_id = f"source_{number // 50}.metric_{number}"
        series[metric_id] = frame
        checks[metric_id] = Checks(
            min=0, max=days + number, fresh_within_days=2, non_decreasing=number % 2 == 0
        )
    return series, checks


def calls_for(metrics: int, days: int) -> int:
    series, checks = workload(metrics, days)
    before = validation_calls()
    validate_series(series, checks, AS_OF)
    return validation_calls() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    print(f"GX validation calls for 10 metrics: {calls_for(10, options.days)}")
    print(f"GX validation calls for 1,000 metrics: {calls_for(1000, options.days)}")
    series, checks = workload(options.metrics, options.days)
    timings = []
    for _ in range(options.runs):
        started = time.perf_counter()
        results = validate_series(series, checks, AS_OF)
        timings.append(time.perf_counter() - started)
    failed = int((~results["success"]).sum())
    print(
        f"validate {options.metrics:,} metrics x {options.days} days "
        f"({sum(map(len, series.values())):,} rows, {len(results):,} checks, {failed} failed): "
        f"median {statistics.median(timings):.3f} s of {options.runs}"
    )


if __name__ == "__main__":
    main()
