"""Time the pure scoring core: 10,000 and 100,000 key results over 1,000 metrics, and
1,000,000 key results over 100,000 metrics, each metric 365 days of values.

    .venv/bin/python benchmarks/scoring.py [--sizes 10000 100000 1000000] [--runs 3]

The definition frames are built directly (no YAML: a million key results would measure the
loader), from a fixed seed: one year-long cycle, objectives of 5 key results, a mix of
increase, decrease, stay_above and stay_between over last, sum and mean, a tenth of them on a
trailing 30-day window. The values are seeded random walks of 365 days; the as-of date is one
day (2026-09-30). The floor beside each figure is what no design can avoid: one groupby over
the values up to the as-of date (by metric) plus one join of the key results to that frame of
aggregates. Each size runs in its own process, so that its peak memory (ru_maxrss, taken after
the scoring runs and before the floor, the workload's own frames included) is its own.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import figure, median_seconds  # noqa: E402

from okr_pipeline.scoring import OkrFrames, score  # noqa: E402

DAYS = 365
AS_OF = date(2026, 9, 30)
METRICS = {10_000: 1_000, 100_000: 1_000, 1_000_000: 100_000}
TARGETS = {  # (ratio to the floor, seconds, peak MB)
    10_000: (2.0, 1.0, 2048),
    100_000: (None, 10.0, 2048),
    1_000_000: (2.0, 60.0, 4096),
}


def workload(krs: int, metrics: int, seed: int = 7) -> tuple[OkrFrames, pd.DataFrame]:
    """The frames and values, built without a copy too many: the values' metric ids are
    references to one string per metric, as a frame read from a database holds them."""
    rng = np.random.default_rng(seed)
    metric_ids = np.array([f"s{m // 50}.m{m}" for m in range(metrics)], dtype=object)
    objectives = (krs + 4) // 5
    kinds = np.array(["increase", "decrease", "stay_above", "stay_between"], dtype=object)
    aggregations = np.array(["last", "sum", "mean"], dtype=object)
    kind = kinds[np.arange(krs) % len(kinds)]
    key_results = pd.DataFrame(
        {
            "cycle_id": "2026",
            "kr_id": [f"k{n}" for n in range(krs)],
            "objective_id": [f"o{n // 5}" for n in range(krs)],
            "title": "a key result",
            "owner": "owner@example.com",
            "type": kind,
            "metric_id": metric_ids[rng.integers(0, metrics, krs)],
            "unit": "units",
            "baseline": np.where(kind == "decrease", 900.0, 100.0),
            "target": np.where(kind == "decrease", 50.0, 800.0),
            "min": np.where(kind == "stay_between", 50.0, np.nan),
            "max": np.where(kind == "stay_between", 2000.0, np.nan),
            "aggregation": aggregations[rng.integers(0, 3, krs)],
            "window_days": np.where(np.arange(krs) % 10 == 0, 30.0, np.nan),
            "weight": 1.0,
        }
    )
    key_results.loc[key_results["type"] == "stay_between", ["baseline", "target"]] = np.nan
    frames = OkrFrames.from_rows(
        cycles=[
            {
                "cycle_id": "2026",
                "start": date(2026, 1, 1),
                "end": date(2026, 12, 31),
                "at_risk_margin": 0.10,
                "off_track_margin": 0.25,
                "grace_days": 30,
            }
        ],
        objectives=pd.DataFrame(
            {
                "cycle_id": "2026",
                "objective_id": [f"o{n}" for n in range(objectives)],
                "title": "an objective",
                "owner": "owner@example.com",
                "team": [f"team{n // 5}" for n in range(objectives)],
                "theme": "growth",
                "kind": "aspirational",
                "progress_from": "key_results",
                "weight": 1.0,
            }
        ),
        key_results=key_results,
        metrics=pd.DataFrame({"metric_id": metric_ids, "unit": "units", "fresh_within_days": 2.0}),
    )
    walks = rng.normal(1.0, 3.0, (metrics, DAYS))
    np.cumsum(walks, axis=1, out=walks)
    np.abs(walks, out=walks)
    walks += 100.0
    values = pd.DataFrame(
        {
            "metric_id": np.repeat(metric_ids, DAYS),
            "ts": np.tile(pd.date_range("2026-01-01", periods=DAYS).to_numpy(), metrics),
            "value": walks.ravel(),
        },
        copy=False,
    )
    return frames, values


def floor(frames: OkrFrames, values: pd.DataFrame) -> pd.DataFrame:
    """One groupby over the values up to the as-of date, one join of the key results to it."""
    upto = values[values["ts"] <= pd.Timestamp(AS_OF)]
    aggregates = upto.groupby("metric_id", sort=False)["value"].agg(["last", "sum", "mean"])
    return frames.key_results[["cycle_id", "kr_id", "metric_id"]].join(aggregates, on="metric_id")


def measure(krs: int, runs: int) -> None:
    metrics = METRICS.get(krs, 1_000)
    frames, values = workload(krs, metrics)
    problems = pd.DataFrame(columns=["metric_id", "data_status", "data_message"])
    scored = score(frames, values, problems, AS_OF).kr_scores
    assert len(scored) == krs and scored["current_value"].notna().all(), "nothing was scored"
    seconds = median_seconds(lambda: score(frames, values, problems, AS_OF), runs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor_seconds = median_seconds(lambda: floor(frames, values), runs)
    ratio_target, seconds_target, memory_target = TARGETS.get(krs, (None, float("inf"), 4096))
    met = seconds < seconds_target and (
        ratio_target is None or seconds <= ratio_target * floor_seconds
    )
    target = (f"<= {ratio_target:g}x and " if ratio_target else "") + f"< {seconds_target:g} s"
    figure(
        f"scoring core, {krs:,} KRs over {metrics:,} metrics x {DAYS} days, one as-of date",
        seconds,
        "one groupby of the values + one join of the KRs",
        floor_seconds,
        target,
        met,
    )
    print(
        f"scoring core, {krs:,} KRs: peak memory {peak_mb:,.0f} MB (ru_maxrss, frames included)"
        f" | target < {memory_target:,} MB: {'MET' if peak_mb < memory_target else 'MISSED'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(TARGETS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.in_process:
        for krs in options.sizes:
            measure(krs, options.runs)
        return
    for krs in options.sizes:
        command = [sys.executable, __file__, "--in-process", "--sizes", str(krs)]
        subprocess.run([*command, "--runs", str(options.runs)], check=True)


if __name__ == "__main__":
    main()
