"""Properties of `score` over random projects, series and as-of dates (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okr_pipeline.scoring import frames_from_project, score
from okr_pipeline.scoring.windows import factorize_runs

from .helpers import NO_PROBLEMS, day, objective, project, series, values

METRICS = ("app.m", "app.n", "app.o")
AGGREGATIONS = ("last", "sum", "mean", "min", "max", "count")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
number = st.integers(-50, 250).map(float)


@st.composite
def key_result(draw, kr_id: str, earlier: list[str]) -> dict:
    types = ["increase", "decrease", "stay_above", "stay_below", "stay_between", "boolean",
             "milestones"] + (["rollup"] if earlier else [])  # fmt: skip
    kr_type = draw(st.sampled_from(types))
    fields = {
        "id": kr_id,
        "title": kr_id,
        "type": kr_type,
        "weight": draw(st.sampled_from([0.5, 1, 2, 3])),
        "aggregation": draw(st.sampled_from(AGGREGATIONS)),
        "window": draw(st.sampled_from(["cycle", "cycle", "trailing_7d", "trailing_30d"])),
    }
    if kr_type not in ("milestones", "rollup"):
        fields["metric"] = draw(st.sampled_from(METRICS))
    if kr_type in ("increase", "decrease"):
        baseline = draw(st.none() | number)
        step = draw(st.integers(1, 200))
        sign = 1 if kr_type == "increase" else -1
        fields["target"] = (baseline if baseline is not None else 100) + sign * step
        if baseline is not None:
            fields["baseline"] = baseline
        if draw(st.booleans()):
            fields["checkpoints"] = [
                {"date": day(draw(st.integers(1, 100))), "value": draw(number)}
            ]
    elif kr_type in ("stay_above", "stay_below"):
        fields["target"] = draw(number)
    elif kr_type == "stay_between":
        low = draw(number)
        fields.update(min=low, max=low + draw(st.integers(0, 100)))
    elif kr_type == "milestones":
        fields["milestones"] = [
            {"name": f"m{i}", "weight": draw(st.sampled_from([1, 2]))}
            | draw(
                st.sampled_from(
                    [
                        {"done": True},
                        {},
                        {"done_when": f"{draw(st.sampled_from(METRICS))} >= {draw(number):g}"},
                    ]
                )
            )
            for i in range(draw(st.integers(1, 3)))
        ]
    elif kr_type == "rollup":
        fields["children"] = draw(st.lists(st.sampled_from(earlier), min_size=1, unique=True))
    return fields


@st.composite
def scenario(draw):
    kr_ids = [f"k{i}" for i in range(draw(st.integers(1, 6)))]
    krs = [draw(key_result(kr_id, kr_ids[:i])) for i, kr_id in enumerate(kr_ids)]
    split = draw(st.integers(0, len(krs)))
    progress_from = draw(st.sampled_from(["key_results", "children", "both"]))
    objectives = [
        objective(*krs[:split], id="top", progress_from=progress_from),
        objective(*krs[split:], id="left", parent="top", weight=draw(st.sampled_from([1, 2]))),
        objective(id="right", parent="top", progress_from="children"),
        objective(id="leaf", parent="right", weight=3),
    ]
    points = [
        (metric, draw(st.integers(-10, 115)), draw(number))
        for metric in METRICS
        for _ in range(draw(st.integers(0, 12)))
    ]
    frame = pd.DataFrame(points, columns=["metric_id", "day", "value"]).drop_duplicates(
        ["metric_id", "day"]
    )
    frame["ts"] = pd.to_datetime("2026-01-01") + pd.to_timedelta(frame["day"] - 1, unit="D")
    frame["ts"] = frame["ts"].astype("datetime64[ns]")
    as_of = draw(st.integers(-5, 115))
    checkins = [("k0", day(draw(st.integers(-5, 115))), None, 0.5, "n")]
    proj = project(objectives, checkins=checkins)
    return proj, frame[["metric_id", "ts", "value"]].reset_index(drop=True), as_of


def _score(proj, vals, as_of):
    return score(frames_from_project(proj), vals, NO_PROBLEMS, pd.Timestamp(day(as_of)).date())


@SETTINGS
@given(scenario())
def test_progress_in_unit_interval_and_score_is_progress_rounded(case):
    tables = _score(*case)
    progress = tables.kr_scores["progress"].to_numpy()
    assert ((progress >= 0) & (progress <= 1)).all()
    for p, s in zip(progress, tables.kr_scores["score"], strict=True):
        # the nearest hundredth, a half going up (test_kr_cases has the exact halves)
        assert abs(s * 100 - round(s * 100)) < 1e-6 and abs(s - p) <= 0.005 + 1e-9
        if abs(p * 100 - math.floor(p * 100) - 0.5) < 1e-7:
            assert s > p
    forecast = tables.kr_scores["forecast_progress"].dropna().to_numpy()
    assert ((forecast >= 0) & (forecast <= 1)).all()


@SETTINGS
@given(scenario(), st.randoms(use_true_random=False))
def test_shuffling_the_rows_changes_nothing(case, random):
    proj, vals, as_of = case
    order = list(range(len(vals)))
    random.shuffle(order)
    first = _score(proj, vals, as_of)
    second = _score(proj, vals.iloc[order].reset_index(drop=True), as_of)
    pd.testing.assert_frame_equal(first.kr_scores, second.kr_scores)
    pd.testing.assert_frame_equal(first.objective_scores, second.objective_scores)


@SETTINGS
@given(scenario(), st.lists(st.tuples(st.sampled_from(METRICS), st.integers(1, 60), number)))
def test_values_after_the_as_of_date_change_nothing(case, later):
    proj, vals, as_of = case
    extra = values(
        *(series({day(as_of + offset): value}, metric) for metric, offset, value in later)
    )
    first = _score(proj, vals, as_of)
    second = _score(proj, pd.concat([vals, extra], ignore_index=True), as_of)
    pd.testing.assert_frame_equal(first.kr_scores, second.kr_scores)
    pd.testing.assert_frame_equal(first.objective_scores, second.objective_scores)


@SETTINGS
@given(scenario())
def test_objective_score_between_its_parts(case):
    proj, vals, as_of = case
    tables = _score(proj, vals, as_of)
    objectives = tables.objective_scores.set_index("objective_id")
    progress_from = {o.id: o.progress_from for o in proj.cycles[0].objectives}
    for objective_id, row in objectives.iterrows():
        parts = []
        if progress_from[objective_id] in ("key_results", "both"):
            parts += tables.kr_scores.loc[
                tables.kr_scores["objective_id"] == objective_id, "score"
            ].tolist()
        if progress_from[objective_id] in ("children", "both"):
            parts += objectives.loc[objectives["parent_id"] == objective_id, "score"].tolist()
        parts = [p for p in parts if not np.isnan(p)]
        if not parts:
            assert np.isnan(row["score"]) and row["status"] == "no_data"
            continue
        assert min(parts) - 1e-12 <= row["score"] <= max(parts) + 1e-12


@given(st.lists(st.sampled_from(["a.m", "b.m", "c.m", None]), max_size=40))
def test_the_series_store_codes_ids_as_a_factorize_of_every_row_would(ids):
    """Codes are computed per run of equal ids; in any order they are pd.factorize's."""
    column = np.array(ids, dtype=object)
    codes, uniques = factorize_runs(column)
    expected_codes, expected_uniques = pd.factorize(column)
    assert codes.tolist() == expected_codes.tolist()
    assert list(uniques) == list(expected_uniques)
