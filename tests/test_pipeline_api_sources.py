"""End to end with a SQL, a REST and a real Prometheus source in one materialize."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from okr_pipeline import warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day

TOKEN = "tok-Quokka-5150"


@pytest.mark.services
def test_sql_rest_and_prometheus_score_together(
    tmp_path, httpserver, prometheus, dagster_instance, monkeypatch
):
    today = datetime.now(UTC).date()  # Prometheus has data only for now: score today
    start, end = today - timedelta(10), today + timedelta(20)
    day = {n: (today - timedelta(n)).isoformat() for n in range(3)}
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)

    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE users (created_at TEXT)")
        db.executemany(
            "INSERT INTO users VALUES (?)",
            [(f"{day[n]} 1{h}:00:00",) for n in range(3) for h in (1, 2)],
        )
    orders = httpserver.expect_request("/orders", headers={"Authorization": f"Bearer {TOKEN}"})
    orders.respond_with_json(
        {"data": [
            {"placed_at": f"{day[1]}T09:00:00Z", "amount": 10},
            {"placed_at": f"{day[1]}T17:00:00Z", "amount": 5},
            {"placed_at": f"{day[0]}T08:00:00Z", "amount": 20},
        ]}
    )  # fmt: skip
    (tmp_path / "metric_sources").mkdir()
    (tmp_path / "okrs").mkdir()
    (tmp_path / "metric_sources" / "app.yaml").write_text(
        "name: app\nkind: sql\nurl: sqlite:///app.db\nmetrics:\n  - name: signups\n    query: |\n"
        "      SELECT date(created_at) AS ts, count(*) AS value FROM users\n"
        "      WHERE created_at >= :start AND created_at < :end GROUP BY 1\n"
    )
    (tmp_path / "metric_sources" / "shop.yaml").write_text(
        f"name: shop\nkind: rest\nbase_url: {httpserver.url_for('')}\n"
        "auth: {type: bearer, token: ${SHOP_TOKEN}}\nmetrics:\n"
        "  - {name: revenue, request: {path: /orders}, records: '$.data[*]', ts: placed_at,"
        " value: amount}\n"
    )
    (tmp_path / "metric_sources" / "prom.yaml").write_text(
        f"name: prom\nkind: prometheus\nurl: {prometheus}\nmetrics:\n"
        "  - {name: up, promql: 'sum(up{job=\"self\"})'}\n"
    )
    (tmp_path / "okrs" / "q.yaml").write_text(
        f"cycle: {{id: now, start: {start}, end: {end}}}\nthemes: [t]\nobjectives:\n"
        "  - id: o\n    title: O\n    owner: a@example.com\n    theme: t\n    key_results:\n"
        "      - {id: signups, title: S, metric: app.signups, type: increase, aggregation: sum,"
        " target: 12}\n"
        "      - {id: revenue, title: R, metric: shop.revenue, type: increase, aggregation: sum,"
        " target: 70}\n"
        "      - {id: up, title: U, metric: prom.up, type: boolean}\n"
    )
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    result = materialize_day(build_definitions(tmp_path, url), today, dagster_instance)
    assert result.success

    engine = warehouse.create_engine(url)
    krs = warehouse.read_table(engine, warehouse.kr_scores, today).set_index("kr_id")
    expected = 11 / 31  # (today - start + 1) / (end - start + 1) days
    assert krs.loc["signups", "current_value"] == 6  # 2 a day over 3 days
    assert krs.loc["signups", "attainment"] == pytest.approx(0.5)  # 6 / 12
    assert krs.loc["revenue", "current_value"] == 35  # (10 + 5) yesterday + 20 today
    assert krs.loc["revenue", "attainment"] == pytest.approx(0.5)  # 35 / 70
    assert krs.loc["up", "current_value"] == 1  # Prometheus scraping itself: 1 target up
    assert krs.loc["up", "status"] == "achieved"
    assert krs["expected"].drop("up").tolist() == pytest.approx([expected, expected])
    assert set(krs["data_status"]) == {"ok"}
    runs = warehouse.read_table(engine, warehouse.source_runs, today).set_index("source")
    assert runs["status"].to_dict() == {"app": "ok", "prom": "ok", "shop": "ok"}
    assert runs.loc["shop", "rows"] == 2  # one row per day: yesterday, today
