"""The scored tables as a whole: columns, cycles in scope, data status, check-ins, objectives.

Cycle C100 runs 2026-01-01 .. 2026-04-10 (100 days): on day k, linear expected = k / 100.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from okr_pipeline.scoring import (
    KR_SCORE_COLUMNS,
    OBJECTIVE_SCORE_COLUMNS,
    OkrFrames,
    frames_from_project,
    score,
)
from okr_pipeline.scoring.engine import DEGENERATE_MESSAGE

from .helpers import (
    CYCLE_100,
    NO_PROBLEMS,
    day,
    kr,
    kr_row,
    objective,
    objective_row,
    problems,
    project,
    run,
    series,
    values,
)

I = {"baseline": 100, "target": 200}  # noqa: E741  attainment = (v - 100) / 100


def test_columns_and_dtypes():
    proj = project(
        [objective(kr(**I), kr(id="k2", type="milestones", metric=None,
                               milestones=[{"name": "a", "done": True}]))]
    )  # fmt: skip
    tables = run(proj, series({day(10): 150}), day(10))
    assert list(tables.kr_scores.columns) == KR_SCORE_COLUMNS
    assert list(tables.objective_scores.columns) == OBJECTIVE_SCORE_COLUMNS
    kr_types = tables.kr_scores.dtypes
    assert kr_types["as_of"] == "datetime64[ns]"
    assert kr_types["last_observed_ts"] == "datetime64[ns]"
    for column in ("baseline", "target", "current_value", "score", "confidence", "weight"):
        assert kr_types[column] == np.float64, column
    for column in ("kr_id", "unit", "data_message", "checkin_note", "metric_id"):
        assert kr_types[column] == np.dtype(object), column
    assert tables.objective_scores.dtypes["success"] == np.dtype(bool)
    assert tables.objective_scores.dtypes["as_of"] == "datetime64[ns]"
    milestone = kr_row(tables, "k2")
    # text nulls are None, not NaN; the milestones KR has no metric and no value
    assert milestone["metric_id"] is None and milestone["data_message"] is None
    assert milestone["unit"] is None and milestone["checkin_note"] is None
    assert pd.isna(milestone["last_observed_ts"])
    assert kr_row(tables)["as_of"] == pd.Timestamp("2026-01-10")
    assert kr_row(tables)["last_observed_ts"] == pd.Timestamp("2026-01-10")


def test_no_cycle_in_scope_gives_empty_tables_with_every_column():
    proj = project([objective(kr(**I))], {**CYCLE_100, "archived": True})
    tables = run(proj, series({day(10): 150}), day(10))
    assert tables.kr_scores.empty and tables.objective_scores.empty
    assert list(tables.kr_scores.columns) == KR_SCORE_COLUMNS
    assert list(tables.objective_scores.columns) == OBJECTIVE_SCORE_COLUMNS


def test_cycles_in_scope():
    quarter = {"id": "Q", "start": "2026-01-01", "end": "2026-03-31", "grace_days": 10}
    archived = {"id": "A", "start": "2026-01-01", "end": "2026-12-31", "archived": True}
    future = {"id": "F", "start": "2026-07-01", "end": "2026-09-30"}
    proj = project([], cycles=[(c, [objective(kr(**I))]) for c in (quarter, archived, future)])
    # 2026-04-10 = end + 10: still in grace (end >= D - grace_days)
    on_last_grace_day = run(proj, series({"2026-03-01": 150}), "2026-04-10").kr_scores
    assert sorted(on_last_grace_day["cycle_id"]) == ["F", "Q"]
    assert set(on_last_grace_day.set_index("cycle_id")["status"]) == {"missed", "not_started"}
    # 2026-04-11 = end + 11: past grace
    after_grace = run(proj, series({"2026-03-01": 150}), "2026-04-11").kr_scores
    assert list(after_grace["cycle_id"]) == ["F"]


def test_a_year_and_its_quarter_at_once():
    year = {"id": "2026", "start": "2026-01-01", "end": "2026-12-31"}
    okrs = [objective(kr(**I))]
    proj = project([], cycles=[(year, okrs), (CYCLE_100, okrs)])
    tables = run(proj, series({day(50): 150}), day(50))
    assert sorted(tables.kr_scores["cycle_id"]) == ["2026", "C100"]
    quarter_row = kr_row(tables, cycle_id="C100")
    year_row = kr_row(tables, cycle_id="2026")
    # same value, (150 - 100) / 100 = 0.5 in both; expected 50/100 vs 50/365
    assert quarter_row["progress"] == year_row["progress"] == 0.5
    assert quarter_row["expected"] == 0.5
    assert year_row["expected"] == 50 / 365
    assert sorted(tables.objective_scores["cycle_id"]) == ["2026", "C100"]


# ---------------------------------------------------------------- data status


def test_source_error_keeps_scoring_on_stored_values():
    proj = project([objective(kr(**I))])
    tables = run(
        proj,
        series({day(10): 150}),
        day(10),
        problems(("app.m", "source_error", "connection refused"), ("app.n", "invalid", "x")),
    )
    row = kr_row(tables)
    assert (row["data_status"], row["data_message"]) == ("source_error", "connection refused")
    assert row["progress"] == 0.5  # (150 - 100) / 100, still scored


def test_invalid_data():
    proj = project([objective(kr(**I))])
    tables = run(proj, series({day(10): 150}), day(10), problems(("app.m", "invalid", "min 0")))
    row = kr_row(tables)
    assert (row["data_status"], row["data_message"], row["score"]) == ("invalid", "min 0", 0.5)


def test_stale_exactly_past_the_limit():
    proj = project([objective(kr(**I))], fresh_within_days=14)
    points = series({day(10): 150})
    # day 25 - day 10 = 15 days > 14: stale
    row = kr_row(run(proj, points, day(25)))
    assert row["data_status"] == "stale"
    assert row["data_message"] == "newest value 2026-01-10 is 15 days old (limit 14)"
    assert (row["progress"], row["status"]) == (0.5, "on_track")  # still scored
    # day 24 - day 10 = 14 days: within the limit
    row = kr_row(run(proj, points, day(24)))
    assert (row["data_status"], row["data_message"]) == ("ok", None)


def test_stale_message_for_a_value_outside_a_trailing_window():
    proj = project([objective(kr(**I, window="trailing_7d"))], fresh_within_days=3)
    row = kr_row(run(proj, series({day(2): 150}), day(20)))
    # the window 14..20 is empty: no_data, and the newest value is 18 days old
    assert row["status"] == "no_data"
    assert row["data_status"] == "stale"
    assert row["data_message"] == "newest value 2026-01-02 is 18 days old (limit 3)"
    assert row["last_observed_ts"] == pd.Timestamp("2026-01-02")


def test_manual_key_result_stale_after_14_days():
    proj = project(
        [objective(kr(metric="manual", baseline=0, target=10))],
        checkins=[("k1", day(5), 4.0)],
    )
    # day 20 - day 5 = 15 > 14
    row = kr_row(run(proj, values(), day(20)))
    assert row["data_status"] == "stale"
    assert row["data_message"] == "newest value 2026-01-05 is 15 days old (limit 14)"
    assert row["current_value"] == 4.0 and row["metric_id"] == "manual"
    assert kr_row(run(proj, values(), day(19)))["data_status"] == "ok"


def test_no_value_at_all_is_no_data_but_ok_data():
    proj = project([objective(kr(**I))], fresh_within_days=1)
    row = kr_row(run(proj, values(), day(20)))
    assert (row["status"], row["data_status"], row["data_message"]) == ("no_data", "ok", None)
    assert pd.isna(row["last_observed_ts"])


def test_milestone_metric_problem_and_staleness():
    milestones = [{"name": "a", "done_when": "app.n >= 1"}, {"name": "b", "done_when": "app.o > 0"}]
    proj = project(
        [objective(kr(type="milestones", metric=None, milestones=milestones))],
        fresh_within_days=5,
    )
    points = values(series({day(3): 1}, "app.n"), series({day(10): 1}, "app.o"))
    # app.n 7 days old > 5: stale; app.o 0 days: ok -> the KR shows the stale one
    row = kr_row(run(proj, points, day(10)))
    assert row["data_status"] == "stale"
    assert row["data_message"] == "app.n: newest value 2026-01-03 is 7 days old (limit 5)"
    assert row["last_observed_ts"] == pd.Timestamp("2026-01-10")
    assert row["progress"] == 1.0
    # a source error outranks staleness
    row = kr_row(run(proj, points, day(10), problems(("app.o", "source_error", "HTTP 500"))))
    assert (row["data_status"], row["data_message"]) == ("source_error", "app.o: HTTP 500")


def test_degenerate_baseline_message_joins_a_data_problem():
    proj = project([objective(kr(target=150))])
    tables = run(
        proj, series({day(1): 150}), day(1), problems(("app.m", "invalid", "duplicate ts"))
    )
    row = kr_row(tables)
    assert row["data_status"] == "invalid"
    assert row["data_message"] == "duplicate ts; " + DEGENERATE_MESSAGE


# ---------------------------------------------------------------- check-ins, owners, units


def test_confidence_and_note_from_the_newest_checkin_up_to_the_as_of_date():
    proj = project(
        [objective(kr(**I), kr(id="k2", metric="app.n", **I))],
        checkins=[
            ("k1", day(3), None, 0.9, "early"),
            ("k1", day(5), None, 0.6, "first"),
            ("k1", day(5), None, 0.4, "second"),  # same date, later row wins
            ("k1", day(30), None, 0.1, "future"),  # after D: ignored
        ],
    )
    tables = run(proj, series({day(5): 120}), day(10))
    row = kr_row(tables)
    assert (row["confidence"], row["checkin_note"]) == (0.4, "second")
    assert row["last_checkin_date"] == pd.Timestamp(day(5))
    other = kr_row(tables, "k2")
    assert math.isnan(other["confidence"]) and other["checkin_note"] is None
    assert pd.isna(other["last_checkin_date"])


def test_a_checkin_is_due_every_n_days_for_manual_and_opted_in_key_results():
    proj = project(
        [
            objective(
                kr(id="manual", metric="manual", **I),  # the project default: 7 days
                kr(id="never", metric="manual", **I),
                kr(id="weekly3", checkin_every_days=3, **I),  # measured, but asks for check-ins
                kr(id="measured", metric="app.n", **I),  # measured: never due
            )
        ],
        checkins=[("manual", day(10), 150.0), ("weekly3", day(20), None, 0.5)],
    )

    def due(as_of: int) -> dict[str, bool]:
        tables = run(proj, values(), day(as_of))
        return {k: kr_row(tables, k)["checkin_due"] for k in ("manual", "never", "weekly3")}

    # Before any check-in the count starts at day 0, the day before the cycle: on day 6,
    # 6 - 0 = 6 < 7 for the manual ones, but 6 >= 3 for weekly3.
    # manual: day 16 - day 10 = 6 < 7, day 17: 7 >= 7. never: day 7 - day 0 = 7.
    # weekly3: day 22 - 20 = 2 < 3, day 23: 3 >= 3.
    assert due(6) == {"manual": False, "never": False, "weekly3": True}
    assert due(7)["never"] and not due(16)["manual"] and due(17)["manual"]
    assert not due(22)["weekly3"] and due(23)["weekly3"]
    assert not kr_row(run(proj, values(), day(50)), "measured")["checkin_due"]
    # the cycle has ended (day 100 is its last): nobody is asked any more
    assert due(101) == {"manual": False, "never": False, "weekly3": False}


def test_owner_team_and_unit_fall_back():
    proj = project(
        [objective(kr(**I), kr(id="k2", owner="bo", unit="EUR", **I), owner="ana", team="growth")],
        units={"m": "users"},
    )
    tables = run(proj, series({day(5): 120}), day(10))
    first, second = kr_row(tables), kr_row(tables, "k2")
    assert (first["owner"], first["team"], first["unit"]) == ("ana", "growth", "users")
    assert (second["owner"], second["team"], second["unit"]) == ("bo", "growth", "EUR")


def test_frames_from_project_builds_manual_series_from_checkins():
    proj = project(
        [objective(kr(metric="manual", target=10), kr(id="k2", **I))],
        checkins=[("k1", day(1), 2.0), ("k1", day(1), 3.0), ("k1", day(2), None, 0.5),
                  ("k2", day(2), 7.0)],
    )  # fmt: skip
    frames = frames_from_project(proj)
    manual = frames.manual_values
    # one value per day (the later row), no row for the check-in without value, none for k2
    assert manual["metric_id"].tolist() == ["manual:k1"]
    assert manual["value"].tolist() == [3.0]
    assert manual["ts"].tolist() == [pd.Timestamp("2026-01-01")]
    assert len(frames.checkins) == 4


# ---------------------------------------------------------------- objectives


def test_objective_weighted_mean_worst_status_and_success():
    proj = project(
        [objective(kr(**I), kr(id="k2", metric="app.n", weight=3, **I), kind="aspirational"),
         objective(kr(id="k3", metric="app.o", **I), id="o2", kind="committed")]
    )  # fmt: skip
    points = values(
        series({day(50): 130}),  # 0.3, gap 0.2: at_risk
        series({day(50): 190}, "app.n"),  # 0.9: on_track
        series({day(50): 200}, "app.o"),  # 1: achieved
    )
    tables = run(proj, points, day(50))
    first = objective_row(tables)
    # (1 * 0.3 + 3 * 0.9) / 4 = 0.75
    assert first["score"] == 0.75 and first["grade_band"] == "green"
    assert first["status"] == "at_risk"  # worst of at_risk, on_track
    assert first["success"]  # aspirational: 0.75 >= 0.7
    assert first["expected"] == 0.5  # (0.5 + 3 * 0.5) / 4
    assert first["kr_count"] == 2.0
    assert (first["owner"], first["team"], first["kind"]) == ("ana", "growth", "aspirational")
    second = objective_row(tables, "o2")
    assert (second["score"], second["status"], second["success"]) == (1.0, "achieved", True)


def test_committed_objective_succeeds_only_at_one():
    proj = project([objective(kr(**I), kind="committed")])
    # (199 - 100) / 100 = 0.99
    row = objective_row(run(proj, series({day(50): 199}), day(50)))
    assert (row["score"], row["success"], row["grade_band"]) == (0.99, False, "green")


def test_objective_from_children_both_and_three_levels():
    proj = project(
        [
            objective(id="top", progress_from="children", theme=None),
            objective(kr(id="kp", metric="app.o", **I), id="mid", parent="top",
                      progress_from="both", weight=3),
            objective(kr(id="kc1", **I), id="c1", parent="mid"),
            objective(kr(id="kc2", metric="app.n", **I), id="c2", parent="mid", weight=2),
            objective(kr(id="ks", metric="app.n", **I), id="side", parent="top", weight=1),
        ]
    )  # fmt: skip
    points = values(
        series({day(50): 200}),  # kc1: 1, achieved
        series({day(50): 130}, "app.n"),  # kc2 and ks: 0.3, at_risk
        series({day(50): 160}, "app.o"),  # kp: 0.6, on_track
    )
    tables = run(proj, points, day(50))
    assert objective_row(tables, "c1")["score"] == 1.0
    assert objective_row(tables, "c2")["score"] == 0.3
    mid = objective_row(tables, "mid")
    # both: KR kp (weight 1) 0.6, c1 (weight 1) 1.0, c2 (weight 2) 0.3:
    # (0.6 + 1.0 + 2 * 0.3) / 4 = 0.55
    assert (
        mid["score"] == pytest.approx(0.55) and mid["status"] == "at_risk" and mid["kr_count"] == 1
    )
    assert mid["parent_id"] == "top"
    top = objective_row(tables, "top")
    # mid (weight 3) 0.55, side (weight 1) 0.3: (1.65 + 0.3) / 4 = 0.4875 (not rounded)
    assert top["score"] == pytest.approx(0.4875) and top["grade_band"] == "yellow"
    assert top["status"] == "at_risk" and top["kr_count"] == 0
    assert top["expected"] == 0.5
    assert not top["success"]
    # Why: the worst part by name, the one furthest behind pace among equals. Under top, mid
    # is at_risk at 0.55 against 0.5 and side at 0.3 against 0.5: side is further behind.
    assert objective_row(tables, "c2")["status_reason"] == (
        "at_risk: key result kc2 is at_risk (0.30 against 0.50 expected)"
    )
    assert mid["status_reason"] == (
        "at_risk: child objective c2 is at_risk (0.30 against 0.50 expected)"
    )
    assert top["status_reason"] == (
        "at_risk: child objective side is at_risk (0.30 against 0.50 expected) and 1 more"
    )
    assert objective_row(tables, "c1")["status_reason"] == "achieved: 1.00 against 0.50 expected"


def test_an_objective_off_track_through_a_child_says_so():
    proj = project(
        [
            objective(kr(id="own", **I), id="parent", progress_from="both"),
            objective(kr(id="late", metric="app.n", **I), id="child", parent="parent"),
        ]
    )
    # own: (150 - 100) / 100 = 0.5 on day 50, on_track; late: 0.1, off_track (0.5 - 0.1 > 0.25)
    points = values(series({day(50): 150}), series({day(50): 110}, "app.n"))
    parent = objective_row(run(proj, points, day(50)), "parent")
    assert kr_row(run(proj, points, day(50)), "own")["status"] == "on_track"
    assert (parent["status"], parent["status_reason"]) == (
        "off_track",
        "off_track: child objective child is off_track (0.10 against 0.50 expected)",
    )


def test_objective_expected_is_the_weighted_mean_of_parts():
    checkpoints = [{"date": day(50), "value": 110}]
    proj = project(
        [objective(kr(**I, checkpoints=checkpoints), kr(id="k2", type="stay_above", target=0,
                                                        weight=3))]
    )  # fmt: skip
    row = objective_row(run(proj, series({day(50): 110}), day(50)))
    # k1 expected (110 - 100) / 100 = 0.1, k2 (stay) 1: (0.1 + 3) / 4 = 0.775
    assert row["expected"] == (0.1 + 3) / 4


def test_objectives_before_the_start_and_after_the_end():
    proj = project([objective(kr(**I), kr(id="k2", metric="app.n", **I))])
    points = values(series({day(100): 200}), series({day(100): 150}, "app.n"))
    before = objective_row(run(proj, points, day(0)))
    assert (before["status"], before["score"], before["expected"]) == ("not_started", 0.0, 0.0)
    after = run(proj, points, day(105))
    assert [kr_row(after, k)["status"] for k in ("k1", "k2")] == ["achieved", "missed"]
    # (1 + 0.5) / 2 = 0.75
    assert (objective_row(after)["status"], objective_row(after)["score"]) == ("missed", 0.75)


def test_objective_without_any_part():
    proj = project([objective(progress_from="children")])
    row = objective_row(run(proj, values(), day(10)))
    assert math.isnan(row["score"]) and row["grade_band"] is None
    assert (row["status"], row["success"], row["kr_count"]) == ("no_data", False, 0.0)
    assert row["status_reason"] == "no_data: no key results or child objectives to score"


def test_no_data_ranks_between_at_risk_and_not_started():
    proj = project([objective(kr(**I), kr(id="k2", metric="app.n", **I))])
    # k1 0.9 on_track, k2 no value: no_data is worse than on_track
    row = objective_row(run(proj, series({day(10): 190}), day(10)))
    assert row["status"] == "no_data"
    assert row["status_reason"] == "no_data: key result k2 is no_data"
    # (0.9 + 0) / 2 = 0.45
    assert row["score"] == 0.45


def test_score_accepts_frames_built_by_hand():
    frames = OkrFrames.from_rows(
        cycles=[{"cycle_id": "C", "start": "2026-01-01", "end": "2026-04-10",
                 "at_risk_margin": 0.1, "off_track_margin": 0.25, "grace_days": 30}],
        objectives=[{"cycle_id": "C", "objective_id": "o", "title": "O", "kind": "aspirational",
                     "progress_from": "key_results", "weight": 1}],
        key_results=[{"cycle_id": "C", "kr_id": "k", "objective_id": "o", "title": "K",
                      "type": "increase", "metric_id": "x.y", "baseline": 0, "target": 10,
                      "aggregation": "last", "weight": 1}],
    )  # fmt: skip
    tables = score(frames, series({day(50): 5}, "x.y"), NO_PROBLEMS, date(2026, 2, 19))
    # 5 / 10 = 0.5 on day 50, expected 0.5
    row = kr_row(tables, "k")
    assert (row["progress"], row["expected"], row["status"]) == (0.5, 0.5, "on_track")
