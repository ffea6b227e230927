"""A run of many days gives the tables that runs of each day give, fetching each source once."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from werkzeug import Request, Response

from okr_pipeline import warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day, materialize_days
from okr_pipeline.sources import FetchWindow
from okr_pipeline.sources.base import MetricFetch

TODAY = datetime.now(UTC).date()  # the project's timezone is UTC; point-in-time needs today
FIRST, LAST = TODAY - timedelta(9), TODAY
SPIKE = TODAY - timedelta(5)  # 50 signups, above the `max: 20` check: rejected from then on


def day(offset: int) -> date:
    return TODAY - timedelta(offset)


def write_project(root: Path, shop_url: str) -> Path:
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    (root / "metric_sources" / "app.yaml").write_text(
        """
name: app
kind: sql
url: sqlite:///app.db
metrics:
  - name: signups
    query: |
      SELECT date(created_at) AS ts, count(*) AS value FROM users
      WHERE created_at >= :start AND created_at < :end GROUP BY 1
    checks: {max: 20}
  - name: customers
    query: |
      SELECT ts, value FROM (
        SELECT date(created_at) AS ts, sum(count(*)) OVER (ORDER BY date(created_at)) AS value
        FROM users WHERE paid = 1 AND created_at < :end GROUP BY 1)
      WHERE ts >= :start
    checks: {non_decreasing: true}
"""
    )
    (root / "metric_sources" / "shop.yaml").write_text(
        f"""
name: shop
kind: rest
base_url: {shop_url}
metrics:
  - name: revenue
    request: {{path: /orders, params: {{since: "{{start}}", until: "{{end}}"}}}}
    records: "$.orders[*]"
    ts: day
    value: amount
  - name: open_tickets
    request: {{path: /stats}}
    value: "$.open"
"""
    )
    (root / "metric_sources" / "crm.yaml").write_text(
        "name: crm\nkind: csv\npath: missing.csv\nmetrics:\n  - {name: deals, ts: d, value: v}\n"
    )
    (root / "okrs" / "now.yaml").write_text(
        f"""
cycle: {{id: now, start: {day(20)}, end: {TODAY + timedelta(40)}}}
themes: [growth]
objectives:
  - id: grow
    title: Grow
    owner: ana@example.com
    theme: growth
    key_results:
      - {{id: signups, title: S, metric: app.signups, type: increase, aggregation: sum,
         target: 200}}
      - {{id: signups-30d, title: S30, metric: app.signups, type: stay_above,
         aggregation: sum, window: trailing_30d, target: 30}}
      - {{id: customers, title: C, metric: app.customers, type: increase, target: 40}}
      - {{id: revenue, title: R, metric: shop.revenue, type: increase, aggregation: sum,
         target: 500}}
      - {{id: tickets, title: T, metric: shop.open_tickets, type: stay_below, target: 10}}
      - {{id: deals, title: D, metric: crm.deals, type: increase, target: 5}}
"""
    )
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE users (created_at TEXT, paid INTEGER)")
        rows = []
        for offset in range(40, -1, -1):  # from before the trailing window to today
            count = 50 if day(offset) == SPIKE else offset % 3 + 1
            rows += [(f"{day(offset)} 0{n % 10}:00:00", n % 2) for n in range(count)]
        db.executemany("INSERT INTO users VALUES (?, ?)", rows)
    return root


class Shop:
    """A REST API that answers the orders between `since` and `until` and counts requests."""

    def __init__(self):
        self.requests: dict[str, int] = {"/orders": 0, "/stats": 0}

    def __call__(self, request: Request) -> Response:
        self.requests[request.path] += 1
        if request.path == "/stats":
            return Response('{"open": 7}', content_type="application/json")
        since, until = (date.fromisoformat(request.args[name]) for name in ("since", "until"))
        orders = [
            {"day": day(offset).isoformat(), "amount": 10 + offset}
            for offset in range(40, -1, -1)
            if since <= day(offset) < until
        ]
        return Response(json.dumps({"orders": orders}), content_type="application/json")


def tables(url: str) -> dict[str, list[tuple]]:
    """Every table but `loaded_at` and `seconds` (when a row was written, how long it took)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        state = {
            table.name: [
                tuple(row)
                for row in connection.execute(
                    sa.select(
                        *(c for c in table.c if c.name not in ("loaded_at", "seconds"))
                    ).order_by(*table.primary_key.columns)
                )
            ]
            for table in warehouse.metadata.sorted_tables
            if table is not warehouse.warehouse_lock
        }
    engine.dispose()
    return state


