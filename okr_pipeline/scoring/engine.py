"""`score`: definition frames + metric values -> kr_scores and objective_scores (docs/scoring.md).

The key results are one array per column (`KeyResults`), one element per key result, and
become a frame only as the output table; window aggregates come from `windows` (computed once
per distinct window and gathered to the key results), rules from `rules`. Rollup key results and
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
from okr_pipeline.scoring.windows import (
    Aggregates,
    SeriesStore,
    Windows,
    count_within,
    positions,
    to_days,
)

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

KeyResults = dict[str, np.ndarray]
"""The key results being scored, one array per column: a frame's overhead on each column read
and written (some 200 of them in a run) cost more than the arithmetic at 10,000 key results."""


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
    store = SeriesStore.build(values, frames.manual_values)
    objectives = frames.objectives[frames.objectives["cycle_id"].isin(cycles["cycle_id"])]
    krs = _score_key_results(frames, cycles, objectives, store, data_problems, as_of_day)
    objectives = score_objectives(objectives, krs)
    return ScoreTables(
        kr_scores=_output(krs, KR_SCORE_COLUMNS, as_of),
        objective_scores=_output(objectives, OBJECTIVE_SCORE_COLUMNS, as_of),
    )


# ---------------------------------------------------------------- key results


def _key_results(frames: OkrFrames, cycles: pd.DataFrame, objectives: pd.DataFrame) -> KeyResults:
    """Key results of the cycles in scope (copies: later steps write into them), with cycle
    dates, owner/team and unit resolved, and `objective_row`: the row of the key result's
    objective in `objectives`."""
    key_results = frames.key_results
    cycle_row = positions(
        [cycles["cycle_id"].to_numpy(dtype=object)],
        [key_results["cycle_id"].to_numpy(dtype=object)],
    )
    in_scope = cycle_row >= 0
    krs = {column: key_results[column].to_numpy()[in_scope] for column in key_results.columns}
    krs["type"], krs["aggregation"] = _labels(krs["type"]), _labels(krs["aggregation"])
    for column in ("start_day", "end_day", "at_risk_margin", "off_track_margin"):
        krs[column] = cycles[column].to_numpy()[cycle_row[in_scope]]
    objective_row = positions(
        [
            objectives["cycle_id"].to_numpy(dtype=object),
            objectives["objective_id"].to_numpy(dtype=object),
        ],
        [krs["cycle_id"], krs["objective_id"]],
    )
    krs["objective_row"] = objective_row
    owner = krs["owner"]
    objective_owner = _at(objectives["owner"].to_numpy(dtype=object), objective_row, None)
    krs["owner"] = np.where(pd.notna(owner), owner, objective_owner)
    krs["team"] = _at(objectives["team"].to_numpy(dtype=object), objective_row, None)
    unit = krs["unit"]
    metric_row = pd.Index(frames.metrics["metric_id"]).get_indexer(krs["metric_id"])
    krs["metric_row"] = metric_row
    metric_unit = _at(frames.metrics["unit"].to_numpy(dtype=object), metric_row, None)
    krs["unit"] = np.where(pd.notna(unit), unit, metric_unit)
    series_id = krs["metric_id"].copy()
    manual = series_id == MANUAL
    series_id[manual] = MANUAL_PREFIX + krs["kr_id"][manual].astype(str)
    krs["series_id"] = series_id
    return krs


def _labels(text: np.ndarray) -> np.ndarray:
    """Text of a few distinct values (a type, an aggregation) as a numpy string array, which the
    rules compare with `==` and `np.isin` several times faster than objects, some 40 times a
    run; converted once per distinct value (None becomes "None", which no rule names)."""
    codes, names = pd.factorize(text, use_na_sentinel=False)
    return np.asarray(names, dtype=str)[codes]


def _score_key_results(
    frames: OkrFrames,
    cycles: pd.DataFrame,
    objectives: pd.DataFrame,
    store: SeriesStore,
    data_problems: pd.DataFrame,
    as_of_day: int,
) -> KeyResults:
    """Every column of kr_scores, one step (one rule or a few) at a time."""
    krs = _key_results(frames, cycles, objectives)
    krs["first_day"], krs["last_day"] = rules.window_bounds(
        as_of_day, krs["start_day"], krs["end_day"], krs["window_days"]
    )
    windows, aggregates = _measure(krs, store)
    _measured_progress(krs)
    _milestone_progress(frames, krs, store)
    _rollup_progress(frames, krs)
    _expected(frames, krs, as_of_day)
    _grade_and_status(krs, as_of_day)
    _forecast(krs, windows, aggregates)
    _data_status(frames, krs, store, data_problems, as_of_day)
    _checkins(frames, krs, as_of_day)
    return krs


def _measure(krs: KeyResults, store: SeriesStore) -> tuple[Windows, Aggregates]:
    """Window aggregates of each key result's series: current_value, the first observation of
    the cycle (for a derived baseline), and the share of days meeting a stay_* condition.
    Each is computed once per distinct window and gathered to the key results."""
    codes = store.code_of(krs["series_id"])
    krs["series_code"] = codes
    first_day, last_day, end_day = krs["first_day"], krs["last_day"], krs["end_day"]
    windows = Windows.find(store, codes, first_day, last_day, end_day)
    aggregates = windows.aggregate(store, end_day[windows.rows])
    window = windows.of
    count = windows.n[window].astype(np.float64)
    per_value = np.where(count > 0, count, np.nan)
    total = aggregates.total[window]
    krs["current_value"] = rules.current_value(
        krs["aggregation"],
        {
            "last": windows.last_value(store)[window],
            "sum": total,
            "mean": total / per_value,
            "min": aggregates.minimum[window],
            "max": aggregates.maximum[window],
            "count": count,
        },
    )
    krs["has_data"] = count > 0
    cycle_so_far = Windows.find(store, codes, krs["start_day"], last_day)
    krs["first_observation"] = cycle_so_far.first_value(store)[cycle_so_far.of]
    kr_type = krs["type"]
    lower, upper = rules.stay_bounds(kr_type, krs["target"], krs["min"], krs["max"])
    krs["met"] = rules.within(krs["current_value"], lower, upper)
    stay = np.isin(kr_type, rules.STAY_TYPES)
    days_met = np.zeros(len(krs["kr_id"]))
    days_met[stay] = count_within(
        store, windows.lo[window][stay], windows.hi[window][stay], lower[stay], upper[stay]
    )
    krs["share_met"] = days_met / per_value
    return windows, aggregates


def _measured_progress(krs: KeyResults) -> None:
    """baseline, attainment and progress of increase, decrease, stay_* and boolean."""
    kr_type = krs["type"]
    current = krs["current_value"]
    linear = np.isin(kr_type, rules.LINEAR_TYPES)
    stay = np.isin(kr_type, rules.STAY_TYPES)
    baseline = np.where(
        linear,
        rules.default_baseline(krs["baseline"], krs["aggregation"], krs["first_observation"]),
        np.nan,
    )
    target = krs["target"]
    attainment = np.select(
        [linear, stay],
        [rules.directed_attainment(kr_type, current, baseline, target), krs["share_met"]],
        default=np.nan,
    )
    progress = np.select(
        [linear, stay, kr_type == "boolean"],
        [
            rules.clamp_progress(attainment),
            krs["met"].astype(np.float64),
            rules.boolean_progress(current),
        ],
        default=0.0,
    )
    krs["baseline"] = baseline
    boolean_attainment = np.where(np.isnan(current), np.nan, progress)
    krs["attainment"] = np.where(kr_type == "boolean", boolean_attainment, attainment)
    krs["progress"] = progress
    krs["degenerate"] = linear & rules.degenerate_baseline(kr_type, baseline, target)


def _kr_row(krs: KeyResults, cycle_id: pd.Series, kr_id: pd.Series) -> np.ndarray:
    """The row in `krs` of each (cycle_id, kr_id), -1 for a key result not in scope."""
    if cycle_id.empty:
        return np.zeros(0, dtype=np.int64)
    return positions(
        [krs["cycle_id"], krs["kr_id"]],
        [cycle_id.to_numpy(dtype=object), kr_id.to_numpy(dtype=object)],
    )


def _with_kr_rows(frame: pd.DataFrame, krs: KeyResults, *columns: str) -> dict[str, np.ndarray]:
    """The rows of `frame` (milestones, checkpoints) whose key result is in scope, one array
    per column as in `krs`, with that key result's `row` in `krs` and its `columns`."""
    row = _kr_row(krs, frame["cycle_id"], frame["kr_id"])
    in_scope = row >= 0
    rows = {name: frame[name].to_numpy()[in_scope] for name in frame.columns}
    rows["row"] = row[in_scope]
    rows.update({column: krs[column][rows["row"]] for column in columns})
    return rows


