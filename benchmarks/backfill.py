"""Backfill 92 days for 1,000 and for 10,000 key results, against the same command for one day.

    .venv/bin/python benchmarks/backfill.py [--krs 1000 10000] [--runs 3]

A synthetic organisation per size (fixed seed; `harness.synthetic_project`): one quarter
(2026-Q3), N key results over N / 10 daily series in one SQLite source. Both sides are
`okr-pipeline backfill` in a fresh process with a fresh SQLite warehouse: the figure is
Jul 1 .. Sep 30 (92 days, one process run once, as it takes the longest), the floor
`--start D --end D` for one day (median of `--runs`). The target, at most 3x one day, needs
each source fetched once for the range, the process and the GX context set up once, and each
further day to cost a fraction of the first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CYCLE_END, CYCLE_START, figure, process_seconds, synthetic_project  # noqa: E402

DAY = "2026-09-20"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--krs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    for krs in options.krs:
        measure(krs, krs // 10, options.runs)


def measure(krs: int, metrics: int, runs: int) -> None:
    root = synthetic_project(Path(tempfile.mkdtemp(prefix="okr-bench-backfill-")), krs, metrics)
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "OKR_WAREHOUSE_URL")}

    def backfill(start: str, end: str, warehouse: str) -> list[str]:
        return [
            sys.executable, "-m", "okr_pipeline", "backfill", "--start", start, "--end", end,
            "--project-dir", str(root), "--warehouse", f"sqlite:///{root / warehouse}",
        ]  # fmt: skip

    one_day = process_seconds(backfill(DAY, DAY, "day.db"), runs, env=env)
    day_events, day_recording = partition_events(root)
    command = backfill(CYCLE_START.isoformat(), CYCLE_END.isoformat(), "range.db")
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    range_seconds = time.perf_counter() - started
    range_events, range_recording = partition_events(root)
    days = (CYCLE_END - CYCLE_START).days + 1
    name = f"backfill of {days} days for {krs:,} KRs ({metrics:,} metrics), fresh process"
    figure(name, range_seconds, "the same backfill for one day", one_day, "<= 3x",
           range_seconds <= 3 * one_day)  # fmt: skip
    ours, floor = range_seconds - range_recording, one_day - day_recording
    figure(
        f"{name}, less Dagster recording partitions ({range_events} events, "
        f"{range_recording:.1f} s; one day: {day_events}, {day_recording:.2f} s)",
        ours, "one day, less the same", floor, "<= 3x for our part", ours <= 3 * floor,
    )  # fmt: skip


def partition_events(root: Path) -> tuple[int, float]:
    """The per-partition events of the newest run in the project's Dagster home (planned and
    materialized assets), and the seconds between each and the event before it."""
    import dagster as dg

    kinds = {"ASSET_MATERIALIZATION_PLANNED", "ASSET_MATERIALIZATION"}
    with dg.DagsterInstance.from_config(str(root / ".okr" / "dagster")) as instance:
        (run,) = instance.get_runs(limit=1)
        logs = instance.all_logs(run.run_id)
    pairs = zip(logs, logs[1:], strict=False)
    gaps = [b.timestamp - a.timestamp for a, b in pairs if b.dagster_event_type in kinds]
    return len(gaps), sum(gaps)


if __name__ == "__main__":
    main()
