"""okr-pipeline: key results that score themselves (see README.md)."""

from pathlib import Path

PROJECT_ENV = "OKR_PROJECT_DIR"  # the project directory, when --project-dir is not given
WAREHOUSE_ENV = "OKR_WAREHOUSE_URL"  # the warehouse's SQLAlchemy URL, when --warehouse is not


def default_warehouse_url(project_dir: str | Path) -> str:
    """SQLite in `<project>/.okr/`: the embedded default, no server and no secret."""
    return f"sqlite:///{(Path(project_dir) / '.okr' / 'warehouse.db').resolve()}"
