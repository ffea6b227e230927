"""`kind: prometheus`: canned query-range answers on loopback, then a real Prometheus server."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from werkzeug import Request, Response

from .conftest_http import error, fetch, values, window, write_project

SOURCE = """\
name: prom
kind: prometheus
url: BASE
retries: 0
metrics:
  - {name: requests, promql: "sum(increase(http_requests_total[1d]))"}
"""


def matrix(*series: list) -> dict:
    """A query-range answer as the Prometheus HTTP API documents it."""
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"job": f"j{n}"}, "values": v} for n, v in enumerate(series)],
        },
    }


def test_ended_days_come_from_one_query_range_call_evaluated_at_each_days_end(httpserver, tmp_path):
    # end of 2026-11-17 (UTC) = 2026-11-18T00:00Z = 20775 days * 86400 s = 1794960000
    # end of 2026-11-19 = 1794960000 + 2 * 86400 = 1795132800
    httpserver.expect_request(
        "/api/v1/query_range",
        query_string={
            "query": "sum(increase(http_requests_total[1d]))",
            "start": "1794960000.000",
            "end": "1795132800.000",
            "step": "86400",
        },
    ).respond_with_json(matrix([[1794960000, "10"], [1795046400, "12.5"], [1795132800, "NaN"]]))
    write_project(tmp_path, SOURCE.replace("BASE", httpserver.url_for("/")))

    # days 17, 18, 19 as of the 19th; today is the 20th, so every day has ended
    result = fetch(tmp_path, "prom", window(date(2026, 11, 17), date(2026, 11, 20)))

    # the 19th evaluated to NaN (no data): left out, not zero
    assert values(result, "requests") == {"2026-11-17": 10.0, "2026-11-18": 12.5}
    assert len(httpserver.log) == 1


def test_days_map_by_step_across_a_daylight_saving_change(httpserver, tmp_path):
    # Oslo leaves summer time on Sunday 2026-10-25. The end of the 24th is 2026-10-25
    # 00:00 CEST = 2026-10-24T22:00Z = 1792879200; steps of 86400 s follow from there.
    first = 1792879200
    httpserver.expect_request("/api/v1/query_range").respond_with_json(
        matrix([[first, "1"], [first + 86400, "2"], [first + 2 * 86400, "3"]])
    )
    write_project(
        tmp_path,
        SOURCE.replace("BASE", httpserver.url_for("/")),
        settings="timezone: Europe/Oslo\n",
    )

    result = fetch(tmp_path, "prom", window(date(2026, 10, 24), date(2026, 10, 27)))

    # the third point, 2026-10-26T22:00Z, is 23:00 CET on the 26th: still the 26th's value
    assert values(result, "requests") == {"2026-10-24": 1.0, "2026-10-25": 2.0, "2026-10-26": 3.0}


def test_today_is_evaluated_at_now(httpserver, tmp_path):
    end_of_19th = "1795132800.000"  # 2026-11-20T00:00Z

    def handler(request: Request) -> Response:
        stamp = float(request.args["start"])
        value = "5" if request.args["start"] == end_of_19th else "7"
        return Response(json.dumps(matrix([[stamp, value]])), content_type="application/json")

    httpserver.expect_request("/api/v1/query_range").respond_with_handler(handler)
    write_project(tmp_path, SOURCE.replace("BASE", httpserver.url_for("/")))

    before = time.time()
    result = fetch(tmp_path, "prom", window(date(2026, 11, 19), date(2026, 11, 21)))

    assert values(result, "requests") == {"2026-11-19": 5.0, "2026-11-20": 7.0}
    (_, _), (today_request, _) = httpserver.log
    assert today_request.args["start"] == today_request.args["end"]
    assert before - 1 <= float(today_request.args["start"]) <= time.time() + 1


def test_more_than_one_series_asks_for_an_aggregation(httpserver, tmp_path):
    httpserver.expect_request("/api/v1/query_range").respond_with_json(
        matrix([[1794960000, "1"]], [[1794960000, "2"]])
    )
    write_project(tmp_path, SOURCE.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "prom", window(date(2026, 11, 17), date(2026, 11, 18)))

    assert error(result, "requests") == (
        "promql returns 2 series ({'job': 'j0'}, {'job': 'j1'}); aggregate it to one, e.g. sum(...)"
    )


# ---------------------------------------------------------------- a real Prometheus


@pytest.mark.services
def test_a_real_prometheus_answers_a_query_range_on_its_own_metrics(prometheus, tmp_path):
    source = f"""\
        name: prom
        kind: prometheus
        url: {prometheus}
        metrics:
          - {{name: targets_up, promql: 'sum(up{{job="self"}})'}}
          - {{name: broken, promql: 'sum(up'}}
        """
    write_project(tmp_path, source)
    today = datetime.now(UTC).date()

    result = fetch(
        tmp_path, "prom", window(today - timedelta(2), today + timedelta(1), today=today)
    )

    # the two ended days end before the server started: no data, so no rows; today, at now,
    # the one target (itself) is up: sum = 1
    assert values(result, "targets_up") == {today.isoformat(): 1.0}
    message = error(result, "broken")
    host = prometheus.removeprefix("http://")
    assert message.startswith(f"GET {host}/api/v1/query_range: HTTP 400 Bad Request: ")
    assert "parse error" in message
