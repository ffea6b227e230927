"""End to end through the real Definitions: YAML in, a Dagster run, the five tables out."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from okr_pipeline import warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day

AS_OF = date(2026, 11, 10)

SOURCES = {
    "app.yaml": """
name: app
kind: sql
url: sqlite:///app.db
metrics:
  - name: signups
    unit: users
    query: |
      SELECT date(created_at) AS ts, count(*) AS value FROM events
      WHERE kind = 'signup' AND created_at >= :start AND created_at < :end GROUP BY 1
    checks: {unique_ts: true}
""",
    "finance.yaml": """
name: finance
kind: csv
path: finance.csv
metrics:
  - {name: mrr, unit: EUR, ts: date, value: amount, filter: {account: mrr}}
""",
    "crm.yaml": """
name: crm
kind: csv
path: missing.csv
metrics:
  - {name: deals, ts: date, value: amount}
""",
}
OKRS = """
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [growth]
objectives:
  - id: grow
    title: Grow revenue
    owner: ana@example.com
    team: growth
    theme: growth
    key_results:
      - {id: mrr, title: MRR from 100 to 200, metric: finance.mrr, type: increase,
         baseline: 100, target: 200}
      - {id: signups, title: 30 signups, metric: app.signups, type: increase,
         aggregation: sum, target: 30}
  - id: sell
    title: Sell more
    owner: bo@example.com
    team: sales
    parent: grow
    key_results:
      - {id: deals, title: 10 deals, metric: crm.deals, type: increase,
         aggregation: sum, target: 10}
