"""okr-pipeline: key results that score themselves (see README.md).

`okr_pipeline.OkrPipelineComponent` is the Dagster Component (`dg list components` finds it
through this package's `dagster_dg_cli.registry_modules` entry point). It is imported on
first use: the command line's `check` and `status` must start without Dagster.
"""

from pathlib import Path

PROJECT_ENV = "OKR_PROJECT_DIR"  # the project directory, when --project-dir is not given
WAREHOUSE_ENV = "OKR_WAREHOUSE_URL"  # the warehouse's SQLAlchemy URL, when --warehouse is not


def default_warehouse_url(project_dir: str | Path) -> str:
    """SQLite in `<project>/.okr/`: the embedded default, no server and no secret."""
    return f"sqlite:///{(Path(project_dir) / '.okr' / 'warehouse.db').resolve()}"


def __getattr__(name: str):
    if name == "OkrPipelineComponent":
        from okr_pipeline.orchestration.component import OkrPipelineComponent

        return OkrPipelineComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:  # what `dg list components` looks through
    return [*globals(), "OkrPipelineComponent"]
