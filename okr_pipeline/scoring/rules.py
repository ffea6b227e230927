"""The scoring rules of docs/scoring.md, one small vectorized function per rule.

Every function takes and returns whole numpy arrays (one element per key result or per
objective); none loops over rows. Days are integers (days since the epoch). Interpretations
where a rule leaves room are stated in the docstring of the rule they concern and listed in
`okr_pipeline.scoring.__doc__`.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-9
"""Float tolerance of every comparison against a margin or a threshold of 1 or 0.7, so that a
gap of exactly 0.10 (computed as 0.30000000000000004 - 0.2) counts as on the margin."""

STATUS_ORDER = ("missed", "off_track", "at_risk", "no_data", "not_started", "on_track", "achieved")
"""Objective status: worst first. An objective's status is the first of its parts' here."""

DATA_STATUS_ORDER = ("ok", "stale", "invalid", "source_error")
"""Least to most severe; a key result on several metrics (milestones) shows the most severe."""

STAY_TYPES = ("stay_above", "stay_below", "stay_between")
LINEAR_TYPES = ("increase", "decrease")


def select_cycles(end_day: np.ndarray, grace_days: np.ndarray, archived: np.ndarray, as_of_day):
    """A run "scores every cycle that is not archived and whose end is at most grace_days
    before D", i.e. end >= D - grace_days. Cycles that have not started yet are scored (their
    key results are `not_started`)."""
    return ~archived & (end_day >= as_of_day - grace_days)


def window_bounds(as_of_day, start_day, end_day, window_days):
    """Window: `cycle` = cycle start .. D, `trailing_<N>d` = D - N + 1 .. D.

    Interpretations: after the cycle end (the grace period) the window ends at the cycle end,
    so late values of the next period never change a closed cycle's grade; a trailing window
    is not clipped to the cycle start. Before the cycle start the window is empty: a cycle
    that has not started scores nothing.
    """
    last_day = np.minimum(as_of_day, end_day)
    trailing = ~np.isnan(window_days)
    first_day = np.where(trailing, last_day - np.nan_to_num(window_days) + 1, start_day)
    first_day = np.where(as_of_day < start_day, last_day + 1, first_day)
    return first_day.astype(np.int64), last_day.astype(np.int64)


def current_value(aggregation: np.ndarray, aggregates: dict[str, np.ndarray]) -> np.ndarray:
    """current_value = the KR's aggregation over the values in the window, ts <= D;
    `last` = the value at the newest ts, `count` = the number of values. An empty window
    gives null for every aggregation but `count`, which gives 0."""
    return np.select(
        [aggregation == name for name in aggregates],
        list(aggregates.values()),
        default=np.nan,
    )


def default_baseline(baseline, aggregation, first_observation):
    """a baseline omitted is 0 for `sum` and `count`, otherwise the value at the
    earliest ts >= the cycle start (up to D and the cycle end), whatever the window."""
    derived = np.where(np.isin(aggregation, ("sum", "count")), 0.0, first_observation)
    return np.where(np.isnan(baseline), derived, baseline)


def linear_attainment(value, baseline, target):
    """attainment = (current - baseline) / (target - baseline), negative and above-1
    values kept. The same formula serves `decrease`: (baseline - current) / (baseline - target)
    is the same quotient. A zero span gives inf/NaN here; `directed_attainment` handles it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (value - baseline) / (target - baseline)


def degenerate_baseline(kr_type, baseline, target):
    """Interpretation: a baseline that leaves no distance to the target — equal to it, or
    already past it (an increase whose baseline is >= the target, a decrease whose baseline is
    <= it). Only possible when the baseline is derived from data: the config rejects an
    explicit one. Such a key result is scored 1 once the value has reached the target in its
    direction, else 0, and says so in data_message (never a division by zero)."""
    with np.errstate(invalid="ignore"):
        return (
            ((kr_type == "increase") & (baseline >= target))
            | ((kr_type == "decrease") & (baseline <= target))
        ) & ~np.isnan(baseline)


def reached_target(kr_type, value, target):
    """The value is at or past the target in the key result's direction."""
    return np.where(kr_type == "decrease", value <= target + EPSILON, value >= target - EPSILON)


def directed_attainment(kr_type, value, baseline, target):
    """`linear_attainment`, with the degenerate-baseline rule applied (null value: null)."""
    proper = linear_attainment(value, baseline, target)
    degenerate = degenerate_baseline(kr_type, baseline, target)
    fallback = np.where(np.isnan(value), np.nan, reached_target(kr_type, value, target) * 1.0)
    return np.where(degenerate, fallback, proper)


def clamp_progress(attainment):
    """progress = clamp(attainment, 0, 1); null attainment (no value) gives 0."""
    return np.clip(np.nan_to_num(attainment, nan=0.0), 0.0, 1.0)


def stay_bounds(kr_type, target, low, high):
    """stay_above met when value >= target, stay_below when value <= target,
    stay_between when min <= value <= max, as a (lower, upper) bound pair per key result."""
    lower = np.select(
        [kr_type == "stay_above", kr_type == "stay_between", kr_type == "stay_below"],
        [target, low, np.full(len(kr_type), -np.inf)],
        default=np.nan,
    )
    upper = np.select(
        [kr_type == "stay_below", kr_type == "stay_between", kr_type == "stay_above"],
        [target, high, np.full(len(kr_type), np.inf)],
        default=np.nan,
    )
    return lower, upper


def within(value, lower, upper):
    """The stay_* condition, inclusive at both ends (null and NaN bounds never meet it)."""
    with np.errstate(invalid="ignore"):
        return (value >= lower) & (value <= upper)