"""


def write_project(root: Path) -> Path:
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    for name, text in SOURCES.items():
        (root / "metric_sources" / name).write_text(text)
    (root / "okrs" / "q4.yaml").write_text(OKRS)
    (root / "finance.csv").write_text(
        "date,account,amount\n"
        "2026-10-01,mrr,100\n2026-10-15,mrr,130\n2026-11-01,mrr,150\n"
        "2026-11-01,cost,999\n2026-11-20,mrr,500\n"
    )
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE events (created_at TEXT, kind TEXT)")
        signups = [f"2026-10-{day:02d} 09:00:00" for day in range(1, 11)]
        signups += ["2026-11-05 08:00:00"] * 3 + ["2026-11-15 10:00:00"] * 5
        db.executemany("INSERT INTO events VALUES (?, 'signup')", [(ts,) for ts in signups])
        db.execute("INSERT INTO events VALUES ('2026-10-02 10:00:00', 'login')")
    return root


@pytest.fixture
def project(tmp_path):
    return write_project(tmp_path)


def run_day(project: Path, url: str, instance, as_of: date = AS_OF):
    result = materialize_day(build_definitions(project, url), as_of, instance)
    failures = [
        e.step_failure_data.error.to_string() for e in result.all_events if e.is_step_failure
    ]
    assert result.success, failures
    return warehouse.create_engine(url)


def test_a_run_writes_every_table_with_hand_computed_scores(project, tmp_path, dagster_instance):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    engine = run_day(project, url, dagster_instance)
    krs = warehouse.read_table(engine, warehouse.kr_scores, AS_OF).set_index("kr_id")

    # expected pace: (Nov 10 - Oct 1 + 1) / 92 days = 41 / 92 = 0.445652...
    expected = 41 / 92
    mrr = krs.loc["mrr"]
    # the newest MRR on or before Nov 10 is 150 (Nov 20's 500 is after the as-of date)
    assert mrr.current_value == 150
    assert mrr.attainment == pytest.approx(0.5)  # (150 - 100) / (200 - 100)
    assert mrr.score == 0.5
    assert mrr.grade_band == "yellow"
    assert mrr.expected == pytest.approx(expected)
    assert mrr.status == "on_track"  # gap = 0.4457 - 0.5 < 0.10
    assert (mrr.data_status, mrr.unit, mrr.team) == ("ok", "EUR", "growth")

    signups = krs.loc["signups"]
    # 10 signups Oct 1..10 plus 3 on Nov 5; the 5 on Nov 15 are after the as-of date
    assert signups.current_value == 13
    assert signups.baseline == 0  # sum: default baseline 0
    assert signups.attainment == pytest.approx(13 / 30)  # 0.4333
    assert signups.score == 0.43
    assert signups.status == "on_track"  # gap = 0.4457 - 0.4333 = 0.012

    deals = krs.loc["deals"]
    assert deals.status == "no_data"
    assert deals.data_status == "source_error"
    assert deals.data_message == "file not found: missing.csv"

    objectives = warehouse.read_table(engine, warehouse.objective_scores, AS_OF).set_index(
        "objective_id"
    )
    grow = objectives.loc["grow"]
    assert grow.score == pytest.approx((0.5 + 0.43) / 2)  # mean of its KR scores = 0.465
    assert grow.status == "on_track"
    assert grow.kr_count == 2
    assert objectives.loc["sell"].parent_id == "grow"

    runs = warehouse.read_table(engine, warehouse.source_runs, AS_OF).set_index("source")
    assert runs.loc["app"].status == "ok" and runs.loc["app"].rows == 11  # Oct 1..10, Nov 5
    assert runs.loc["finance"].rows == 3  # Oct 1, Oct 15, Nov 1 (the window ends Nov 10)
    assert runs.loc["crm"].status == "error"
    assert runs.loc["crm"].message == "crm.deals: file not found: missing.csv"

    values = warehouse.read_table(engine, warehouse.metric_values)
    assert values.groupby("metric_id").size().to_dict() == {"app.signups": 11, "finance.mrr": 3}


def test_rerunning_a_date_leaves_identical_tables(project, tmp_path, dagster_instance):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    engine = run_day(project, url, dagster_instance)
    tables = (warehouse.metric_values, warehouse.metric_checks, warehouse.kr_scores,
              warehouse.objective_scores, warehouse.source_runs)  # fmt: skip

    def snapshot():
        frames = {t.name: warehouse.read_table(engine, t) for t in tables}
        frames["metric_values"] = frames["metric_values"].drop(columns="loaded_at")
        frames["source_runs"] = frames["source_runs"].drop(columns="seconds")
        return frames

    first = snapshot()
    run_day(project, url, dagster_instance)
    second = snapshot()
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], obj=name)
    assert len(first["kr_scores"]) == 3


def test_a_later_source_failure_keeps_the_last_good_values(project, tmp_path, dagster_instance):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    run_day(project, url, dagster_instance)
    (project / "finance.csv").unlink()
    engine = run_day(project, url, dagster_instance, date(2026, 11, 11))
    mrr = (
        warehouse.read_table(engine, warehouse.kr_scores, date(2026, 11, 11))
        .set_index("kr_id")
        .loc["mrr"]
    )
    assert mrr.current_value == 150  # kept from the stored history
    assert mrr.data_status == "source_error"
    assert mrr.data_message == "file not found: finance.csv"
    values = warehouse.read_table(engine, warehouse.metric_values)
    assert (values["metric_id"] == "finance.mrr").sum() == 3  # nothing was deleted


def test_a_key_result_and_an_objective_field_by_field(project, tmp_path, dagster_instance):
    engine = run_day(project, f"sqlite:///{tmp_path / 'wh.db'}", dagster_instance)
    krs = warehouse.read_table(engine, warehouse.kr_scores, AS_OF).set_index("kr_id")
    # Forecast: least squares through (day since Oct 1, value) = (0, 100), (14, 130), (31, 150):
    # mean x = 15, mean y = 380 / 3; Sxx = 225 + 1 + 256 = 482;
    # Sxy = (-15)(-80/3) + (-1)(10/3) + (16)(70/3) = 770; at Dec 31 (x = 91):
    # 380 / 3 + 770 / 482 * (91 - 15) = 248.0775..., so forecast progress clamps to 1
    assert krs.loc["mrr"].to_dict() == {
        "as_of": AS_OF,
        "cycle_id": "2026-Q4",
        "objective_id": "grow",
        "title": "MRR from 100 to 200",
        "owner": "ana@example.com",  # the objective's, since the KR names none
        "team": "growth",
        "type": "increase",
        "metric_id": "finance.mrr",
        "unit": "EUR",
        "baseline": 100.0,
        "target": 200.0,
        "min": None,  # only a stay_between key result has bounds
        "max": None,
        "current_value": 150.0,
        "attainment": pytest.approx(0.5),
        "progress": pytest.approx(0.5),
        "score": 0.5,
        "grade_band": "yellow",
        "expected": pytest.approx(41 / 92),
        "status": "on_track",
        "data_status": "ok",
        "data_message": None,
        "last_observed_ts": date(2026, 11, 1),
        "forecast_value": pytest.approx(380 / 3 + 770 / 482 * 76),
        "forecast_progress": 1.0,
        "weight": 1.0,
        "confidence": None,
        "checkin_note": None,
        "last_checkin_date": None,
        "checkin_due": False,  # measured, and it asks for no check-ins
    }
    objectives = warehouse.read_table(engine, warehouse.objective_scores, AS_OF)
    grow = objectives.set_index("objective_id").loc["grow"].to_dict()
    assert grow == {
        "as_of": AS_OF,
        "cycle_id": "2026-Q4",
        "parent_id": None,
        "title": "Grow revenue",
        "owner": "ana@example.com",
        "team": "growth",
        "theme": "growth",
        "kind": "aspirational",
        "score": pytest.approx((0.5 + 0.43) / 2),  # 0.465
        "grade_band": "yellow",  # 0.4 <= 0.465 < 0.7
        "expected": pytest.approx(41 / 92),  # both KRs expect 41 / 92
        "status": "on_track",
        "status_reason": "on_track: 0.47 against 0.45 expected",  # 0.465 and 41 / 92
        "success": False,  # aspirational: needs 0.7
        "kr_count": 2,
    }
