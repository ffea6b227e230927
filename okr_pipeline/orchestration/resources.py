"""Dagster resources: where the project's YAML lives, and the warehouse to write to."""

from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project, load_project


class OkrProjectResource(dg.ConfigurableResource):
    """The project directory. Every step checks its files: an edit applies to the next run,
    and the steps of a backfill (both steps of every day) parse the YAML only once."""

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