def _milestone_progress(frames: OkrFrames, krs: KeyResults, store: SeriesStore) -> None:
    """Milestones: progress = done weight / total weight (attainment = progress).

    A `done_when` milestone is done once its metric met the condition on any day of the key
    result's window up to D (met, then lost: still done). current_value is the done weight,
    baseline 0 and target the total weight. The key result has data (is not no_data) when it
    has a manual milestone or any of its metrics has a value in the window.
    """
    milestones = _with_kr_rows(frames.milestones, krs, "first_day", "last_day")
    if not len(milestones["row"]):
        return
    codes = store.code_of(milestones["metric_id"])
    windows = Windows.find(store, codes, milestones["first_day"], milestones["last_day"])
    lower, upper = rules.milestone_bounds(milestones["op"], milestones["threshold"])
    lo, hi = windows.lo[windows.of], windows.hi[windows.of]
    ever = count_within(store, lo, hi, lower, upper) > 0
    done = milestones["done"] | ever
    weight = milestones["weight"]
    per_kr = (
        pd.DataFrame(
            {
                "row": milestones["row"],
                "total_weight": weight,
                "done_weight": weight * done,
                "has_data": pd.isna(milestones["metric_id"]) | (hi > lo),
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
        krs[column][rows] = value


def _rollup_progress(frames: OkrFrames, krs: KeyResults) -> None:
    """Rollup: progress = weighted mean of the children's progress (each child's own
    weight), attainment = progress. Children may be rollups themselves: resolved level by
    level, every rollup whose children are all known at once (the config forbids loops).
    current_value is the progress, baseline 0, target 1; it has data when any child has."""
    is_rollup = krs["type"] == "rollup"
    if not is_rollup.any():
        return
    children = frames.rollup_children
    parent = _kr_row(krs, children["cycle_id"], children["kr_id"])
    child = _kr_row(krs, children["cycle_id"], children["child_id"])
    in_scope = (parent >= 0) & (child >= 0)
    parent, child = parent[in_scope], child[in_scope]
    progress = np.where(is_rollup, 0.0, krs["progress"])
    has_data = np.where(is_rollup, False, krs["has_data"])
    weight = krs["weight"]
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


def _expected(frames: OkrFrames, krs: KeyResults, as_of_day: int) -> None:
    """Expected: 1 for stay_*; for increase/decrease with checkpoints, the value
    interpolated between (start - 1 day, baseline), each checkpoint and (end, target), turned
    into progress by the attainment formula and clamped to 0..1; otherwise linear pace.
    A checkpoint on D gives its own value. Without a baseline (no data yet) or with a
    degenerate one (see rules.linear_attainment), checkpoints fall back to linear pace."""
    start_day, end_day, kr_type = krs["start_day"], krs["end_day"], krs["type"]
    expected = rules.linear_expected(as_of_day, start_day, end_day)
    expected = np.where(np.isin(kr_type, rules.STAY_TYPES), 1.0, expected)
    checkpoints = _with_kr_rows(frames.checkpoints, krs, "type")
    linear = np.isin(checkpoints["type"], rules.LINEAR_TYPES)
    if linear.any():
        rows = pd.unique(checkpoints["row"][linear])
        baseline, target = krs["baseline"], krs["target"]
        points = pd.concat(
            [
                pd.DataFrame(
                    {"row": rows, "day": start_day[rows] - 1, "value": baseline[rows], "order": 0}
                ),
                pd.DataFrame(
                    {
                        "row": checkpoints["row"][linear],
                        "day": to_days(checkpoints["date"][linear]),
                        "value": checkpoints["value"][linear],
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
        paced = np.where(krs["degenerate"][rows], np.nan, paced)
        expected[rows] = np.where(np.isnan(paced), expected[rows], paced)
    krs["expected"] = expected


def _grade_and_status(krs: KeyResults, as_of_day: int) -> None:
    """score, grade_band and status."""
    krs["score"] = rules.score_from_progress(krs["progress"])
    krs["grade_band"] = rules.grade_band(krs["score"])
    krs["status"] = rules.status(
        krs["type"],
        as_of_day,
        krs["start_day"],
        krs["end_day"],
        krs["has_data"],
        krs["met"],
        krs["progress"],
        krs["expected"],
        krs["at_risk_margin"],
        krs["off_track_margin"],
    )


def _forecast(krs: KeyResults, windows: Windows, aggregates: Aggregates) -> None:
    """forecast_value: the least-squares line through the window's (day, value) points
    at the cycle end, null with fewer than 3 points; for `sum` through the running sum (and
    for `count` through the running count). forecast_progress = clamp(attainment(forecast)).

    Interpretation: only increase and decrease have a forecast (stay_*, boolean, milestones
    and rollup: null), and not with `sum`/`count` over a trailing window, whose running total
    restarts with the window and has no meaning at the cycle end."""
    kr_type, aggregation = krs["type"], krs["aggregation"]
    window = windows.of
    n = windows.n[window].astype(np.float64)
    by_aggregation = [aggregation == "sum", aggregation == "count"]
    sum_y = np.select(
        by_aggregation,
        [aggregates.sum_running[window], n * (n + 1) / 2],
        default=aggregates.total[window],
    )
    sum_xy = np.select(
        by_aggregation,
        [aggregates.sum_x_running[window], aggregates.sum_x_count[window]],
        default=aggregates.sum_xy[window],
    )
    value = rules.least_squares_at_zero(
        n,
        np.nan_to_num(aggregates.sum_x[window]),
        np.nan_to_num(sum_y),
        np.nan_to_num(aggregates.sum_xx[window]),
        np.nan_to_num(sum_xy),
    )
    running = np.isin(aggregation, ("sum", "count"))
    trailing = ~np.isnan(krs["window_days"])
    eligible = np.isin(kr_type, rules.LINEAR_TYPES) & ~(running & trailing)
    value = np.where(eligible, value, np.nan)
    krs["forecast_value"] = value
    krs["forecast_progress"] = np.where(
        np.isnan(value),
        np.nan,
        np.clip(
            rules.directed_attainment(kr_type, value, krs["baseline"], krs["target"]),
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
    krs: KeyResults,
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
    measured = np.flatnonzero(pd.notna(krs["series_id"]))
    manual = krs["metric_id"][measured] == MANUAL
    milestones = _with_kr_rows(frames.milestones, krs)
    done_when = pd.notna(milestones["metric_id"])
    milestone_metric = milestones["metric_id"][done_when]
    metric_index = pd.Index(frames.metrics["metric_id"])
    # one (key result, series) pair per measured key result and per done_when milestone
    row = np.concatenate([measured, milestones["row"][done_when]])
    series_code = np.concatenate([krs["series_code"][measured], store.code_of(milestone_metric)])
    metric_row = np.concatenate(
        [krs["metric_row"][measured], metric_index.get_indexer(milestone_metric)]
    )
    prefix = np.concatenate([np.full(len(measured), "", dtype=object), milestone_metric + ": "])

    fresh = _at(frames.metrics["fresh_within_days"].to_numpy(dtype=np.float64), metric_row, np.nan)
    fresh[: len(measured)][manual] = MANUAL_FRESH_WITHIN_DAYS
    last_day = store.newest_day(series_code, as_of_day)

    problems = data_problems.assign(rank=data_problems["data_status"].map(_DATA_RANK))
    problems = problems.sort_values("rank", ascending=False, kind="stable").drop_duplicates(
        "metric_id"
    )
    problem_of_metric = pd.Index(problems["metric_id"]).get_indexer(metric_index)
    problem_at = _at(problem_of_metric, metric_row, -1)
    has_problem = problem_at >= 0
    is_stale = rules.stale(as_of_day, last_day, fresh)
    rank = np.where(
        has_problem,
        _at(problems["rank"].to_numpy(dtype=np.int64), problem_at, 0),
        np.where(is_stale, _DATA_RANK["stale"], _DATA_RANK["ok"]),
    )

    # the most severe pair of each key result (the first of equals)
    order = np.argsort(row * len(_DATA_RANK) + (len(_DATA_RANK) - 1 - rank), kind="stable")
    worst = order[np.concatenate([[True], row[order][1:] != row[order][:-1]])[: len(order)]]
    status = np.full(len(krs["kr_id"]), "ok", dtype=object)
    status[row[worst]] = np.asarray(rules.DATA_STATUS_ORDER, dtype=object)[rank[worst]]
    message = np.full(len(krs["kr_id"]), None, dtype=object)
    problem = worst[has_problem[worst]]
    problem_text = problems["data_message"].fillna(problems["data_status"]).to_numpy(dtype=object)
    message[row[problem]] = prefix[problem] + problem_text[problem_at[problem]]
    late = worst[~has_problem[worst] & is_stale[worst]]
    message[row[late]] = prefix[late] + _stale_message(as_of_day, last_day[late], fresh[late])

    degenerate = krs["degenerate"]
    explained = pd.notna(message)
    message[degenerate & explained] = message[degenerate & explained] + "; " + DEGENERATE_MESSAGE
    message[degenerate & ~explained] = DEGENERATE_MESSAGE
    krs["data_status"] = status
    krs["data_message"] = message
    newest = np.full(len(krs["kr_id"]), np.nan)
    np.fmax.at(newest, row, last_day)
    krs["last_observed_day"] = newest


def _at(values: np.ndarray, positions: np.ndarray, missing) -> np.ndarray:
    """values[positions], with `missing` where a position is -1 (not found)."""
    result = np.full(len(positions), missing, dtype=values.dtype)
    found = positions >= 0
    result[found] = values[positions[found]]
    return result


def _stale_message(as_of_day: int, last_day: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """'newest value 2026-11-17 is 3 days old (limit 2)' for each stale pair."""
    newest = np.datetime_as_string(last_day.astype(np.int64).astype("datetime64[D]"))
    age = (as_of_day - last_day).astype(np.int64).astype(str).astype(object)
    limit = fresh.astype(np.int64).astype(str).astype(object)
    return (
        "newest value " + newest.astype(object) + " is " + age + " days old (limit " + limit + ")"
    )


def _checkins(frames: OkrFrames, krs: KeyResults, as_of_day: int) -> None:
    """confidence, checkin_note and last_checkin_date from the newest check-in of the key
    result dated <= D (the later row of two on one date), whether or not its fields are
    filled; checkin_due per `rules.checkin_due`."""
    checkins = frames.checkins.reset_index(names="order")
    checkins = checkins[to_days(checkins["date"]) <= as_of_day]
    newest = checkins.sort_values(["kr_id", "date", "order"], kind="stable").drop_duplicates(
        "kr_id", keep="last"
    )
    at = pd.Index(newest["kr_id"]).get_indexer(krs["kr_id"])
    krs["confidence"] = _at(newest["confidence"].to_numpy(dtype=np.float64), at, np.nan)
    krs["checkin_note"] = _at(newest["note"].to_numpy(dtype=object), at, None)
    newest_day = to_days(newest["date"]).astype(np.float64)
    krs["last_checkin_day"] = _at(newest_day, at, np.nan)
    krs["checkin_due"] = rules.checkin_due(
        as_of_day,
        krs["start_day"],
        krs["end_day"],
        krs["last_checkin_day"],
        krs["checkin_every_days"],
    )


# ---------------------------------------------------------------- output


def _output(table: dict[str, np.ndarray], columns: list[str], as_of: date) -> pd.DataFrame:
    """The table in the warehouse's column order and dtypes: dates datetime64[ns], numbers float64,
    success bool, text object with None for null (as `OkrFrames` holds it and the rules build
    it: looking for other nulls cost a fifth of a millisecond per column at 10,000 rows)."""
    out = {}
    for column in columns:
        if column == "as_of":
            out[column] = np.full(len(table["cycle_id"]), np.datetime64(as_of, "ns"))
        elif column in _DAYS:
            days = np.asarray(table[_DAYS[column]], dtype=np.float64)
            known = ~np.isnan(days)
            dates = np.full(len(days), np.datetime64("NaT", "ns"))
            dates[known] = days[known].astype(np.int64).astype("datetime64[D]")
            out[column] = dates
        elif column in _NUMBERS:
            out[column] = np.asarray(table[column], dtype=np.float64)
        elif column in _FLAGS:
            out[column] = np.asarray(table[column], dtype=bool)
        else:
            text = np.asarray(table[column], dtype=object)
            out[column] = pd.Series(text, dtype=object, copy=False)
    return pd.DataFrame(out, columns=columns, copy=False)