def milestone_bounds(op, threshold):
    """A `done_when` condition as closed bounds [lower, upper] on the value: `>` and `<` are
    the next float past the threshold, `==` is within EPSILON of it."""
    lower = np.select(
        [op == ">=", op == ">", op == "=="],
        [threshold, np.nextafter(threshold, np.inf), threshold - EPSILON],
        default=-np.inf,
    )
    upper = np.select(
        [op == "<=", op == "<", op == "=="],
        [threshold, np.nextafter(threshold, -np.inf), threshold + EPSILON],
        default=np.inf,
    )
    return lower, upper


def boolean_progress(value):
    """boolean progress = 1 if current >= 1 else 0."""
    with np.errstate(invalid="ignore"):
        return (value >= 1).astype(np.float64)


ROUNDING_TOLERANCE = 1e-9


def score_from_progress(progress):
    """score = progress rounded half up to 2 decimals, as a person rounds: 0.125 -> 0.13,
    0.695 -> 0.70. numpy rounds half to even, and 0.695 is stored as 0.69499999..., so the
    tolerance lets binary floats round as their decimals do."""
    with np.errstate(invalid="ignore"):
        return (
            np.floor(np.asarray(progress, dtype=np.float64) * 100 + 0.5 + ROUNDING_TOLERANCE) / 100
        )


def grade_band(score):
    """green (score >= 0.7), yellow (>= 0.4), red (below); null for a null score."""
    band = (score >= 0.4 - EPSILON).astype(np.int64) + (score >= 0.7 - EPSILON)
    band[np.isnan(score)] = 3
    return np.array(["red", "yellow", "green", None], dtype=object)[band]


def linear_expected(as_of_day, start_day, end_day):
    """expected = clamp((D - start + 1) / (end - start + 1), 0, 1) in days.

    Used for every type but stay_* (always 1) and increase/decrease with checkpoints; that
    includes boolean, milestones and rollup, which have no baseline to interpolate from.
    """
    return np.clip((as_of_day - start_day + 1) / (end_day - start_day + 1), 0.0, 1.0)


def interpolate(day, day_before, value_before, day_after, value_after):
    """The value at `day` on the line between the checkpoints around it (expected pace): the
    nearest checkpoint's value when `day` is outside them, its own value on the day."""
    with np.errstate(divide="ignore", invalid="ignore"):
        between = value_before + (value_after - value_before) * (day - day_before) / (
            day_after - day_before
        )
    return np.where(
        np.isnan(day_after), value_before, np.where(np.isnan(day_before), value_after, between)
    )


def status(
    kr_type,
    as_of_day,
    start_day,
    end_day,
    has_data,
    met,
    progress,
    expected,
    at_risk_margin,
    off_track_margin,
):
    """Status: the first rule that applies.

    not_started (D before the start); no_data (nothing to score: an empty window; a trailing
    window that lost its values is no_data too, its staleness shows in data_status); stay_*:
    on_track / off_track while D <= end, achieved / missed after; achieved (progress >= 1);
    missed (D after the end); else gap = expected - progress: on_track (gap <= at_risk_margin),
    at_risk (gap <= off_track_margin), off_track. Margins compared with EPSILON tolerance.
    """
    stay = np.isin(kr_type, STAY_TYPES)
    after_end = as_of_day > end_day
    gap = expected - progress
    choices = [
        (as_of_day < start_day, "not_started"),
        (~has_data, "no_data"),
        (stay & met & after_end, "achieved"),
        (stay & after_end, "missed"),
        (stay & met, "on_track"),
        (stay, "off_track"),
        (progress >= 1 - EPSILON, "achieved"),
        (after_end, "missed"),
        (gap <= at_risk_margin + EPSILON, "on_track"),
        (gap <= off_track_margin + EPSILON, "at_risk"),
    ]
    names = np.array([s for _, s in choices] + ["off_track"], dtype=object)
    return names[np.select([c for c, _ in choices], range(len(choices)), default=len(choices))]


def least_squares_at_zero(n, sum_x, sum_y, sum_xx, sum_xy):
    """forecast_value: the least-squares line through (day, value) points, evaluated
    at x = 0 (x is counted in days from the cycle end, so this is the value at the cycle
    end). Null with fewer than 3 points."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x * sum_x)
        value = (sum_y - slope * sum_x) / n
    return np.where(n >= 3, value, np.nan)


def checkin_due(as_of_day, start_day, end_day, last_checkin_day, every_days):
    """A check-in is due once `every_days` (N) have passed since the newest check-in, or,
    with none yet, since the day before the cycle started (due on its Nth day): precisely
    when D - reference >= N, and only while the cycle runs. A key result with no N (not
    manual, no `checkin_every_days`) is never due."""
    reference = np.where(np.isnan(last_checkin_day), start_day - 1, last_checkin_day)
    running = (start_day <= as_of_day) & (as_of_day <= end_day)
    with np.errstate(invalid="ignore"):
        return running & (as_of_day - reference >= every_days)


def stale(as_of_day, last_observed_day, fresh_within_days):
    """Data problems: stale when the newest value is older than fresh_within_days,
    precisely when D - last_observed_ts > fresh_within_days (days). A value fresh_within_days
    old is still fresh; no value at all, or no freshness check, is never stale."""
    with np.errstate(invalid="ignore"):
        return (as_of_day - last_observed_day) > fresh_within_days


def objective_success(kind, score):
    """success = score >= 0.7 (aspirational) or score = 1 (committed)."""
    threshold = np.where(kind == "committed", 1.0, 0.7)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(score, nan=-1.0) >= threshold - EPSILON
