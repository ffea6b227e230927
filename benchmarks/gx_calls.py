"""Count the Great Expectations validations of one full run, for 10 and for 1,000 metrics.

    .venv/bin/python benchmarks/gx_calls.py [--small 10] [--large 1000]

Two synthetic organisations (`harness.synthetic_project`: one SQLite source, one key result
per metric) are each materialized for one day through the real Definitions in this process,
and `validation.validation_calls()` is read before and after. The target: the same count.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dagster as dg  # noqa: E402
from harness import synthetic_project  # noqa: E402

from okr_pipeline.orchestration import build_definitions, materialize_day  # noqa: E402
from okr_pipeline.validation import validation_calls  # noqa: E402

AS_OF = date(2026, 9, 20)


def calls_per_run(metrics: int, instance: dg.DagsterInstance) -> int:
    root = synthetic_project(Path(tempfile.mkdtemp(prefix="okr-bench-gx-")), metrics, metrics)
    defs = build_definitions(root, f"sqlite:///{root / 'warehouse.db'}")
    before = validation_calls()
    result = materialize_day(defs, AS_OF, instance)
    assert result.success, "the run failed"
    return validation_calls() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=1000)
    options = parser.parse_args()
    with dg.DagsterInstance.ephemeral() as instance:
        small = calls_per_run(options.small, instance)
        large = calls_per_run(options.large, instance)
    verdict = "MET" if small == large else "MISSED"
    print(
        f"Great Expectations calls per run: {large} for {options.large:,} metrics | "
        f"{small} for {options.small:,} metrics | target the same count: {verdict}"
    )


if __name__ == "__main__":
    main()
