"""`score`: definition frames + metric values -> kr_scores and objective_scores (docs/scoring.md).

One row per key result in a frame; window aggregates come from `windows` (the key-result
windows merged with the values on the series id), rules from `rules`. Rollup key results and
objectives aligned under others are resolved level by level of their tree, each level at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from okr_pipeline.scoring import rules
from okr_pipeline.scoring.frames import (
    MANUAL,
    MANUAL_FRESH_WITHIN_DAYS,
    MANUAL_PREFIX,
    OkrFrames,
)
from okr_pipeline.scoring.objectives import score_objectives
from okr_pipeline.scoring.windows import Segments, SeriesStore, to_days

KR_SCORE_COLUMNS = [
    "as_of", "cycle_id", "kr_id", "objective_id", "title", "owner", "team", "type", "metric_id",
    "unit", "baseline", "target", "min", "max", "current_value", "attainment", "progress",
    "score", "grade_band", "expected", "status", "data_status", "data_message",
    "last_observed_ts", "forecast_value", "forecast_progress", "weight", "confidence",
    "checkin_note", "last_checkin_date", "checkin_due",
]  # fmt: skip
OBJECTIVE_SCORE_COLUMNS = [
    "as_of", "cycle_id", "objective_id", "parent_id", "title", "owner", "team", "theme", "kind",
    "score", "grade_band", "expected", "status", "status_reason", "success", "kr_count",
]  # fmt: skip
_NUMBERS = {
    "baseline", "target", "min", "max", "current_value", "attainment", "progress", "score",
    "expected", "forecast_value", "forecast_progress", "weight", "confidence", "kr_count",
}  # fmt: skip
_DAYS = {"last_observed_ts": "last_observed_day", "last_checkin_date": "last_checkin_day"}
_FLAGS = {"success", "checkin_due"}
_DATA_RANK = {name: rank for rank, name in enumerate(rules.DATA_STATUS_ORDER)}


@dataclass(frozen=True)
class ScoreTables:
    kr_scores: pd.DataFrame
    objective_scores: pd.DataFrame


def score(
    frames: OkrFrames, values: pd.DataFrame, data_problems: pd.DataFrame, as_of: date
) -> ScoreTables:
    """Score every key result and objective of the cycles in scope on `as_of`."""
    as_of_day = int(np.datetime64(as_of, "D").astype(np.int64))
    cycles = frames.cycles.assign(
        start_day=to_days(frames.cycles["start"]), end_day=to_days(frames.cycles["end"])
    )
    cycles = cycles[
        rules.select_cycles(
            cycles["end_day"].to_numpy(),
            cycles["grace_days"].to_numpy(),
            cycles["archived"].to_numpy(dtype=bool),
            as_of_day,
        )
    ]
    all_values = pd.concat(
        [values[["metric_id", "ts", "value"]], frames.manual_values[["metric_id", "ts", "value"]]],
        ignore_index=True,
    )
    store = SeriesStore.build(all_values, as_of_day)
    krs = _score_key_results(frames, cycles, store, data_problems, as_of_day)
    objectives = score_objectives(frames, cycles, krs)
    return ScoreTables(
        kr_scores=_output(krs, KR_SCORE_COLUMNS, as_of),
        objective_scores=_output(objectives, OBJECTIVE_SCORE_COLUMNS, as_of),
    )


# ---------------------------------------------------------------- key results


def _key_result_frame(frames: OkrFrames, cycles: pd.DataFrame) -> pd.DataFrame:
    """Key results of the cycles in scope, with cycle dates, owner/team and unit resolved."""
    objectives = frames.objectives[["cycle_id", "objective_id", "owner", "team"]].rename(
        columns={"owner": "objective_owner"}
    )
    krs = (
        frames.key_results.merge(
            cycles[["cycle_id", "start_day", "end_day", "at_risk_margin", "off_track_margin"]],
            on="cycle_id",
        )
        .merge(objectives, on=["cycle_id", "objective_id"], how="left")
        .reset_index(drop=True)
    )
    krs["owner"] = krs["owner"].where(krs["owner"].notna(), krs["objective_owner"])
    metric_units = frames.metrics.set_index("metric_id")["unit"]
    krs["unit"] = krs["unit"].where(krs["unit"].notna(), krs["metric_id"].map(metric_units))
    manual = (krs["metric_id"] == MANUAL).to_numpy()
    krs["series_id"] = np.where(manual, MANUAL_PREFIX + krs["kr_id"].astype(str), krs["metric_id"])
    return krs


def _score_key_results(
    frames: OkrFrames,
    cycles: pd.DataFrame,
    store: SeriesStore,
    data_problems: pd.DataFrame,
    as_of_day: int,
) -> pd.DataFrame:
    """Every column of kr_scores, one step (one rule or a few) at a time."""
    krs = _key_result_frame(frames, cycles)
    krs["first_day"], krs["last_day"] = rules.window_bounds(
        as_of_day,
        krs["start_day"].to_numpy(dtype=np.int64),
        krs["end_day"].to_numpy(dtype=np.int64),
        krs["window_days"].to_numpy(),
    )
    segments = _measure(krs, store)
    _measured_progress(krs)
    _milestone_progress(frames, krs, store)
    _rollup_progress(frames, krs)
    _expected(frames, krs, as_of_day)
    _grade_and_status(krs, as_of_day)
    _forecast(krs, segments)
    _data_status(frames, krs, store, data_problems, as_of_day)
    _checkins(frames, krs, as_of_day)
    return krs


def _measure(krs: pd.DataFrame, store: SeriesStore) -> Segments:
    """Window aggregates of each key result's series: current_value, the first observation of
    the cycle (for a derived baseline), and the share of days meeting a stay_* condition."""
    codes = store.code_of(krs["series_id"])
    first_day = krs["first_day"].to_numpy()
    last_day = krs["last_day"].to_numpy()
    segments = Segments.expand(store, *store.bounds(codes, first_day, last_day))
    count = segments.n.astype(np.float64)
    per_value = np.where(count > 0, count, np.nan)
    total = segments.reduce(np.add, segments.values)
    krs["current_value"] = rules.current_value(
        krs["aggregation"].to_numpy(dtype=object),
        {
            "last": segments.last(segments.values),
            "sum": total,
            "mean": total / per_value,
            "min": segments.reduce(np.minimum, segments.values),
            "max": segments.reduce(np.maximum, segments.values),
            "count": count,
        },
    )
    krs["has_data"] = count > 0
    krs["first_observation"] = store.first_value(
        codes, krs["start_day"].to_numpy(dtype=np.int64), last_day
    )
    kr_type = krs["type"].to_numpy(dtype=object)
    lower, upper = rules.stay_bounds(
        kr_type, krs["target"].to_numpy(), krs["min"].to_numpy(), krs["max"].to_numpy()
    )
    krs["met"] = rules.within(krs["current_value"].to_numpy(), lower, upper)
    day_met = rules.within(segments.values, lower[segments.owner], upper[segments.owner])
    krs["share_met"] = segments.reduce(np.add, day_met) / per_value
    return segments


def _measured_progress(krs: pd.DataFrame) -> None:
    """baseline, attainment and progress of increase, decrease, stay_* and boolean."""
    kr_type = krs["type"].to_numpy(dtype=object)
    current = krs["current_value"].to_numpy()
    linear = np.isin(kr_type, rules.LINEAR_TYPES)
    stay = np.isin(kr_type, rules.STAY_TYPES)
    baseline = np.where(
        linear,
        rules.default_baseline(
            krs["baseline"].to_numpy(),
            krs["aggregation"].to_numpy(dtype=object),
            krs["first_observation"].to_numpy(),
        ),
        np.nan,
    )
    target = krs["target"].to_numpy()
    attainment = np.select(
        [linear, stay],
        [
            rules.directed_attainment(kr_type, current, baseline, target),
            krs["share_met"].to_numpy(),
        ],
        default=np.nan,
    )
    progress = np.select(
        [linear, stay, kr_type == "boolean"],
        [
            rules.clamp_progress(attainment),
            krs["met"].to_numpy(dtype=np.float64),
            rules.boolean_progress(current),
        ],
        default=0.0,
    )
    krs["baseline"] = baseline
    boolean_attainment = np.where(np.isnan(current), np.nan, progress)
    krs["attainment"] = np.where(kr_type == "boolean", boolean_attainment, attainment)
    krs["progress"] = progress
    krs["degenerate"] = linear & rules.degenerate_baseline(kr_type, baseline, target)


def _kr_rows(krs: pd.DataFrame, *columns: str) -> pd.DataFrame:
    return krs[["cycle_id", "kr_id", *columns]].reset_index(names="row")


def _milestone_progress(frames: OkrFrames, krs: pd.DataFrame, store: SeriesStore) -> None:
    """Milestones: progress = done weight / total weight (attainment = progress).

    A `done_when` milestone is done once its metric met the condition on any day of the key
    result's window up to D (met, then lost: still done). current_value is the done weight,
    baseline 0 and target the total weight. The key result has data (is not no_data) when it
    has a manual milestone or any of its metrics has a value in the window.
    """
    milestones = frames.milestones.merge(
        _kr_rows(krs, "first_day", "last_day"), on=["cycle_id", "kr_id"]
    )
    if milestones.empty:
        return
    codes = store.code_of(milestones["metric_id"])
    segments = Segments.expand(
        store,
        *store.bounds(codes, milestones["first_day"].to_numpy(), milestones["last_day"].to_numpy()),
    )
    threshold = milestones["threshold"].to_numpy()[segments.owner]
    op = milestones["op"].to_numpy(dtype=object)[segments.owner]
    value = segments.values
    hit = np.select(
        [op == ">=", op == "<=", op == ">", op == "<", op == "=="],
        [value >= threshold, value <= threshold, value > threshold, value < threshold,
         np.abs(value - threshold) <= rules.EPSILON],
        default=False,
    )  # fmt: skip
    ever = np.nan_to_num(segments.reduce(np.maximum, hit)) > 0
    done = milestones["done"].to_numpy(dtype=bool) | ever
    weight = milestones["weight"].to_numpy()
    per_kr = (
        pd.DataFrame(
            {
                "row": milestones["row"].to_numpy(),
                "total_weight": weight,
                "done_weight": weight * done,
                "has_data": milestones["metric_id"].isna().to_numpy() | (segments.n > 0),
            }
        )
        .groupby("row")
        .agg({"total_weight": "sum", "done_weight": "sum", "has_data": "any"})
    )
    rows = per_kr.index.to_numpy()
    progress = (per_kr["done_weight"] / per_kr["total_weight"]).to_numpy()
    for column, value in (
        ("current_value", per_kr["done_weight"].to_numpy()),
        ("baseline", 0.0),
        ("target", per_kr["total_weight"].to_numpy()),
        ("progress", progress),
        ("attainment", progress),
        ("has_data", per_kr["has_data"].to_numpy()),
    ):
        krs.loc[rows, column] = value


def _rollup_progress(frames: OkrFrames, krs: pd.DataFrame) -> None:
    """Rollup: progress = weighted mean of the children's progress (each child's own
    weight), attainment = progress. Children may be rollups themselves: resolved level by
    level, every rollup whose children are all known at once (the config forbids loops).
    current_value is the progress, baseline 0, target 1; it has data when any child has."""
    is_rollup = (krs["type"] == "rollup").to_numpy()
    if not is_rollup.any():
        return
    rows = _kr_rows(krs)
    edges = frames.rollup_children.merge(rows, on=["cycle_id", "kr_id"]).merge(
        rows.rename(columns={"kr_id": "child_id", "row": "child"}), on=["cycle_id", "child_id"]
    )
    parent = edges["row"].to_numpy()
    child = edges["child"].to_numpy()
    progress = np.where(is_rollup, 0.0, krs["progress"].to_numpy())
    has_data = np.where(is_rollup, False, krs["has_data"].to_numpy(dtype=bool))
    weight = krs["weight"].to_numpy()
    resolved = ~is_rollup
    while True:
        pending = ~resolved[parent]
        if not pending.any():
            break
        blocked = np.unique(parent[pending & ~resolved[child]])
        ready = pending & ~np.isin(parent, blocked)
        if not ready.any():
            break
        level = (
            pd.DataFrame(
                {
                    "row": parent[ready],
                    "weighted": weight[child[ready]] * progress[child[ready]],
                    "weight": weight[child[ready]],
                    "has_data": has_data[child[ready]],
                }
            )
            .groupby("row")
            .agg({"weighted": "sum", "weight": "sum", "has_data": "any"})
        )
        level_rows = level.index.to_numpy()
        progress[level_rows] = (level["weighted"] / level["weight"]).to_numpy()
        has_data[level_rows] = level["has_data"].to_numpy()
        resolved[level_rows] = True
    krs["progress"] = progress
    krs["has_data"] = has_data
    for column, value in (
        ("current_value", progress),
        ("attainment", progress),
        ("baseline", 0.0),
        ("target", 1.0),
    ):
        krs[column] = np.where(is_rollup, value, krs[column])


def _expected(frames: OkrFrames, krs: pd.DataFrame, as_of_day: int) -> None:
    """Expected: 1 for stay_*; for increase/decrease with checkpoints, the value
    interpolated between (start - 1 day, baseline), each checkpoint and (end, target), turned
    into progress by the attainment formula and clamped to 0..1; otherwise linear pace.
    A checkpoint on D gives its own value. Without a baseline (no data yet) or with a
    degenerate one (see rules.linear_attainment), checkpoints fall back to linear pace."""
    start_day = krs["start_day"].to_numpy(dtype=np.int64)
    end_day = krs["end_day"].to_numpy(dtype=np.int64)
    kr_type = krs["type"].to_numpy(dtype=object)
    expected = rules.linear_expected(as_of_day, start_day, end_day)
    expected = np.where(np.isin(kr_type, rules.STAY_TYPES), 1.0, expected)
    checkpoints = frames.checkpoints.merge(_kr_rows(krs, "type"), on=["cycle_id", "kr_id"])
    checkpoints = checkpoints[checkpoints["type"].isin(rules.LINEAR_TYPES)]
    if not checkpoints.empty:
        rows = checkpoints["row"].unique()
        baseline = krs["baseline"].to_numpy()
        target = krs["target"].to_numpy()
        points = pd.concat(
            [
                pd.DataFrame(
                    {"row": rows, "day": start_day[rows] - 1, "value": baseline[rows], "order": 0}
                ),
                pd.DataFrame(
                    {
                        "row": checkpoints["row"].to_numpy(),
                        "day": to_days(checkpoints["date"]),
                        "value": checkpoints["value"].to_numpy(),
                        "order": 1,
                    }
                ),
                pd.DataFrame(
                    {"row": rows, "day": end_day[rows], "value": target[rows], "order": 2}
                ),
            ]
        ).sort_values(["row", "day", "order"], kind="stable")
        on_or_before = points["day"] <= as_of_day
        before = points[on_or_before].drop_duplicates("row", keep="last").set_index("row")
        after = points[~on_or_before].drop_duplicates("row", keep="first").set_index("row")
        around = (
            pd.DataFrame(index=rows)
            .join(before[["day", "value"]])
            .join(after[["day", "value"]], rsuffix="_after")
        )
        value = rules.interpolate(
            as_of_day,
            around["day"].to_numpy(dtype=np.float64),
            around["value"].to_numpy(),
            around["day_after"].to_numpy(dtype=np.float64),
            around["value_after"].to_numpy(),
        )
        paced = np.clip(rules.linear_attainment(value, baseline[rows], target[rows]), 0.0, 1.0)
        paced = np.where(krs["degenerate"].to_numpy(dtype=bool)[rows], np.nan, paced)
        expected[rows] = np.where(np.isnan(paced), expected[rows], paced)
    krs["expected"] = expected


def _grade_and_status(krs: pd.DataFrame, as_of_day: int) -> None:
    """score, grade_band and status."""
    progress = krs["progress"].to_numpy(dtype=np.float64)
    krs["score"] = rules.score_from_progress(progress)
    krs["grade_band"] = rules.grade_band(krs["score"].to_numpy())
    krs["status"] = rules.status(
        krs["type"].to_numpy(dtype=object),
        as_of_day,
        krs["start_day"].to_numpy(dtype=np.int64),
        krs["end_day"].to_numpy(dtype=np.int64),
        krs["has_data"].to_numpy(dtype=bool),
        krs["met"].to_numpy(dtype=bool),
        progress,
        krs["expected"].to_numpy(),
        krs["at_risk_margin"].to_numpy(),
        krs["off_track_margin"].to_numpy(),
    )


def _forecast(krs: pd.DataFrame, segments: Segments) -> None:
    """forecast_value: the least-squares line through the window's (day, value) points
    at the cycle end, null with fewer than 3 points; for `sum` through the running sum (and
    for `count` through the running count). forecast_progress = clamp(attainment(forecast)).

    Interpretation: only increase and decrease have a forecast (stay_*, boolean, milestones
    and rollup: null), and not with `sum`/`count` over a trailing window, whose running total
    restarts with the window and has no meaning at the cycle end."""
    kr_type = krs["type"].to_numpy(dtype=object)
    aggregation = krs["aggregation"].to_numpy(dtype=object)
    owner = segments.owner
    x = (segments.days - krs["end_day"].to_numpy(dtype=np.int64)[owner]).astype(np.float64)
    y = np.select(
        [aggregation[owner] == "sum", aggregation[owner] == "count"],
        [segments.running_sum(segments.values), segments.running_sum(np.ones(len(x)))],
        default=segments.values,
    )
    n = segments.n.astype(np.float64)
    value = rules.least_squares_at_zero(
        n,
        np.nan_to_num(segments.reduce(np.add, x)),
        np.nan_to_num(segments.reduce(np.add, y)),
        np.nan_to_num(segments.reduce(np.add, x * x)),
        np.nan_to_num(segments.reduce(np.add, x * y)),
    )
    running = np.isin(aggregation, ("sum", "count"))
    trailing = ~np.isnan(krs["window_days"].to_numpy())
    eligible = np.isin(kr_type, rules.LINEAR_TYPES) & ~(running & trailing)
    value = np.where(eligible, value, np.nan)
    krs["forecast_value"] = value
    krs["forecast_progress"] = np.where(
        np.isnan(value),
        np.nan,
        np.clip(
            rules.directed_attainment(
                kr_type, value, krs["baseline"].to_numpy(), krs["target"].to_numpy()
            ),
            0.0,
            1.0,
        ),
    )


DEGENERATE_MESSAGE = (
    "baseline from the first value leaves no distance to the target: "
    "progress is 1 once the target is reached, else 0"
)


def _data_status(
    frames: OkrFrames,
    krs: pd.DataFrame,
    store: SeriesStore,
    data_problems: pd.DataFrame,
    as_of_day: int,
) -> None:
    """Data problems: data_status source_error | invalid (from this run's
    `data_problems`) | stale (D - last_observed_ts > fresh_within_days; manual key results
    14 days) | ok, with data_message; last_observed_ts = the newest value of the series up to
    D, in or out of the window. A milestones key result looks at each of its `done_when`
    metrics and shows the most severe, its message prefixed with the metric id; a rollup has
    none of its own (its children carry theirs)."""
    fresh = frames.metrics.set_index("metric_id")["fresh_within_days"]
    measured = _kr_rows(krs, "series_id", "metric_id")
    measured = measured[measured["series_id"].notna()]
    manual = measured["metric_id"] == MANUAL
    measured = measured.assign(
        fresh=np.where(manual, MANUAL_FRESH_WITHIN_DAYS, measured["metric_id"].map(fresh)),
        metric_id=measured["metric_id"].where(~manual, None),
        prefix="",
    )
    milestones = frames.milestones.merge(_kr_rows(krs), on=["cycle_id", "kr_id"])
    milestones = milestones[milestones["metric_id"].notna()]
    milestones = milestones.assign(
        series_id=milestones["metric_id"],
        fresh=milestones["metric_id"].map(fresh),
        prefix=milestones["metric_id"] + ": ",
    )
    columns = ["row", "series_id", "metric_id", "fresh", "prefix"]
    pairs = pd.concat([measured[columns], milestones[columns]], ignore_index=True)
    pairs["last_day"] = store.newest_day(store.code_of(pairs["series_id"]))
    problems = data_problems[["metric_id", "data_status", "data_message"]].assign(
        rank=data_problems["data_status"].map(_DATA_RANK)
    )
    problems = problems.sort_values("rank", ascending=False, kind="stable").drop_duplicates(
        "metric_id"
    )
    pairs = pairs.merge(
        problems.rename(columns={"data_status": "problem", "data_message": "problem_message"}),
        on="metric_id",
        how="left",
    )
    age = as_of_day - pairs["last_day"]
    is_stale = rules.stale(as_of_day, pairs["last_day"].to_numpy(), pairs["fresh"].to_numpy())
    newest = pd.to_datetime(pairs["last_day"], unit="D").dt.strftime("%Y-%m-%d")
    stale_message = (
        "newest value " + newest + " is " + age.fillna(0).astype(np.int64).astype(str)
        + " days old (limit " + pairs["fresh"].fillna(0).astype(np.int64).astype(str) + ")"
    )  # fmt: skip
    has_problem = pairs["problem"].notna()
    pairs["status"] = np.where(has_problem, pairs["problem"], np.where(is_stale, "stale", "ok"))
    pairs["message"] = np.where(
        has_problem,
        pairs["prefix"] + pairs["problem_message"].fillna(pairs["problem"]),
        np.where(is_stale, pairs["prefix"] + stale_message, None),
    )
    pairs["rank"] = pairs["status"].map(_DATA_RANK)
    worst = (
        pairs.sort_values(["row", "rank"], ascending=[True, False], kind="stable")
        .drop_duplicates("row")
        .set_index("row")
    )
    rows = pd.Series(np.arange(len(krs)))
    krs["data_status"] = rows.map(worst["status"]).fillna("ok").to_numpy(dtype=object)
    message = rows.map(worst["message"]).astype(object)
    degenerate = krs["degenerate"].to_numpy(dtype=bool)
    message = np.where(
        degenerate,
        np.where(message.notna(), message + "; " + DEGENERATE_MESSAGE, DEGENERATE_MESSAGE),
        message.where(message.notna(), None),
    )
    krs["data_message"] = message
    krs["last_observed_day"] = rows.map(pairs.groupby("row")["last_day"].max()).to_numpy(
        dtype=np.float64
    )


def _checkins(frames: OkrFrames, krs: pd.DataFrame, as_of_day: int) -> None:
    """confidence, checkin_note and last_checkin_date from the newest check-in of the key
    result dated <= D (the later row of two on one date), whether or not its fields are
    filled; checkin_due per `rules.checkin_due`."""
    checkins = frames.checkins.reset_index(names="order")
    checkins = checkins[to_days(checkins["date"]) <= as_of_day]
    newest = (
        checkins.sort_values(["kr_id", "date", "order"], kind="stable")
        .drop_duplicates("kr_id", keep="last")
        .set_index("kr_id")
    )
    krs["confidence"] = krs["kr_id"].map(newest["confidence"]).astype(np.float64)
    krs["checkin_note"] = krs["kr_id"].map(newest["note"]).astype(object)
    newest_day = pd.Series(to_days(newest["date"]).astype(np.float64), index=newest.index)
    krs["last_checkin_day"] = krs["kr_id"].map(newest_day).astype(np.float64)
    krs["checkin_due"] = rules.checkin_due(
        as_of_day,
        krs["start_day"].to_numpy(dtype=np.int64),
        krs["end_day"].to_numpy(dtype=np.int64),
        krs["last_checkin_day"].to_numpy(),
        krs["checkin_every_days"].to_numpy(dtype=np.float64),
    )


# ---------------------------------------------------------------- output


def _output(frame: pd.DataFrame, columns: list[str], as_of: date) -> pd.DataFrame:
    """The table in the warehouse's column order and dtypes: dates datetime64[ns], numbers float64,
    success bool, text object with None for null."""
    frame = frame.reset_index(drop=True)
    out = {}
    for column in columns:
        if column == "as_of":
            out[column] = pd.Series(
                np.full(len(frame), np.datetime64(as_of, "D")), dtype="datetime64[ns]"
            )
        elif column in _DAYS:
            days = pd.Series(frame[_DAYS[column]].to_numpy(dtype=np.float64))
            out[column] = pd.to_datetime(days, unit="D").astype("datetime64[ns]")
        elif column in _NUMBERS:
            out[column] = pd.Series(frame[column].to_numpy(dtype=np.float64))
        elif column in _FLAGS:
            out[column] = pd.Series(frame[column].to_numpy(dtype=bool))
        else:
            text = pd.Series(frame[column].to_numpy(dtype=object), dtype=object)
            out[column] = text.where(text.notna(), None)
    return pd.DataFrame(out, columns=columns)
