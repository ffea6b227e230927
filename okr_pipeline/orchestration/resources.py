"""Dagster resources: where the project's YAML lives, and the warehouse to write to."""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project, load_project


class OkrProjectResource(dg.ConfigurableResource):
    """The project directory; its YAML is read fresh by every run, so edits apply at once."""

    project_dir: str

    def load(self) -> Project:
        return load_project(self.project_dir)


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    return warehouse.create_engine(url)


class WarehouseResource(dg.ConfigurableResource):
    """Any SQLAlchemy URL. Pass it as `dg.EnvVar` when it holds a password, so Dagster shows
    the variable's name, never its value."""

    url: str

    def engine(self) -> sa.Engine:
        return _engine(self.url)