def test_a_range_run_writes_what_runs_of_each_day_write(tmp_path, httpserver, dagster_instance):
    shop = Shop()
    httpserver.expect_request("/orders").respond_with_handler(shop)
    httpserver.expect_request("/stats").respond_with_handler(shop)
    project = write_project(tmp_path, httpserver.url_for(""))
    range_url, daily_url = (f"sqlite:///{tmp_path / name}" for name in ("range.db", "daily.db"))

    result = materialize_days(build_definitions(project, range_url), FIRST, LAST, dagster_instance)
    assert result.success
    assert shop.requests == {"/orders": 1, "/stats": 1}  # each source fetched once for 10 days

    defs = build_definitions(project, daily_url)
    for offset in range(9, -1, -1):
        assert materialize_day(defs, day(offset), dagster_instance).success
    # a run of each day fetches again; point-in-time is read for yesterday and today only
    assert shop.requests == {"/orders": 1 + 10, "/stats": 1 + 2}

    by_range, by_day = tables(range_url), tables(daily_url)
    assert by_range == by_day
    columns = [column.name for column in warehouse.kr_scores.c]
    scores = pd.DataFrame(by_range["kr_scores"], columns=columns).set_index(["as_of", "kr_id"])
    assert len(scores) == 10 * 6
    # the spike rejects signups from its day on; the day before still scored them
    assert scores.loc[(SPIKE, "signups"), "data_status"] == "invalid"
    assert scores.loc[(SPIKE - timedelta(1), "signups"), "data_status"] == "ok"
    signups = [row for row in by_range["metric_values"] if row[0] == "app.signups"]
    assert max(row[1] for row in signups) == SPIKE - timedelta(1)
    # the cycle's days 20..6 before today hold offset % 3 + 1 signups: (3 + 2 + 1) * 5 = 30
    assert scores.loc[(SPIKE - timedelta(1), "signups"), "current_value"] == 30
    tickets = [row[1] for row in by_range["metric_values"] if row[0] == "shop.open_tickets"]
    assert tickets == [day(1), day(0)]
    assert {row[2] for row in by_range["source_runs"] if row[1] == "crm"} == {"error"}


def test_a_cut_of_a_fetch_is_what_a_fetch_of_the_narrower_window_returns():
    today = date(2026, 11, 20)
    wide = FetchWindow(date(2026, 11, 1), date(2026, 11, 21), as_of=today, today=today)
    narrow = FetchWindow(date(2026, 11, 3), date(2026, 11, 6), as_of=date(2026, 11, 5), today=today)
    series = pd.DataFrame(
        {"ts": pd.date_range("2026-11-01", "2026-11-20"), "value": range(1, 21)}
    ).astype({"value": "float64"})
    cut = MetricFetch.of_series("a.b", series).within(narrow)
    assert cut.series["value"].tolist() == [3.0, 4.0, 5.0]  # Nov 3, 4 and 5

    shuffled = MetricFetch.of_series("a.b", series.iloc[::-1].reset_index(drop=True))
    assert sorted(shuffled.within(narrow).series["value"]) == [3.0, 4.0, 5.0]

    reading = pd.DataFrame({"ts": [pd.Timestamp(today)], "value": [7.0]})
    live = MetricFetch.of_series("a.pit", reading, point_in_time=True)
    yesterday = FetchWindow(wide.start, today, as_of=date(2026, 11, 19), today=today)
    assert live.within(yesterday).series["ts"].tolist() == [pd.Timestamp("2026-11-19")]
    assert live.within(narrow).skipped == "point-in-time"  # older days keep their history
