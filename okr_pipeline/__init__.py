"""okr-pipeline: key results that score themselves (see README.md)."""

PROJECT_ENV = "OKR_PROJECT_DIR"  # the project directory, when --project-dir is not given
WAREHOUSE_ENV = "OKR_WAREHOUSE_URL"  # the warehouse's SQLAlchemy URL, when --warehouse is not
