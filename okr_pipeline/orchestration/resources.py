"""Dagster resources: where the project's YAML lives, and the warehouse to write to."""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import lru_cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project, load_project

PROJECT_FILES = ("okr_project.yaml", "metric_sources/*.y*ml", "okrs/*.y*ml", "checkins/*.csv")


def _project_stamp(project_dir: str) -> tuple:
    """What a load depends on: every config file's content (hashed; far cheaper than parsing
    the YAML) and the environment (`${NAME}` substitution)."""
    root = Path(project_dir)
    files = sorted(path for pattern in PROJECT_FILES for path in root.glob(pattern))
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest(), tuple(sorted(os.environ.items()))


@lru_cache(maxsize=4)
def _load(project_dir: str, stamp: tuple) -> Project:
    return load_project(project_dir)


class OkrProjectResource(dg.ConfigurableResource):
    """The project directory. Every step checks its files: an edit applies to the next run,
    and the steps of a backfill (both steps of every day) parse the YAML only once."""

    project_dir: str

    def load(self) -> Project:
        return _load(self.project_dir, _project_stamp(self.project_dir))


@lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    return warehouse.create_engine(url)


class WarehouseResource(dg.ConfigurableResource):
    """Any SQLAlchemy URL. Pass it as `dg.EnvVar` when it holds a password, so Dagster shows
    the variable's name, never its value."""

    url: str

    def engine(self) -> sa.Engine:
        return _engine(self.url)


class RangePickleIOManager(dg.ConfigurableIOManager):
    """Hands each source's fetch to the scoring step: one pickle per asset and day range.

    A run of many as-of days makes one output covering all of them, which Dagster's
    filesystem IO manager refuses (it stores one file per partition). The files live under
    `base_dir`, else the Dagster instance's storage directory, as that manager's do.
    """

    base_dir: str | None = None

    def _path(self, context: dg.InputContext | dg.OutputContext, instance) -> Path:
        days = context.asset_partition_key_range
        base = Path(self.base_dir or instance.storage_directory())
        return base.joinpath(*context.asset_key.path, f"{days.start}..{days.end}.pickle")

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        path = self._path(context, context.step_context.instance)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(path)  # a reader never sees half a file

    def load_input(self, context: dg.InputContext):
        """The fetch of exactly this range, else the newest one covering it: a day refreshed
        on its own (one source's upstream data landed) reads the other sources from the
        night's run, or from the backfill that wrote that day."""
        path = self._path(context, context.instance)
        if not path.exists():
            days = context.asset_partition_key_range
            covering = [
                stored
                for stored in path.parent.glob("*..*.pickle")
                if _covers(stored.stem, days.start, days.end)
            ]
            if not covering:
                raise dg.Failure(
                    f"{context.asset_key.to_user_string()} has no fetch for {path.stem}: "
                    "materialize the sources together with the warehouse tables"
                )
            path = max(covering, key=lambda stored: stored.stat().st_mtime)
        return pickle.loads(path.read_bytes())


def _covers(stem: str, start: str, end: str) -> bool:
    """Whether a stored range `<first>..<last>` (ISO dates, which sort as text) holds start..end."""
    first, _, last = stem.partition("..")
    return first <= start and end <= last
