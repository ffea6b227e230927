"""Pure scoring core: definition frames + metric values -> kr_scores, objective_scores.

The rules of docs/scoring.md, vectorized over whole frames; no Dagster, no database, no
Great Expectations.

    frames = frames_from_project(project)
    tables = score(frames, values, data_problems, as_of)

Choices where a rule leaves room (each also in the docstring of its rule):

- Window: `cycle` is cycle start .. min(D, cycle end); a trailing window ends at
  min(D, cycle end) too and is not clipped to the cycle start. After the end (grace period)
  the grade therefore stays put. Before the start every window is empty: status
  not_started, progress 0 (a milestone marked `done: true` still counts).
- no_data: the key result's window holds no value (milestones: no manual milestone and no
  value of any `done_when` metric in the window; rollup: no child has data). progress 0,
  attainment null; last_observed_ts and data_status still describe the series.
- An empty window: current_value null, except `count` = 0.
- Derived baseline (omitted): 0 for sum/count, else the first value of the cycle
  (cycle start .. min(D, end)), whatever the window. When it equals the target or is already
  past it, attainment/progress is 1 once the target is reached in the KR's direction, else
  0, with data_message saying so (data_status unchanged).
- decrease uses the same formula (current - baseline) / (target - baseline).
- expected: linear pace for every type but stay_* (1) and increase/decrease with
  checkpoints (interpolated; a checkpoint on D gives its own value; no baseline yet or a
  degenerate one falls back to linear pace).
- Status margins are compared with a tolerance of 1e-9 (gap exactly 0.10 is on_track).
- forecast: increase/decrease only; `sum` and `count` through their running total (cycle
  windows only; null for trailing windows); null with fewer than 3 points; x in days from
  the cycle end.
- boolean: baseline null, target 1, attainment = progress. milestones: current_value = done
  weight, baseline 0, target = total weight; a `done_when` milestone counts once met on any
  day of the KR's window up to D. rollup: current_value = progress, baseline 0, target 1.
  stay_between: baseline and target null, its bounds in `min` and `max`.
- data_status: milestones show the most severe problem of their `done_when` metrics
  (message prefixed with the metric id); rollups have none of their own.
- Check-ins: the newest dated <= D (the later of two on one date) gives confidence,
  checkin_note and last_checkin_date, even when those are empty. checkin_due: manual key
  results (and those that set `checkin_every_days`) are due N days after their newest
  check-in, or from day N of the cycle without one, while the cycle runs.
- Objective status_reason: the worst part by name (the one furthest behind its expected
  among parts of the same status, "and N more" like it); on track or achieved, the
  objective's own score against its expected.
- Objective: score = weighted mean of parts' scores (unrounded); expected = weighted mean of
  parts' expected; status = worst part (missed, off_track, at_risk, no_data, not_started,
  on_track, achieved); grade_band from its score; success >= 0.7 (aspirational) or = 1
  (committed); no part at all: score null, status no_data, success false.
- Values: duplicates of (metric_id, ts) are averaged; null values are ignored.
"""

from okr_pipeline.scoring.engine import (
    KR_SCORE_COLUMNS,
    OBJECTIVE_SCORE_COLUMNS,
    ScoreTables,
    score,
)
from okr_pipeline.scoring.frames import OkrFrames, frames_from_project

__all__ = [
    "KR_SCORE_COLUMNS",
    "OBJECTIVE_SCORE_COLUMNS",
    "OkrFrames",
    "ScoreTables",
    "frames_from_project",
    "score",
]
