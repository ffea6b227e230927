"""Hand-computed key-result cases (docs/scoring.md): a small series, a key result, an as-of day.

The cycle is C100: 2026-01-01 .. 2026-04-10, 100 days, so on day k (day 1 = 2026-01-01) the
linear expected pace is k / 100. Points and as-of dates are given as day numbers (day 0 is
the day before the start). Default margins: on_track gap <= 0.10, at_risk gap <= 0.25.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest

from okr_pipeline.scoring.engine import DEGENERATE_MESSAGE

from .helpers import (
    CYCLE_100,
    day,
    kr,
    kr_row,
    objective,
    project,
    run,
    series,
    values,
)

nan = math.nan


class Expect(NamedTuple):
    current_value: float
    attainment: float
    progress: float
    score: float
    grade_band: str
    expected: float
    status: str
    forecast_value: float


class Case(NamedTuple):
    name: str
    kr: dict
    points: dict[int, float]  # app.m by day number
    as_of: int
    expect: Expect
    more: dict | None = None  # other key results and series: {"krs": [...], "app.n": {...}}
    extra: dict | None = None  # other kr_scores fields to check
    cycle: dict | None = None


I = {"baseline": 100, "target": 200}  # noqa: E741  increase 100 -> 200: attainment = (v - 100) / 100
MILESTONES = [
    {"name": "a", "weight": 1, "done": True},
    {"name": "b", "weight": 3, "done_when": "app.m >= 10"},
]
E = Expect

CASES = [
    # ---------------------------------------------------------------- increase
    Case("increase half way", kr(**I), {10: 110, 20: 130, 30: 150}, 30,
         # (150 - 100) / (200 - 100) = 0.5; expected 30/100; gap -0.2 -> on_track;
         # least squares through (10,110),(20,130),(30,150): 90 + 2 * 100 = 290
         E(150, 0.5, 0.5, 0.5, "yellow", 0.3, "on_track", 290)),
    Case("increase at risk", kr(**I), {50: 130}, 50,
         # (130 - 100) / 100 = 0.3; gap 0.5 - 0.3 = 0.2 -> at_risk; 1 point: no forecast
         E(130, 0.3, 0.3, 0.3, "red", 0.5, "at_risk", nan)),
    Case("increase off track", kr(**I), {50: 120}, 50,
         # 0.2; gap 0.5 - 0.2 = 0.3 > 0.25
         E(120, 0.2, 0.2, 0.2, "red", 0.5, "off_track", nan)),
    Case("gap exactly on the at_risk margin", kr(**I), {40: 130}, 40,
         # gap 0.4 - 0.3 = 0.10000000000000003 in floats: on the margin -> on_track
         E(130, 0.3, 0.3, 0.3, "red", 0.4, "on_track", nan)),
    Case("gap exactly on the off_track margin", kr(**I), {55: 130}, 55,
         # gap 0.55 - 0.3 = 0.25 -> at_risk
         E(130, 0.3, 0.3, 0.3, "red", 0.55, "at_risk", nan)),
    Case("gap just past the off_track margin", kr(**I), {56: 130}, 56,
         # gap 0.56 - 0.3 = 0.26 -> off_track
         E(130, 0.3, 0.3, 0.3, "red", 0.56, "off_track", nan)),
    Case("increase achieved", kr(**I), {30: 200}, 30,
         # (200 - 100) / 100 = 1 -> achieved
         E(200, 1.0, 1.0, 1.0, "green", 0.3, "achieved", nan)),
    Case("attainment above 1", kr(**I), {10: 150, 20: 200, 30: 250}, 30,
         # (250 - 100) / 100 = 1.5 kept; progress 1; line 100 + 5x -> 600 at day 100
         E(250, 1.5, 1.0, 1.0, "green", 0.3, "achieved", 600)),
    Case("negative attainment", kr(**I), {30: 80}, 30,
         # (80 - 100) / 100 = -0.2 kept; progress 0; gap 0.3 -> off_track
         E(80, -0.2, 0.0, 0.0, "red", 0.3, "off_track", nan)),
    Case("first day of the cycle", kr(**I), {1: 110}, 1,
         # 0.1; expected (1 - 1 + 1) / 100 = 0.01; gap -0.09
         E(110, 0.1, 0.1, 0.1, "red", 0.01, "on_track", nan)),
    Case("last day of the cycle, on margin", kr(**I), {100: 190}, 100,
         # 0.9; expected 100/100 = 1; gap 0.1 -> on_track (not yet missed: D == end)
         E(190, 0.9, 0.9, 0.9, "green", 1.0, "on_track", nan)),
    Case("last day of the cycle, behind", kr(**I), {100: 150}, 100,
         # 0.5; gap 0.5 -> off_track
         E(150, 0.5, 0.5, 0.5, "yellow", 1.0, "off_track", nan)),
    Case("day after the end: missed", kr(**I), {100: 190}, 101,
         # 0.9 < 1 and D > end -> missed; expected clamp(101/100) = 1
         E(190, 0.9, 0.9, 0.9, "green", 1.0, "missed", nan)),
    Case("after the end, achieved", kr(**I), {90: 200}, 120,
         # 1 -> achieved comes before missed
         E(200, 1.0, 1.0, 1.0, "green", 1.0, "achieved", nan)),
    Case("as-of before the start", kr(**I), {-5: 150}, 0,
         # D < start: not_started, empty window; expected clamp(0/100) = 0
         E(nan, nan, 0.0, 0.0, "red", 0.0, "not_started", nan)),
    Case("values after the as-of date ignored", kr(**I), {10: 120, 40: 190}, 20,
         # only day 10 counts: 0.2; expected 0.2
         E(120, 0.2, 0.2, 0.2, "red", 0.2, "on_track", nan)),
    Case("values before the cycle ignored by the cycle window", kr(**I, aggregation="max"),
         {-10: 180, 10: 120}, 10,
         # max over day 10 only = 120: 0.2; expected 0.1
         E(120, 0.2, 0.2, 0.2, "red", 0.1, "on_track", nan)),
    Case("empty window", kr(**I), {-10: 150}, 10,
         # nothing in 1..10: no_data, progress 0, attainment null
         E(nan, nan, 0.0, 0.0, "red", 0.1, "no_data", nan)),
    Case("no value at all", kr(**I), {}, 10,
         E(nan, nan, 0.0, 0.0, "red", 0.1, "no_data", nan)),
    Case("count over an empty window", kr(aggregation="count", target=10), {}, 10,
         # count = 0, baseline 0: (0 - 0) / 10 = 0, still no_data
         E(0, 0.0, 0.0, 0.0, "red", 0.1, "no_data", nan)),
    # ---------------------------------------------------------------- aggregations and windows
    Case("trailing sum", kr(aggregation="sum", window="trailing_7d", target=100),
         {k: 5 for k in range(1, 11)}, 10,
         # window days 4..10: 7 * 5 = 35; baseline 0: 35/100; trailing sum: no forecast
         E(35, 0.35, 0.35, 0.35, "red", 0.1, "on_track", nan), extra={"baseline": 0}),
    Case("trailing window reaches before the cycle", kr(aggregation="sum", window="trailing_7d",
         target=100), {-2: 10, 2: 10, 9: 10}, 3,
         # window days -3..3 holds days -2 and 2: 20; expected 0.03; gap -0.17
         E(20, 0.2, 0.2, 0.2, "red", 0.03, "on_track", nan)),
    Case("sum over the cycle with a running-sum forecast", kr(aggregation="sum", target=1000),
         {1: 10, 2: 10, 3: 10}, 3,
         # 30 / 1000 = 0.03; running sums 10, 20, 30 on days 1..3: 10x -> 1000 at day 100
         E(30, 0.03, 0.03, 0.03, "red", 0.03, "on_track", 1000),
         extra={"forecast_progress": 1.0}),
    Case("count", kr(aggregation="count", target=10), {5: 1, 6: 7, 7: 3}, 10,
         # 3 values: 3/10; running count 1, 2, 3 on days 5..7: x - 4 -> 96 at day 100
         E(3, 0.3, 0.3, 0.3, "red", 0.1, "on_track", 96)),
    Case("mean", kr(aggregation="mean", baseline=100, target=300), {1: 100, 2: 200, 3: 300}, 3,
         # mean 200: (200 - 100) / 200 = 0.5; line 100x -> 10000
         E(200, 0.5, 0.5, 0.5, "yellow", 0.03, "on_track", 10000),
         extra={"forecast_progress": 1.0}),
    Case("min", kr(**I, aggregation="min"), {1: 150, 2: 120, 3: 170}, 3,
         # min 120: 0.2; slope sum((x-2)*y)/2 = (-150 + 170)/2 = 10, mean y 440/3:
         # 440/3 + 10 * (100 - 2) = 1126.666...
         E(120, 0.2, 0.2, 0.2, "red", 0.03, "on_track", 440 / 3 + 980)),
    Case("max", kr(**I, aggregation="max"), {1: 150, 2: 120, 3: 170}, 3,
         # max 170: 0.7
         E(170, 0.7, 0.7, 0.7, "green", 0.03, "on_track", 440 / 3 + 980)),
    Case("trailing last with exactly 3 points", kr(**I, window="trailing_5d"),
         {1: 100, 6: 120, 8: 130, 10: 140}, 10,
         # window 6..10: (6,120),(8,130),(10,140): 90 + 5x -> 590; 140: 0.4
         E(140, 0.4, 0.4, 0.4, "yellow", 0.1, "on_track", 590),
         extra={"forecast_progress": 1.0}),
    Case("fewer than 3 points in the window: no forecast", kr(**I, window="trailing_3d"),
         {1: 100, 6: 120, 8: 130, 10: 140}, 10,
         # window 8..10: 2 points
         E(140, 0.4, 0.4, 0.4, "yellow", 0.1, "on_track", nan)),
    Case("after the end the window stops at the end", kr(**I), {100: 150, 105: 200}, 110,
         # day 105 is after the cycle end: current 150 -> 0.5, missed
         E(150, 0.5, 0.5, 0.5, "yellow", 1.0, "missed", nan)),
    Case("score rounded to 2 places", kr(**I), {30: 112.345}, 30,
         # 12.345 / 100 = 0.12345 -> 0.12; gap 0.3 - 0.12345 = 0.17655 -> at_risk
         E(112.345, 0.12345, 0.12345, 0.12, "red", 0.3, "at_risk", nan)),
    Case("score rounds half up", kr(**I), {30: 112.5}, 30,
         # 12.5 / 100 = 0.125 -> 0.13 (half to even would give 0.12); gap 0.3 - 0.125 = 0.175
         E(112.5, 0.125, 0.125, 0.13, "red", 0.3, "at_risk", nan)),
    Case("score rounds a binary 0.695 up to 0.70, which is green", kr(**I), {30: 169.5}, 30,
         # 69.5 / 100 = 0.695 (0.69499999... in binary) -> 0.70, grade band from the score
         E(169.5, 0.695, 0.695, 0.70, "green", 0.3, "on_track", nan)),
    Case("green from 0.7", kr(**I), {30: 170}, 30,
         E(170, 0.7, 0.7, 0.7, "green", 0.3, "on_track", nan)),
    Case("yellow below 0.7", kr(**I), {30: 169}, 30,
         E(169, 0.69, 0.69, 0.69, "yellow", 0.3, "on_track", nan)),
    Case("yellow from 0.4", kr(**I), {30: 140}, 30,
         E(140, 0.4, 0.4, 0.4, "yellow", 0.3, "on_track", nan)),
    Case("red below 0.4", kr(**I), {30: 139}, 30,
         # gap 0.3 - 0.39 < 0
         E(139, 0.39, 0.39, 0.39, "red", 0.3, "on_track", nan)),
    Case("cycle margins: gap 0.2 on track", kr(**I), {50: 130}, 50,
         # gap 0.2 <= at_risk_margin 0.2
         E(130, 0.3, 0.3, 0.3, "red", 0.5, "on_track", nan),
         cycle={**CYCLE_100, "at_risk_margin": 0.2, "off_track_margin": 0.3}),
    Case("cycle margins: gap 0.3 at risk", kr(**I), {50: 120}, 50,
         # gap 0.3 <= off_track_margin 0.3
         E(120, 0.2, 0.2, 0.2, "red", 0.5, "at_risk", nan),
         cycle={**CYCLE_100, "at_risk_margin": 0.2, "off_track_margin": 0.3}),
    # ---------------------------------------------------------------- baselines
    Case("baseline from the cycle's first value", kr(target=150), {-3: 10, 1: 50, 10: 80}, 10,
         # baseline 50 (day -3 is before the cycle): (80 - 50) / (150 - 50) = 0.3
         E(80, 0.3, 0.3, 0.3, "red", 0.1, "on_track", nan), extra={"baseline": 50}),
    Case("baseline from the cycle, whatever the window", kr(target=150, window="trailing_3d"),
         {1: 50, 8: 60, 10: 80}, 10,
         # window 8..10, last 80; baseline day 1 = 50: 0.3
         E(80, 0.3, 0.3, 0.3, "red", 0.1, "on_track", nan), extra={"baseline": 50}),
    Case("derived baseline equals target, reached", kr(target=150), {1: 150, 10: 150}, 10,
         # baseline 150 = target: no division; 150 >= 150 -> 1
         E(150, 1.0, 1.0, 1.0, "green", 0.1, "achieved", nan),
         extra={"baseline": 150, "data_message": DEGENERATE_MESSAGE, "data_status": "ok"}),
    Case("derived baseline equals target, not reached", kr(target=150), {1: 150, 20: 140}, 20,
         # 140 < 150 -> 0; gap 0.2 -> at_risk
         E(140, 0.0, 0.0, 0.0, "red", 0.2, "at_risk", nan),
         extra={"data_message": DEGENERATE_MESSAGE}),
    Case("decrease derived baseline already past target", kr(type="decrease", target=10),
         {1: 8, 10: 9}, 10,
         # baseline 8 <= target 10: 9 <= 10 -> 1
         E(9, 1.0, 1.0, 1.0, "green", 0.1, "achieved", nan), extra={"baseline": 8}),
    # ---------------------------------------------------------------- decrease
    Case("decrease half way", kr(type="decrease", baseline=50, target=10), {50: 30}, 50,
         # (30 - 50) / (10 - 50) = 0.5; gap 0
         E(30, 0.5, 0.5, 0.5, "yellow", 0.5, "on_track", nan)),
    Case("decrease overshoot", kr(type="decrease", baseline=50, target=10), {20: 5}, 20,
         # (5 - 50) / (10 - 50) = 1.125
         E(5, 1.125, 1.0, 1.0, "green", 0.2, "achieved", nan)),
    Case("decrease the wrong way", kr(type="decrease", baseline=50, target=10), {20: 60}, 20,
         # (60 - 50) / (10 - 50) = -0.25; gap 0.2
         E(60, -0.25, 0.0, 0.0, "red", 0.2, "at_risk", nan)),
    Case("decrease forecast", kr(type="decrease", baseline=50, target=10),
         {10: 46, 20: 42, 30: 38}, 30,
         # (38 - 50) / -40 = 0.3; line 50 - 0.4x -> 10 at day 100: forecast progress 1
         E(38, 0.3, 0.3, 0.3, "red", 0.3, "on_track", 10), extra={"forecast_progress": 1.0}),
    # ---------------------------------------------------------------- checkpoints
    Case("checkpoint: slow start", kr(**I, checkpoints=[{"date": day(50), "value": 110}]),
         {25: 106}, 25,
         # between (day 0, 100) and (day 50, 110): 100 + 10 * 25/50 = 105 -> 0.05; 0.06
         E(106, 0.06, 0.06, 0.06, "red", 0.05, "on_track", nan)),
    Case("checkpoint on the as-of date", kr(**I, checkpoints=[{"date": day(50), "value": 110}]),
         {50: 105}, 50,
         # expected value 110 on day 50: 0.1; 0.05; gap 0.05
         E(105, 0.05, 0.05, 0.05, "red", 0.1, "on_track", nan)),
    Case("after the last checkpoint", kr(**I, checkpoints=[{"date": day(50), "value": 110}]),
         {75: 130}, 75,
         # between (50, 110) and (100, 200): 110 + 90 * 25/50 = 155 -> 0.55; gap 0.25
         E(130, 0.3, 0.3, 0.3, "red", 0.55, "at_risk", nan)),
    Case("two checkpoints", kr(**I, checkpoints=[{"date": day(20), "value": 120},
         {"date": day(40), "value": 180}]), {30: 140}, 30,
         # between (20, 120) and (40, 180): 120 + 60 * 10/20 = 150 -> 0.5; 0.4; gap 0.1
         E(140, 0.4, 0.4, 0.4, "yellow", 0.5, "on_track", nan)),
    Case("checkpoints before the start", kr(**I, checkpoints=[{"date": day(50), "value": 110}]),
         {}, 0,
         # day 0 = start - 1: the baseline itself -> 0
         E(nan, nan, 0.0, 0.0, "red", 0.0, "not_started", nan)),
    Case("checkpoints with a derived baseline", kr(target=200,
         checkpoints=[{"date": day(50), "value": 110}]), {1: 100, 25: 104}, 25,
         # baseline 100: expected 0.05 as above; (104 - 100) / 100 = 0.04
         E(104, 0.04, 0.04, 0.04, "red", 0.05, "on_track", nan)),
    Case("decrease checkpoint", kr(type="decrease", baseline=50, target=10,
         checkpoints=[{"date": day(50), "value": 20}]), {50: 30}, 50,
         # expected value 20 on day 50: (20 - 50) / (10 - 50) = 0.75; 0.5; gap 0.25
         E(30, 0.5, 0.5, 0.5, "yellow", 0.75, "at_risk", nan)),
    # ---------------------------------------------------------------- stay_*
    Case("stay_above met", kr(type="stay_above", target=5), {1: 6, 2: 4, 3: 7}, 3,
         # last 7 >= 5; 2 of 3 days met
         E(7, 2 / 3, 1.0, 1.0, "green", 1.0, "on_track", nan)),
    Case("stay_above not met", kr(type="stay_above", target=5), {1: 6, 2: 7, 3: 4}, 3,
         E(4, 2 / 3, 0.0, 0.0, "red", 1.0, "off_track", nan)),
    Case("stay_above on the threshold", kr(type="stay_above", target=5), {1: 5}, 1,
         E(5, 1.0, 1.0, 1.0, "green", 1.0, "on_track", nan)),
    Case("stay_below", kr(type="stay_below", target=10), {1: 12, 2: 9, 3: 10, 4: 11}, 4,
         # 11 > 10; days met: 9 and 10 -> 2/4
         E(11, 0.5, 0.0, 0.0, "red", 1.0, "off_track", nan)),
    Case("stay_between", kr(type="stay_between", min=2, max=4),
         {1: 1, 2: 2, 3: 4, 4: 5, 5: 3}, 5,
         # 2 <= 3 <= 4; days met: 2, 4, 3 -> 3/5
         E(3, 0.6, 1.0, 1.0, "green", 1.0, "on_track", nan), extra={"target": nan}),
    Case("stay after the end, met", kr(type="stay_above", target=5), {100: 6}, 101,
         E(6, 1.0, 1.0, 1.0, "green", 1.0, "achieved", nan)),
    Case("stay after the end, not met", kr(type="stay_above", target=5), {99: 6, 100: 4}, 105,
         E(4, 0.5, 0.0, 0.0, "red", 1.0, "missed", nan)),
    Case("stay before any value", kr(type="stay_above", target=5), {20: 6}, 10,
         E(nan, nan, 0.0, 0.0, "red", 1.0, "no_data", nan)),
    Case("stay with mean", kr(type="stay_above", target=5, aggregation="mean"), {1: 4, 2: 7}, 2,
         # mean 5.5 >= 5; days met: 7 only -> 1/2
         E(5.5, 0.5, 1.0, 1.0, "green", 1.0, "on_track", nan)),
    Case("stay ignores days before the cycle", kr(type="stay_above", target=5), {-1: 1, 1: 6}, 1,
         E(6, 1.0, 1.0, 1.0, "green", 1.0, "on_track", nan)),
    Case("stay before the start", kr(type="stay_below", target=5), {-3: 1}, -1,
         E(nan, nan, 0.0, 0.0, "red", 1.0, "not_started", nan)),
    # ---------------------------------------------------------------- boolean
    Case("boolean not done", kr(type="boolean"), {1: 0, 5: 0}, 50,
         # 0 < 1; expected 0.5, gap 0.5
         E(0, 0.0, 0.0, 0.0, "red", 0.5, "off_track", nan), extra={"target": 1.0}),
    Case("boolean done", kr(type="boolean"), {1: 0, 20: 1}, 30,
         E(1, 1.0, 1.0, 1.0, "green", 0.3, "achieved", nan)),
    Case("boolean done then undone", kr(type="boolean"), {20: 1, 30: 0}, 30,
         # last = 0; gap 0.3
         E(0, 0.0, 0.0, 0.0, "red", 0.3, "off_track", nan)),
    Case("boolean max keeps it done", kr(type="boolean", aggregation="max"), {20: 1, 30: 0}, 30,
         E(1, 1.0, 1.0, 1.0, "green", 0.3, "achieved", nan)),
    Case("boolean without data", kr(type="boolean"), {}, 10,
         E(nan, nan, 0.0, 0.0, "red", 0.1, "no_data", nan)),
    # ---------------------------------------------------------------- milestones
    Case("milestones: one of two", kr(type="milestones", metric=None, milestones=MILESTONES),
         {5: 8}, 50,
         # a done (1), b not (8 < 10): 1 / (1 + 3) = 0.25; gap 0.25 -> at_risk
         E(1, 0.25, 0.25, 0.25, "red", 0.5, "at_risk", nan), extra={"target": 4, "baseline": 0}),
    Case("milestone met then lost", kr(type="milestones", metric=None, milestones=MILESTONES),
         {5: 12, 6: 8}, 50,
         # 12 >= 10 on day 5: done for good -> 4/4
         E(4, 1.0, 1.0, 1.0, "green", 0.5, "achieved", nan)),
    Case("milestone met after the as-of date", kr(type="milestones", metric=None,
         milestones=MILESTONES), {60: 12}, 50,
         E(1, 0.25, 0.25, 0.25, "red", 0.5, "at_risk", nan)),
    Case("milestone met before the window", kr(type="milestones", metric=None,
         milestones=MILESTONES), {-3: 12}, 50,
         E(1, 0.25, 0.25, 0.25, "red", 0.5, "at_risk", nan)),
    Case("milestone with <", kr(type="milestones", metric=None, milestones=[
         {"name": "a", "done_when": "app.m < 3"}, {"name": "b"}]), {5: 2}, 10,
         # 2 < 3: a done; b manual, not done: 1/2; gap -0.4
         E(1, 0.5, 0.5, 0.5, "yellow", 0.1, "on_track", nan)),
    Case("milestones without any value", kr(type="milestones", metric=None, milestones=[
         {"name": "a", "done_when": "app.m >= 1"}]), {}, 10,
         E(0, 0.0, 0.0, 0.0, "red", 0.1, "no_data", nan)),
    # ---------------------------------------------------------------- rollup
    Case("rollup weighted", {"id": "k1", "title": "r", "type": "rollup", "children": ["k2", "k3"]},
         {}, 50,
         # k2 (0 -> 10, at 5) 0.5 weight 1; k3 stay_above met 1 weight 2: (0.5 + 2) / 3
         E(2.5 / 3, 2.5 / 3, 2.5 / 3, 0.83, "green", 0.5, "on_track", nan),
         more={"krs": [kr(id="k2", metric="app.n", baseline=0, target=10),
                       kr(id="k3", metric="app.o", type="stay_above", target=0, weight=2)],
               "app.n": {10: 5}, "app.o": {10: 1}}),
    Case("rollup of a rollup", {"id": "k1", "title": "r", "type": "rollup",
         "children": ["k2", "k5"]}, {}, 50,
         # k2 = rollup(k3) = 0.5; k5 boolean done = 1: (0.5 + 1) / 2 = 0.75
         E(0.75, 0.75, 0.75, 0.75, "green", 0.5, "on_track", nan),
         more={"krs": [{"id": "k2", "title": "r2", "type": "rollup", "children": ["k3"]},
                       kr(id="k3", metric="app.n", baseline=0, target=10),
                       kr(id="k5", metric="app.o", type="boolean")],
               "app.n": {10: 5}, "app.o": {10: 1}}),
    Case("rollup without data", {"id": "k1", "title": "r", "type": "rollup",
         "children": ["k2"]}, {}, 50,
         E(0, 0.0, 0.0, 0.0, "red", 0.5, "no_data", nan),
         more={"krs": [kr(id="k2", metric="app.n", baseline=0, target=10)]}),
    # ---------------------------------------------------------------- manual
    Case("manual from check-ins", kr(metric="manual", baseline=0, target=10), {}, 30,
         # check-ins day 5: 3, day 20: 6 -> last 6: 0.6
         E(6, 0.6, 0.6, 0.6, "yellow", 0.3, "on_track", nan),
         more={"checkins": [("k1", day(5), 3), ("k1", day(20), 6), ("k1", day(40), 9)]},
         extra={"metric_id": "manual"}),
]  # fmt: skip


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return actual == pytest.approx(expected, rel=1e-9, abs=1e-9)
    return actual == expected


def test_there_are_enough_cases():
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case):
    more = case.more or {}
    proj = project(
        [objective(case.kr, *more.get("krs", []))],
        case.cycle or CYCLE_100,
        checkins=more.get("checkins", []),
    )
    frames = [series({day(k): v for k, v in case.points.items()})]
    frames += [
        series({day(k): v for k, v in points.items()}, metric)
        for metric, points in more.items()
        if metric.startswith("app.")
    ]
    row = kr_row(run(proj, values(*frames), day(case.as_of)))
    wanted = {**case.expect._asdict(), **(case.extra or {})}
    wrong = {
        field: (row[field], value)
        for field, value in wanted.items()
        if not _same(row[field], value)
    }
    assert not wrong, f"(actual, expected): {wrong}"
