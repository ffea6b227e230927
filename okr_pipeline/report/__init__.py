"""The static HTML dashboard: one self-contained file from the warehouse, written by
`okr-pipeline report` and by the nightly report asset.

Everything on the page comes from the warehouse tables of one as-of date (and the history
of `kr_scores` up to it); the project config adds only what the tables do not hold: cycle
dates, the order of themes, checkpoints and stay_between bounds for the charts, and the
weights of company objectives. The template autoescapes every value, and the charts are
built from numbers only, so a title can never become markup.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from okr_pipeline import warehouse
from okr_pipeline.config import Project
from okr_pipeline.formatting import format_number, format_score, is_number
from okr_pipeline.report.charts import Trend, pace_points, trend_chart
from okr_pipeline.validation import failed_checks
from okr_pipeline.warehouse_errors import NO_SCORES, not_scored

HERE = Path(__file__).parent
STATUS_ORDER = ("missed", "off_track", "at_risk", "no_data", "not_started", "on_track", "achieved")
"""Worst first, as an objective's parts are ranked."""
DATA_ORDER = ("source_error", "invalid", "stale", "ok")
STATUS_LABELS = {
    "achieved": "Achieved",
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "missed": "Missed",
    "no_data": "No data",
    "not_started": "Not started",
}
DATA_LABELS = {
    "ok": "data ok",
    "stale": "stale data",
    "invalid": "invalid data",
    "source_error": "source error",
}
RISKY = ("missed", "off_track", "at_risk", "no_data")
STAY_TYPES = ("stay_above", "stay_below", "stay_between")


class ReportError(Exception):
    """The warehouse cannot give a report (no scores yet)."""


@dataclass
class KrView:
    row: dict
    anchor: str
    owner: str | None
    chart: str
    reasons: list[str]
    condition: str


@dataclass
class ObjectiveView:
    row: dict
    anchor: str
    weight: float
    krs: list[KrView] = field(default_factory=list)
    children: list[ObjectiveView] = field(default_factory=list)

    def all_krs(self) -> list[KrView]:
        return self.krs + [kr for child in self.children for kr in child.all_krs()]

    def all_objectives(self) -> list[ObjectiveView]:
        return [self] + [o for child in self.children for o in child.all_objectives()]

    def data_problems(self) -> list[str]:
        return [kr.row["data_status"] for kr in self.all_krs() if kr.row["data_status"] != "ok"]


@dataclass
class Node:
    """A theme (or the group of unaligned company objectives) and its roll-up."""

    name: str
    objectives: list[ObjectiveView]
    aligned: bool = True

    def all_krs(self) -> list[KrView]:
        return [kr for objective in self.objectives for kr in objective.all_krs()]

    def all_objectives(self) -> list[ObjectiveView]:
        return [o for objective in self.objectives for o in objective.all_objectives()]

    def data_problems(self) -> list[str]:
        return [s for objective in self.objectives for s in objective.data_problems()]

    @property
    def score(self) -> float | None:
        return weighted_mean([(o.row["score"], o.weight) for o in self.objectives])

    @property
    def expected(self) -> float | None:
        return weighted_mean([(o.row["expected"], o.weight) for o in self.objectives])

    @property
    def status(self) -> str:
        return worst_status(o.row["status"] for o in self.objectives)


@dataclass
class CycleView:
    id: str
    start: date
    end: date
    day: int
    days: int
    nodes: list[Node]

    @property
    def score(self) -> float | None:
        """The company score: the weighted mean of the cycle's company (top) objectives."""
        return weighted_mean([(o.row["score"], o.weight) for n in self.nodes for o in n.objectives])

    @property
    def pace(self) -> float:
        return min(max(self.day / self.days, 0.0), 1.0)


def weighted_mean(pairs: list[tuple[float | None, float]]) -> float | None:
    """Weighted mean of the parts that have a value; None when none has."""
    known = [(value, weight) for value, weight in pairs if is_number(value)]
    total = sum(weight for _, weight in known)
    return sum(value * weight for value, weight in known) / total if total else None


def worst_status(statuses) -> str:
    ranks = [STATUS_ORDER.index(s) for s in statuses if s in STATUS_ORDER]
    return STATUS_ORDER[min(ranks)] if ranks else "no_data"


def worst_data(statuses) -> str:
    ranks = [DATA_ORDER.index(s) for s in statuses if s in DATA_ORDER]
    return DATA_ORDER[min(ranks)] if ranks else "ok"


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _percent(value: float | None) -> str:
    return "–" if not is_number(value) else f"{value:.0%}"


def condition_text(row: dict, kr_config) -> str:
    """The goal in words: "100 → 200 EUR", "≥ 99.5 %", "between 10 and 20"."""
    unit = f" {row['unit']}" if row.get("unit") else ""
    kind = row["type"]
    if kind == "stay_above":
        return f"≥ {format_number(row['target'])}{unit}"
    if kind == "stay_below":
        return f"≤ {format_number(row['target'])}{unit}"
    if kind == "stay_between" and kr_config is not None:
        return f"between {format_number(kr_config.min)} and {format_number(kr_config.max)}{unit}"
    if kind == "boolean":
        return "done"
    if kind == "milestones":
        return f"{format_number(row['target'])} milestone weight"
    if kind == "rollup":
        return "all child key results"
    return f"{format_number(row['baseline'])} → {format_number(row['target'])}{unit}"


