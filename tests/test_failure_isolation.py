"""Failure isolation (docs/scoring.md, data problems), with every failure injected for real.

Day 1 scores three sources cleanly; on day 2 one of them fails in one way. Its key result
keeps the value stored on day 1, is scored on it and says why; the other two are untouched;
`source_runs` names the failure; `metric_values` keeps the failing metric's rows.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import date

import pytest
from conftest import free_port
from werkzeug import Response

from okr_pipeline import warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day

DAY1, DAY2 = date(2026, 11, 10), date(2026, 11, 11)
GOOD_RECORDS = {"data": [
    {"day": "2026-11-09", "amount": 40},
    {"day": "2026-11-10", "amount": 50},
]}  # fmt: skip


def write(root, flaky_url: str, sql_query: str = "SELECT day AS ts, n AS value FROM visits"):
    (root / "metric_sources").mkdir(exist_ok=True)
    (root / "okrs").mkdir(exist_ok=True)
    (root / "good.csv").write_text("date,value\n2026-11-01,10\n2026-11-10,20\n2026-11-11,30\n")
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS visits (day TEXT, n REAL)")
        db.execute("DELETE FROM visits")
        db.executemany("INSERT INTO visits VALUES (?, ?)", [("2026-11-10", 7), ("2026-11-11", 9)])
    sources = {
        "good": "name: good\nkind: csv\npath: good.csv\nmetrics:\n  - {name: a, ts: date}\n",
        "app": f"name: app\nkind: sql\nurl: sqlite:///app.db\nretries: 0\nmetrics:\n"
        f'  - name: visits\n    query: "{sql_query} WHERE day >= :start AND day < :end"\n',
        "flaky": f"name: flaky\nkind: rest\nbase_url: {flaky_url}\ntimeout_seconds: 1\nretries: 0\n"
        "metrics:\n  - {name: sales, request: {path: /sales}, records: '$.data[*]', ts: day,"
        " value: amount, checks: {max: 1000}}\n",
    }
    for name, text in sources.items():
        (root / "metric_sources" / f"{name}.yaml").write_text(text)
    (root / "okrs" / "q4.yaml").write_text(
        "cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}\nthemes: [t]\nobjectives:\n"
        "  - id: o\n    title: O\n    owner: a@example.com\n    theme: t\n    key_results:\n"
        "      - {id: good, title: G, metric: good.a, type: increase, baseline: 0, target: 100}\n"
        "      - {id: visits, title: V, metric: app.visits, type: increase, baseline: 0,"
        " target: 100}\n"
        "      - {id: sales, title: S, metric: flaky.sales, type: increase, baseline: 0,"
        " target: 100}\n"
    )


def hang(_request):
    time.sleep(2)
    return Response("{}", content_type="application/json")


@pytest.fixture
def scored_day1(tmp_path, httpserver, dagster_instance):
    write(tmp_path, httpserver.url_for(""))
    httpserver.expect_request("/sales").respond_with_json(GOOD_RECORDS)
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    assert materialize_day(build_definitions(tmp_path, url), DAY1, dagster_instance).success
    httpserver.clear()
    return tmp_path, url


def run_day2(root, url, instance):
    assert materialize_day(build_definitions(root, url), DAY2, instance).success
    engine = warehouse.create_engine(url)
    krs = warehouse.read_table(engine, warehouse.kr_scores, DAY2).set_index("kr_id")
    runs = warehouse.read_table(engine, warehouse.source_runs, DAY2).set_index("source")
    values = warehouse.read_table(engine, warehouse.metric_values)
    return krs, runs, values


def assert_others_unaffected(krs, runs, failing: str):
    # good.a: the newest value on or before Nov 11 is 30: (30 - 0) / (100 - 0)
    # app.visits: the newest is 9 on Nov 11
    expected = {"good": 30.0, "visits": 9.0, "sales": 50.0}
    for kr_id, value in expected.items():
        if kr_id != failing:
            assert krs.loc[kr_id, "current_value"] == value, kr_id
            assert krs.loc[kr_id, "data_status"] == "ok", kr_id
    for source in {"good", "app", "flaky"} - {"app" if failing == "visits" else "flaky"}:
        assert runs.loc[source, "status"] == "ok", source


def break_flaky(httpserver, kind: str) -> None:
    if kind == "auth":
        httpserver.expect_request("/sales").respond_with_json({"message": "Bad credentials"}, 401)
    elif kind == "http_error":
        httpserver.expect_request("/sales").respond_with_data("boom", 500)
    elif kind == "malformed":
        httpserver.expect_request("/sales").respond_with_data("{not json", 200)
    elif kind == "timeout":
        httpserver.expect_request("/sales").respond_with_handler(hang)
    elif kind == "invalid":
        httpserver.expect_request("/sales").respond_with_json(
            {"data": [*GOOD_RECORDS["data"], {"day": "2026-11-11", "amount": 5000}]}
        )


REST_FAILURES = {
    "auth": ("source_error", "GET {host}/sales: HTTP 401 UNAUTHORIZED: Bad credentials"),
    "http_error": ("source_error", "GET {host}/sales: HTTP 500 INTERNAL SERVER ERROR"),
    "malformed": (
        "source_error",
        "GET {host}/sales: response is not JSON (text/plain; charset=utf-8): '{{not json'",
    ),
    "timeout": ("source_error", "GET {host}/sales: no complete response within 1 s"),
    "invalid": ("invalid", "check max failed: value 5000 on 2026-11-11 is above max 1000"),
}


def assert_kept(krs, values, before, kr_id: str, metric_id: str, value: float):
    assert krs.loc[kr_id, "current_value"] == value  # kept: the newest stored value
    assert krs.loc[kr_id, "attainment"] == value / 100  # (value - 0) / (100 - 0)
    after = values[values["metric_id"] == metric_id].drop(columns="loaded_at")
    kept = before[before["metric_id"] == metric_id].drop(columns="loaded_at")
    assert after.reset_index(drop=True).equals(kept.reset_index(drop=True))  # nothing changed


@pytest.mark.parametrize("kind", sorted(REST_FAILURES))
def test_a_failing_api_source_keeps_its_last_good_values(
    kind, scored_day1, httpserver, dagster_instance
):
    root, url = scored_day1
    before = warehouse.read_table(warehouse.create_engine(url), warehouse.metric_values)
    break_flaky(httpserver, kind)
    krs, runs, values = run_day2(root, url, dagster_instance)

    data_status, message = REST_FAILURES[kind]
    message = message.format(host=f"localhost:{httpserver.port}")
    assert_kept(krs, values, before, "sales", "flaky.sales", 50)
    assert (krs.loc["sales", "data_status"], krs.loc["sales", "data_message"]) == (
        data_status,
        message,
    )
    if kind == "invalid":  # the source answered; its data was rejected
        assert runs.loc["flaky", "status"] == "ok"
        assert runs.loc["flaky", "message"] == f"flaky.sales: rejected, {message}"
    else:
        assert runs.loc["flaky", "status"] == "error"
        assert runs.loc["flaky", "message"] == f"flaky.sales: {message}"
    assert_others_unaffected(krs, runs, "sales")


def test_a_refused_connection_keeps_the_last_good_values(scored_day1, dagster_instance):
    root, url = scored_day1
    before = warehouse.read_table(warehouse.create_engine(url), warehouse.metric_values)
    closed = free_port()
    source = root / "metric_sources" / "flaky.yaml"
    source.write_text(
        re.sub(r"base_url: \S+", f"base_url: http://127.0.0.1:{closed}/", source.read_text())
    )
    krs, runs, values = run_day2(root, url, dagster_instance)

    message = f"GET 127.0.0.1:{closed}/sales: cannot connect"
    assert_kept(krs, values, before, "sales", "flaky.sales", 50)
    assert krs.loc["sales", "data_status"] == "source_error"
    assert krs.loc["sales", "data_message"].startswith(message)
    assert runs.loc["flaky", "status"] == "error"
    assert_others_unaffected(krs, runs, "sales")


def test_a_query_error_keeps_the_last_good_values(scored_day1, httpserver, dagster_instance):
    root, url = scored_day1
    httpserver.expect_request("/sales").respond_with_json(GOOD_RECORDS)
    before = warehouse.read_table(warehouse.create_engine(url), warehouse.metric_values)
    source = root / "metric_sources" / "app.yaml"
    source.write_text(source.read_text().replace("FROM visits", "FROM visitz"))
    krs, runs, values = run_day2(root, url, dagster_instance)

    message = "query failed: no such table: visitz"
    assert_kept(krs, values, before, "visits", "app.visits", 7)  # Nov 10's 7 is kept
    assert (krs.loc["visits", "data_status"], krs.loc["visits", "data_message"]) == (
        "source_error",
        message,
    )
    assert (runs.loc["app", "status"], runs.loc["app", "message"]) == (
        "error",
        f"app.visits: {message}",
    )
    assert_others_unaffected(krs, runs, "visits")
