"""Small builders: a Project from plain dicts, through the real pydantic models."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from okr_pipeline.config.loader import Checkin, CycleOkrs, Project
from okr_pipeline.config.models import Cycle, Objective, ProjectSettings, SourceFile
from okr_pipeline.scoring import frames_from_project, score

CYCLE_100 = {"id": "C100", "start": "2026-01-01", "end": "2026-04-10"}
"""100 days inclusive: on day k (2026-01-01 is day 1) linear expected = k / 100."""


def day(k: int, start: str = "2026-01-01") -> str:
    """ISO date of day k of a cycle starting at `start` (day 1 = start)."""
    return (pd.Timestamp(start) + pd.Timedelta(days=k - 1)).date().isoformat()


def metric_source(*names: str, fresh_within_days: int | None = None, units: dict | None = None):
    checks = {} if fresh_within_days is None else {"fresh_within_days": fresh_within_days}
    return SourceFile.model_validate(
        {
            "source": {
                "name": "app",
                "kind": "csv",
                "path": "x.csv",
                "metrics": [
                    {"name": name, "checks": checks, "unit": (units or {}).get(name)}
                    for name in names
                ],
            }
        }
    ).source


def project(
    objectives: list[dict],
    cycle: dict | None = None,
    *,
    cycles: list[tuple[dict, list[dict]]] | None = None,
    metrics: tuple[str, ...] = ("m", "n", "o"),
    fresh_within_days: int | None = None,
    units: dict | None = None,
    checkins: list[tuple] = (),
) -> Project:
    """A Project; `cycles` gives several (cycle, objectives) pairs instead of one."""
    pairs = cycles if cycles is not None else [(cycle or CYCLE_100, objectives)]
    return Project(
        root=Path("."),
        settings=ProjectSettings(),
        sources={"app": metric_source(*metrics, fresh_within_days=fresh_within_days, units=units)},
        source_files={"app": "metric_sources/app.yaml"},
        cycles=tuple(
            CycleOkrs(
                cycle=Cycle.model_validate(c),
                themes=(),
                objectives=tuple(Objective.model_validate(o) for o in objs),
            )
            for c, objs in pairs
        ),
        checkins=tuple(
            Checkin(kr_id, date.fromisoformat(d), *(list(rest) + [None] * (3 - len(rest))))
            for kr_id, d, *rest in checkins
        ),
        secrets=frozenset(),
    )


def objective(*key_results: dict, **fields) -> dict:
    return {"id": "o1", "title": "Objective", "owner": "ana", "team": "growth",
            **fields, "key_results": list(key_results)}  # fmt: skip


def kr(**fields) -> dict:
    """A key result dict; increase on app.m by default; a field given as None is left out."""
    base = {"id": "k1", "title": "Key result", "metric": "app.m", "type": "increase"}
    return {key: value for key, value in {**base, **fields}.items() if value is not None}


def series(points: dict[str, float] | list[tuple[str, float]], metric: str = "app.m"):
    items = points.items() if isinstance(points, dict) else points
    return pd.DataFrame(
        {
            "metric_id": [metric] * len(items),
            "ts": pd.to_datetime([ts for ts, _ in items]).astype("datetime64[ns]"),
            "value": [float(v) for _, v in items],
        }
    )


def values(*frames: pd.DataFrame) -> pd.DataFrame:
    if not frames:
        return series({})
    return pd.concat(frames, ignore_index=True)


NO_PROBLEMS = pd.DataFrame(
    {"metric_id": pd.Series([], dtype=object), "data_status": pd.Series([], dtype=object),
     "data_message": pd.Series([], dtype=object)}
)  # fmt: skip


def problems(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric_id", "data_status", "data_message"], dtype=object)


def run(proj: Project, vals: pd.DataFrame, as_of: str, data_problems=None):
    return score(
        frames_from_project(proj),
        vals,
        NO_PROBLEMS if data_problems is None else data_problems,
        date.fromisoformat(as_of),
    )


def kr_row(tables, kr_id: str = "k1", cycle_id: str | None = None) -> dict:
    frame = tables.kr_scores
    frame = frame[frame["kr_id"] == kr_id]
    if cycle_id is not None:
        frame = frame[frame["cycle_id"] == cycle_id]
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


def objective_row(tables, objective_id: str = "o1", cycle_id: str | None = None) -> dict:
    frame = tables.objective_scores
    frame = frame[frame["objective_id"] == objective_id]
    if cycle_id is not None:
        frame = frame[frame["cycle_id"] == cycle_id]
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()