def risk_reasons(row: dict, cycle_end: date, condition: str) -> list[str]:
    """Why a KR is on the at-risk list, most telling reason first."""
    reasons = []
    status, progress, expected = row["status"], row["progress"], row["expected"]
    if status == "no_data":
        reasons.append("no value observed yet")
    elif status in ("at_risk", "off_track") and row["type"] in STAY_TYPES:
        reasons.append(f"goal {condition} not met: now {format_number(row['current_value'])}")
    elif status in ("at_risk", "off_track"):
        gap = (expected or 0) - (progress or 0)
        reasons.append(
            f"{gap * 100:.0f} pts behind pace: progress {_percent(progress)}, "
            f"expected {_percent(expected)} by now"
        )
    elif status == "missed":
        reasons.append(f"cycle ended at {_percent(progress)} of the goal")
    if is_number(row["forecast_value"]) and status not in ("missed", "achieved"):
        reasons.append(
            f"forecast {format_number(row['forecast_value'])} by {cycle_end:%b} {cycle_end.day} "
            f"({_percent(row['forecast_progress'])} of the goal)"
        )
    if row["data_status"] != "ok":
        since = row["last_observed_ts"]
        kept = f"; scored on values up to {since}" if since else ""
        reasons.append(f"{DATA_LABELS.get(row['data_status'], row['data_status'])}: "
                       f"{row['data_message'] or 'no detail'}{kept}")  # fmt: skip
    return reasons


def _history(engine: sa.Engine, as_of: date, cycle_ids: list[str]) -> dict:
    """(cycle_id, kr_id) -> [(as_of, current_value)], oldest first, values only."""
    table = warehouse.kr_scores
    query = (
        sa.select(table.c.cycle_id, table.c.kr_id, table.c.as_of, table.c.current_value)
        .where(table.c.as_of <= as_of, table.c.cycle_id.in_(cycle_ids))
        .where(table.c.current_value.is_not(None))
        .order_by(table.c.cycle_id, table.c.kr_id, table.c.as_of)
    )
    history: dict[tuple[str, str], list] = defaultdict(list)
    with engine.connect() as connection:
        for cycle_id, kr_id, day, value in connection.execute(query):
            if is_number(value):
                history[(cycle_id, kr_id)].append((day, float(value)))
    return history


def _cycle_config(project: Project, cycle_id: str):
    return next((okrs for okrs in project.cycles if okrs.cycle.id == cycle_id), None)


def _kr_view(
    row: dict, kr_config, cycle_start, cycle_end, as_of, history, objective_owner
) -> KrView:
    checkpoints = [(c.date, c.value) for c in getattr(kr_config, "checkpoints", [])]
    band = None
    if row["type"] == "stay_between" and kr_config is not None:
        band = (kr_config.min, kr_config.max)
    trend = Trend(
        start=cycle_start,
        end=cycle_end,
        as_of=as_of,
        history=tuple((day, value) for day, value in history if cycle_start <= day <= cycle_end),
        pace=pace_points(
            row["type"], row["baseline"], row["target"], cycle_start, cycle_end, checkpoints
        ),
        target=row["target"],
        band=band,
        forecast=row["forecast_value"],
    )
    condition = condition_text(row, kr_config)
    return KrView(
        row=row,
        anchor=f"kr-{row['cycle_id']}-{row['kr_id']}",
        owner=row["owner"] or objective_owner,
        chart=trend_chart(trend, label=f"{row['kr_id']}: value by day"),
        reasons=risk_reasons(row, cycle_end, condition),
        condition=condition,
    )


def _cycle_view(project, cycle_id, krs, objectives, history, as_of) -> CycleView:
    okrs = _cycle_config(project, cycle_id)
    if okrs is not None:
        start, end, themes = okrs.cycle.start, okrs.cycle.end, list(okrs.themes)
        weights = {o.id: o.weight for o in okrs.objectives}
        configs = {kr.id: kr for o in okrs.objectives for kr in o.key_results}
    else:  # a cycle removed from the config: its dates from what was scored
        days = [day for key, points in history.items() if key[0] == cycle_id for day, _ in points]
        start, end, themes, weights, configs = min(days, default=as_of), as_of, [], {}, {}
    views = {
        row["objective_id"]: ObjectiveView(
            row=row,
            anchor=f"obj-{cycle_id}-{row['objective_id']}",
            weight=weights.get(row["objective_id"], 1.0),
        )
        for row in objectives
    }
    for row in krs:
        objective = views.get(row["objective_id"])
        owner = objective.row["owner"] if objective else None
        view = _kr_view(
            row,
            configs.get(row["kr_id"]),
            start,
            end,
            as_of,
            history.get((cycle_id, row["kr_id"]), []),
            owner,
        )
        if objective is not None:
            objective.krs.append(view)
    roots = []
    for view in views.values():
        parent = views.get(view.row["parent_id"]) if view.row["parent_id"] else None
        (parent.children if parent else roots).append(view)
    by_theme: dict[str | None, list] = defaultdict(list)
    for view in roots:
        by_theme[view.row["theme"]].append(view)
    names = themes + sorted(t for t in by_theme if t is not None and t not in themes)
    nodes = [Node(theme, by_theme[theme]) for theme in names if by_theme.get(theme)]
    if by_theme.get(None):
        nodes.append(Node("Not aligned to a theme", by_theme[None], aligned=False))
    return CycleView(cycle_id, start, end, (as_of - start).days + 1, (end - start).days + 1, nodes)


