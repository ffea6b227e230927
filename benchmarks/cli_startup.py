"""Time `okr-pipeline run`, `check` and `status` on the example organisation, each in a fresh
process, against a fresh process doing the least the same command needs.

    .venv/bin/python benchmarks/cli_startup.py [--runs 3] [--date 2026-11-20]

- `run --date D` (the repository's example organisation, a throw-away SQLite warehouse) vs. a
  fresh interpreter that imports Dagster, Great Expectations, pandas and SQLAlchemy and
  materializes one trivial asset running one GX validation of a one-row frame.
- `check` and `status --date D` vs. a fresh interpreter that imports pydantic and yaml: they
  import neither Dagster nor GX, so they suit a pre-commit hook.
Each figure is the median of `--runs` processes after one warm-up (disk cache).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, figure, process_seconds, python_seconds  # noqa: E402

RUN_FLOOR = """
import dagster as dg, great_expectations as gx, pandas as pd, sqlalchemy
@dg.asset
def one_row():
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("p").add_dataframe_asset("a")
        .add_batch_definition_whole_dataframe("b")
        .get_batch(batch_parameters={"dataframe": pd.DataFrame({"value": [1.0]})})
    )
    assert batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="value")).success
assert dg.materialize([one_row], instance=dg.DagsterInstance.ephemeral()).success
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--date", default="2026-11-20")
    options = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "OKR_WAREHOUSE_URL")}
    warehouse = f"sqlite:///{Path(tempfile.mkdtemp(prefix='okr-bench-cli-')) / 'warehouse.db'}"
    cli = [sys.executable, "-m", "okr_pipeline"]
    project = ["--project-dir", str(ROOT)]
    where = [*project, "--warehouse", warehouse]  # `check` reads no warehouse

    run = process_seconds([*cli, "run", "--date", options.date, *where], options.runs, env=env)
    run_floor = python_seconds(RUN_FLOOR, options.runs)
    figure(
        "`okr-pipeline run` of the example organisation, fresh process",
        run,
        "import the same libraries, materialize one asset with one GX validation",
        run_floor,
        "<= 1.5x",
        run <= 1.5 * run_floor,
    )
    light_floor = python_seconds("import pydantic, yaml", options.runs)
    for command in (["check", *project], ["status", "--date", options.date, *where]):
        seconds = process_seconds([*cli, *command], options.runs, env=env)
        figure(
            f"`okr-pipeline {command[0]}` on the example organisation, fresh process",
            seconds,
            "import pydantic and yaml",
            light_floor,
            "<= 2x",
            seconds <= 2 * light_floor,
        )


if __name__ == "__main__":
    main()
