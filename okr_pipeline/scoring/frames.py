"""The definition frames scoring works on, built from the typed config of the project.

`frames_from_project` is the only place that walks the config models one by one; everything
after it (`okr_pipeline.scoring.engine.score`) works on whole frames. Dates are
datetime64[ns] at midnight, strings are object columns with None for null, numbers are
float64 with NaN for null.

Manual key results (`metric: manual`) read their series from check-ins: each check-in with a
value becomes a row of the series `manual:<kr_id>` in `manual_values`. Key-result ids are
unique within a cycle only, and a check-in names no cycle, so a check-in applies to every key
result with that id. Two check-ins of one key result on one date: the later row (file order,
files sorted by name) wins, for the value as for confidence and note.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pandas as pd

from okr_pipeline.config.loader import Project
from okr_pipeline.config.models import (
    BooleanKeyResult,
    DecreaseKeyResult,
    IncreaseKeyResult,
    MeasuredKeyResult,
    MilestonesKeyResult,
    RollupKeyResult,
    StayAboveKeyResult,
    StayBelowKeyResult,
    StayBetweenKeyResult,
)

MANUAL = "manual"
MANUAL_PREFIX = "manual:"
MANUAL_FRESH_WITHIN_DAYS = 14.0
"""DOMAIN.md: a manual KR without a check-in for 14 days is `stale`."""

DATE, TEXT, NUMBER, FLAG = "datetime64[ns]", object, "float64", bool

SCHEMAS: dict[str, dict[str, object]] = {
    "cycles": {
        "cycle_id": TEXT, "start": DATE, "end": DATE, "at_risk_margin": NUMBER,
        "off_track_margin": NUMBER, "grace_days": NUMBER, "archived": FLAG,
    },
    "objectives": {
        "cycle_id": TEXT, "objective_id": TEXT, "parent_id": TEXT, "title": TEXT, "owner": TEXT,
        "team": TEXT, "theme": TEXT, "kind": TEXT, "progress_from": TEXT, "weight": NUMBER,
    },
    "key_results": {
        "cycle_id": TEXT, "kr_id": TEXT, "objective_id": TEXT, "title": TEXT, "owner": TEXT,
        "type": TEXT, "metric_id": TEXT, "unit": TEXT, "baseline": NUMBER, "target": NUMBER,
        "min": NUMBER, "max": NUMBER, "aggregation": TEXT, "window_days": NUMBER,
        "weight": NUMBER, "checkin_every_days": NUMBER,
    },
    "metrics": {"metric_id": TEXT, "unit": TEXT, "fresh_within_days": NUMBER},
    "checkpoints": {"cycle_id": TEXT, "kr_id": TEXT, "date": DATE, "value": NUMBER},
    "milestones": {
        "cycle_id": TEXT, "kr_id": TEXT, "name": TEXT, "weight": NUMBER, "done": FLAG,
        "metric_id": TEXT, "op": TEXT, "threshold": NUMBER,
    },
    "rollup_children": {"cycle_id": TEXT, "kr_id": TEXT, "child_id": TEXT},
    "checkins": {"kr_id": TEXT, "date": DATE, "confidence": NUMBER, "note": TEXT},
    "manual_values": {"metric_id": TEXT, "ts": DATE, "value": NUMBER},
}  # fmt: skip
"""Columns and dtypes of every frame of `OkrFrames`, in order."""


def typed_frame(name: str, rows: list[dict] | pd.DataFrame | None = None) -> pd.DataFrame:
    """A frame with exactly the columns of `SCHEMAS[name]`; missing columns are null."""
    schema = SCHEMAS[name]
    source = pd.DataFrame(rows if rows is not None else [])
    columns = {}
    for column, dtype in schema.items():
        raw = source[column] if column in source else pd.Series([None] * len(source))
        raw = raw.reset_index(drop=True)
        if dtype is TEXT:
            text = raw.astype(object)
            columns[column] = text.where(text.notna(), None)
        elif dtype is FLAG:
            columns[column] = raw.astype(object).where(raw.notna(), False).astype(bool)
        elif dtype == DATE:
            columns[column] = pd.to_datetime(raw).astype(DATE)
        else:
            columns[column] = pd.to_numeric(raw).astype(NUMBER)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(source)))


def _empty(name: str) -> pd.DataFrame:
    return typed_frame(name)


@dataclass(frozen=True)
class OkrFrames:
    """Every definition scoring needs, one frame per kind of thing (columns: `SCHEMAS`).

    key_results.metric_id is "<source>.<metric>", "manual", or None (milestones, rollup);
    key_results.window_days is N of `trailing_<N>d`, NaN for the cycle window;
    key_results.checkin_every_days is NaN for a key result never due for a check-in;
    milestones.metric_id/op/threshold come from `done_when` (None for a `done` milestone);
    checkins are in file order (the later of two on one date wins).
    """

    cycles: pd.DataFrame = field(default_factory=lambda: _empty("cycles"))
    objectives: pd.DataFrame = field(default_factory=lambda: _empty("objectives"))
    key_results: pd.DataFrame = field(default_factory=lambda: _empty("key_results"))
    metrics: pd.DataFrame = field(default_factory=lambda: _empty("metrics"))
    checkpoints: pd.DataFrame = field(default_factory=lambda: _empty("checkpoints"))
    milestones: pd.DataFrame = field(default_factory=lambda: _empty("milestones"))
    rollup_children: pd.DataFrame = field(default_factory=lambda: _empty("rollup_children"))
    checkins: pd.DataFrame = field(default_factory=lambda: _empty("checkins"))
    manual_values: pd.DataFrame = field(default_factory=lambda: _empty("manual_values"))

    @classmethod
    def from_rows(cls, **rows: list[dict] | pd.DataFrame) -> OkrFrames:
        """Frames from plain rows (tests, tools); every frame typed per `SCHEMAS`."""
        unknown = set(rows) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown frames: {sorted(unknown)}")
        return cls(**{name: typed_frame(name, value) for name, value in rows.items()})


def _kr_row(cycle_id: str, objective_id: str, kr, checkin_every_days: int) -> dict:
    """One key result; `checkin_every_days` is the project default, which manual key
    results take when they set none (others are due for check-ins only when they ask)."""
    manual = isinstance(kr, MeasuredKeyResult) and kr.metric == MANUAL
    row = {
        "cycle_id": cycle_id,
        "kr_id": kr.id,
        "objective_id": objective_id,
        "title": kr.title,
        "owner": kr.owner,
        "type": kr.type,
        "metric_id": kr.metric if isinstance(kr, MeasuredKeyResult) else None,
        "unit": kr.unit,
        "aggregation": kr.aggregation,
        "window_days": kr.window_days,
        "weight": kr.weight,
        "checkin_every_days": kr.checkin_every_days or (checkin_every_days if manual else None),
    }
    if isinstance(kr, IncreaseKeyResult | DecreaseKeyResult):
        row.update(baseline=kr.baseline, target=kr.target)
    elif isinstance(kr, StayAboveKeyResult | StayBelowKeyResult):
        row.update(target=kr.target)
    elif isinstance(kr, StayBetweenKeyResult):
        row.update({"min": kr.min, "max": kr.max})
    elif isinstance(kr, BooleanKeyResult):
        row.update(target=1.0)
    return row


def frames_from_project(project: Project) -> OkrFrames:
    """Definition frames of every cycle of the project (pure; selection happens in `score`)."""
    rows: dict[str, list[dict]] = {name: [] for name in SCHEMAS}
    for okrs in project.cycles:
        cycle = okrs.cycle
        rows["cycles"].append(
            {
                "cycle_id": cycle.id,
                "start": cycle.start,
                "end": cycle.end,
                "at_risk_margin": cycle.at_risk_margin,
                "off_track_margin": cycle.off_track_margin,
                "grace_days": cycle.grace_days,
                "archived": cycle.archived,
            }
        )
        for objective in okrs.objectives:
            rows["objectives"].append(
                {
                    "cycle_id": cycle.id,
                    "objective_id": objective.id,
                    "parent_id": objective.parent,
                    "title": objective.title,
                    "owner": objective.owner,
                    "team": objective.team,
                    "theme": objective.theme,
                    "kind": objective.kind,
                    "progress_from": objective.progress_from,
                    "weight": objective.weight,
                }
            )
            for kr in objective.key_results:
                key = {"cycle_id": cycle.id, "kr_id": kr.id}
                rows["key_results"].append(
                    _kr_row(cycle.id, objective.id, kr, project.settings.checkin_every_days)
                )
                for checkpoint in getattr(kr, "checkpoints", []):
                    rows["checkpoints"].append(
                        {**key, "date": checkpoint.date, "value": checkpoint.value}
                    )
                if isinstance(kr, MilestonesKeyResult):
                    for milestone in kr.milestones:
                        metric_id, op, threshold = milestone.condition() or (None, None, None)
                        rows["milestones"].append(
                            {
                                **key,
                                "name": milestone.name,
                                "weight": milestone.weight,
                                "done": bool(milestone.done),
                                "metric_id": metric_id,
                                "op": op,
                                "threshold": threshold,
                            }
                        )
                if isinstance(kr, RollupKeyResult):
                    rows["rollup_children"].extend({**key, "child_id": c} for c in kr.children)

    for source_name, source in project.sources.items():
        for metric in source.metrics:
            rows["metrics"].append(
                {
                    "metric_id": f"{source_name}.{metric.name}",
                    "unit": metric.unit,
                    "fresh_within_days": metric.checks.fresh_within_days,
                }
            )

    manual_ids = {row["kr_id"] for row in rows["key_results"] if row["metric_id"] == MANUAL}
    latest_value: dict[tuple[str, object], float] = {}
    for checkin in project.checkins:
        rows["checkins"].append(
            {
                "kr_id": checkin.kr_id,
                "date": checkin.date,
                "confidence": checkin.confidence,
                "note": checkin.note,
            }
        )
        if checkin.kr_id in manual_ids and checkin.value is not None:
            latest_value[(MANUAL_PREFIX + checkin.kr_id, checkin.date)] = checkin.value
    rows["manual_values"] = [
        {"metric_id": metric_id, "ts": day, "value": value}
        for (metric_id, day), value in latest_value.items()
    ]
    return OkrFrames(**{name: typed_frame(name, value) for name, value in rows.items()})