def build_context(engine: sa.Engine, project: Project, as_of: date) -> dict:
    """Everything the template shows, for one as-of date."""
    krs = warehouse.read_table(engine, warehouse.kr_scores, as_of)
    objectives = warehouse.read_table(engine, warehouse.objective_scores, as_of)
    runs = warehouse.read_table(engine, warehouse.source_runs, as_of)
    checks = warehouse.read_table(engine, warehouse.metric_checks, as_of)
    cycle_ids = sorted(set(krs["cycle_id"]) | set(objectives["cycle_id"]))
    history = _history(engine, as_of, cycle_ids)
    kr_rows, objective_rows = _records(krs), _records(objectives)
    cycles = [
        _cycle_view(
            project,
            cycle_id,
            [r for r in kr_rows if r["cycle_id"] == cycle_id],
            [r for r in objective_rows if r["cycle_id"] == cycle_id],
            history,
            as_of,
        )
        for cycle_id in cycle_ids
    ]
    all_krs = [kr for c in cycles for node in c.nodes for kr in node.all_krs()]
    ends = {c.id: c.end for c in cycles}
    risks = sorted(
        (kr for kr in all_krs if kr.row["status"] in RISKY or kr.row["data_status"] != "ok"),
        key=lambda kr: (
            STATUS_ORDER.index(kr.row["status"]) if kr.row["status"] in STATUS_ORDER else 99,
            -((kr.row["expected"] or 0) - (kr.row["progress"] or 0)),
            kr.row["kr_id"],
        ),
    )
    objectives_at_risk = sorted(
        (
            o
            for c in cycles
            for node in c.nodes
            for o in node.all_objectives()
            if o.row["status"] in RISKY
        ),
        key=lambda o: (STATUS_ORDER.index(o.row["status"]), o.row["objective_id"]),
    )
    due: dict[str, list[KrView]] = defaultdict(list)
    for kr in all_krs:
        if kr.row.get("checkin_due"):
            due[kr.owner or "no owner"].append(kr)
    counts = {status: 0 for status in STATUS_ORDER}
    for kr in all_krs:
        counts[kr.row["status"]] = counts.get(kr.row["status"], 0) + 1
    failed = failed_checks(checks)
    return {
        "as_of": as_of,
        "cycles": cycles,
        "cycle_ends": ends,
        "krs": all_krs,
        "risks": risks,
        "objectives_at_risk": objectives_at_risk,
        "checkins_due": dict(sorted(due.items())),
        "counts": counts,
        "data_problems": sum(kr.row["data_status"] != "ok" for kr in all_krs),
        "teams": sorted({r["team"] for r in kr_rows + objective_rows if r["team"]}),
        "owners": sorted(
            {kr.owner for kr in all_krs if kr.owner}
            | {r["owner"] for r in objective_rows if r["owner"]}
        ),
        "source_runs": _records(runs),
        "failed_checks": _records(failed),
        "check_count": len(checks),
        "data_counts": {
            status: sum(kr.row["data_status"] == status for kr in all_krs) for status in DATA_ORDER
        },
        "status_order": STATUS_ORDER,
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=format_number,
        percent=_percent,
        score=format_score,
        width=lambda v: 0 if not is_number(v) else round(min(max(v, 0.0), 1.0) * 100, 1),
        status_label=lambda s: STATUS_LABELS.get(s, s),
        data_label=lambda s: DATA_LABELS.get(s, s),
        short_date=lambda d: f"{d:%b} {d.day}",
    )
    env.globals.update(worst_data=worst_data)
    return env


def render(context: dict) -> str:
    template = _environment().get_template("template.html.j2")
    return template.render(
        **context,
        css=Markup((HERE / "report.css").read_text(encoding="utf-8")),
        js=Markup((HERE / "report.js").read_text(encoding="utf-8")),
    )


def write_report(engine: sa.Engine, project: Project, as_of: date | None, out: Path) -> Path:
    """Write the dashboard for `as_of` (None: the latest scored date) to `out`."""
    first, last = warehouse.scored_range(engine)
    if last is None:
        raise ReportError(NO_SCORES)
    as_of = as_of or last
    if not warehouse.has_scores(engine, as_of):
        raise ReportError(str(not_scored(as_of, first, last)))
    from okr_pipeline.report.publish import write_atomically

    out = Path(out)
    write_atomically(out, render(build_context(engine, project, as_of)))
    return out


__all__ = ["ReportError", "build_context", "render", "write_report"]
