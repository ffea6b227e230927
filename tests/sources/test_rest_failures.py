"""Failures of API sources injected for real: 5xx, 429, hangs, closed ports, bad payloads.

Each is recorded per metric with a short reason; none stops another metric or source, and
no secret reaches a message or a log line.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import date

import pytest
from werkzeug import Request, Response

from okr_pipeline.config import load_project
from okr_pipeline.runs import fetch_sources

from .conftest_http import error, fetch, free_port, values, window, write_project

READING = """\
name: tickets
kind: rest
base_url: BASE
timeout_seconds: 1
retries: RETRIES
metrics:
  - name: open_tickets
    request: {path: /tickets/count, params: {state: open}}
    value: "$.total"
"""
TODAY_ONLY = window(date(2026, 11, 20), date(2026, 11, 21))


def reading(base: str, retries: int = 0) -> str:
    return READING.replace("BASE", base).replace("RETRIES", str(retries))


def failing_then(status: int, failures: int, headers: dict | None = None):
    """A handler answering `status` `failures` times, then {"total": 42}."""
    calls = []

    def handler(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            return Response('{"error": "busy"}', status=status, headers=headers or {})
        return Response('{"total": 42}', content_type="application/json")

    return handler, calls


def test_a_500_is_retried_then_succeeds(httpserver, tmp_path):
    handler, calls = failing_then(500, failures=1)
    httpserver.expect_request("/tickets/count").respond_with_handler(handler)
    write_project(tmp_path, reading(httpserver.url_for("/"), retries=2))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert values(result, "open_tickets") == {"2026-11-20": 42.0}
    assert len(calls) == 2  # one failure, one success


def test_a_500_that_persists_gives_up_after_the_retries(httpserver, tmp_path):
    handler, calls = failing_then(503, failures=10)
    httpserver.expect_request("/tickets/count").respond_with_handler(handler)
    write_project(tmp_path, reading(httpserver.url_for("/"), retries=1))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET localhost:{httpserver.port}/tickets/count: HTTP 503 SERVICE UNAVAILABLE: busy "
        "(gave up after 2 attempts)"
    )
    assert len(calls) == 2  # the first attempt and one retry, not retried again by the source


def test_a_429_waits_for_retry_after(httpserver, tmp_path):
    handler, calls = failing_then(429, failures=1, headers={"Retry-After": "1"})
    httpserver.expect_request("/tickets/count").respond_with_handler(handler)
    write_project(tmp_path, reading(httpserver.url_for("/"), retries=1))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert values(result, "open_tickets") == {"2026-11-20": 42.0}
    assert calls[1] - calls[0] >= 0.95  # Retry-After: 1 second, not the 0.5 s backoff


def test_a_429_asking_for_an_hour_fails_at_once(httpserver, tmp_path):
    handler, calls = failing_then(429, failures=1, headers={"Retry-After": "3600"})
    httpserver.expect_request("/tickets/count").respond_with_handler(handler)
    write_project(tmp_path, reading(httpserver.url_for("/"), retries=2))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET localhost:{httpserver.port}/tickets/count: "
        "rate limited (HTTP 429 TOO MANY REQUESTS) for 3600 s more"
    )
    assert len(calls) == 1


def test_a_404_is_not_retried(httpserver, tmp_path):
    httpserver.expect_request("/tickets/count").respond_with_json(
        {"message": "Not Found"}, status=404
    )
    write_project(tmp_path, reading(httpserver.url_for("/"), retries=2))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET localhost:{httpserver.port}/tickets/count: HTTP 404 NOT FOUND: Not Found"
    )
    assert len(httpserver.log) == 1


@pytest.fixture
def hanging_port():
    """A port whose kernel accepts connections that no program ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_hangs_times_out(hanging_port, tmp_path):
    write_project(tmp_path, reading(f"http://127.0.0.1:{hanging_port}", retries=0))

    started = time.monotonic()
    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET 127.0.0.1:{hanging_port}/tickets/count: no complete response within 1 s"
    )
    assert time.monotonic() - started < 3  # timeout_seconds: 1, no retry


def test_a_closed_port_is_a_connection_error(tmp_path):
    port = free_port()
    write_project(tmp_path, reading(f"http://127.0.0.1:{port}", retries=0))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET 127.0.0.1:{port}/tickets/count: cannot connect (connection refused)"
    )


def test_malformed_json_is_a_source_error(httpserver, tmp_path):
    httpserver.expect_request("/tickets/count").respond_with_data(
        '{"total": 4', content_type="application/json"
    )
    write_project(tmp_path, reading(httpserver.url_for("/")))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        f"GET localhost:{httpserver.port}/tickets/count: "
        """response is not JSON (application/json): '{"total": 4'"""
    )


def test_a_value_path_that_matches_nothing_says_what_the_response_holds(httpserver, tmp_path):
    httpserver.expect_request("/tickets/count").respond_with_json({"count": 4, "state": "open"})
    write_project(tmp_path, reading(httpserver.url_for("/")))

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    assert error(result, "open_tickets") == (
        "value path '$.total' matches nothing; the response is an object with keys: count, state"
    )


def test_a_records_path_that_matches_nothing_is_an_error(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json({"items": [{"day": "2026-11-20"}]})
    source = f"""\
        name: events
        kind: rest
        base_url: {httpserver.url_for("/")}
        metrics:
          - {{name: signups, request: {{path: /events}}, records: "$.data[*]", ts: day}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", TODAY_ONLY)

    assert error(result, "signups") == (
        "records path '$.data[*]' matches nothing; the response is an object with keys: items"
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"when": "2026-11-20", "n": 1}, "record 2 has no field 'day'"),
        ({"day": "yesterday", "n": 1}, "record 2: day is not a date: 'yesterday'"),
        ({"day": "2026-11-20", "n": "many"}, "record 2: n is not a number: 'many'"),
    ],
)
def test_a_malformed_record_is_named(httpserver, tmp_path, record, message):
    httpserver.expect_request("/events").respond_with_json(
        {"data": [{"day": "2026-11-20", "n": 1}, record]}
    )
    source = f"""\
        name: events
        kind: rest
        base_url: {httpserver.url_for("/")}
        metrics:
          - {{name: signups, request: {{path: /events}}, records: "$.data", ts: day, value: n}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", TODAY_ONLY)

    assert error(result, "signups") == message


def test_a_failing_metric_or_source_stops_no_other(httpserver, tmp_path):
    httpserver.expect_request("/tickets/count").respond_with_json({"total": 42})
    httpserver.expect_request("/broken").respond_with_json({}, status=500)
    good = reading(httpserver.url_for("/")) + (
        "  - {name: broken, request: {path: /broken}, value: '$.total'}\n"
    )
    down = reading(f"http://127.0.0.1:{free_port()}").replace("name: tickets", "name: down")
    write_project(tmp_path, good, down)
    project = load_project(tmp_path)

    results = fetch_sources(project, ["tickets", "down"], TODAY_ONLY)

    assert values(results["tickets"], "open_tickets") == {"2026-11-20": 42.0}
    assert results["tickets"].status == "error"
    assert results["tickets"].message.startswith("tickets.broken: GET localhost:")
    assert results["down"].status == "error"
    assert "cannot connect (connection refused)" in results["down"].message


# ---------------------------------------------------------------- secrets

TOKEN = "tok-5e4d3c2b1a-DISTINCT"


def echo_token(status: int, body: str):
    def handler(request: Request) -> Response:
        return Response(body.replace("TOKEN", TOKEN), status=status, content_type="text/plain")

    return handler


@pytest.mark.parametrize("auth", ["query", "bearer"])
@pytest.mark.parametrize(
    "failure",
    [
        echo_token(401, '{"message": "bad credentials TOKEN"}'),
        echo_token(500, '{"error": "cannot use TOKEN"}'),
        echo_token(200, "<html>TOKEN</html>"),
        echo_token(200, '{"other": "TOKEN"}'),
        "closed port",
    ],
    ids=["401 echoing it", "500 echoing it", "HTML echoing it", "no value", "closed port"],
)
def test_no_secret_reaches_a_message_or_a_log_line(
    httpserver, tmp_path, monkeypatch, caplog, auth, failure
):
    monkeypatch.setenv("OKR_TEST_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line, query string included
    if failure == "closed port":
        base = f"http://127.0.0.1:{free_port()}"
    else:
        httpserver.expect_request("/tickets/count").respond_with_handler(failure)
        base = httpserver.url_for("/")
    credential = (
        "{type: query, name: access_token, value: '${OKR_TEST_TOKEN}'}"
        if auth == "query"
        else "{type: bearer, token: '${OKR_TEST_TOKEN}'}"
    )
    source = reading(base, retries=1).replace("metrics:", f"auth: {credential}\nmetrics:")
    write_project(tmp_path, source)

    result = fetch(tmp_path, "tickets", TODAY_ONLY)

    # the loopback server's own access log (werkzeug) is the API's side, not ours
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert result.status == "error"
    assert TOKEN not in result.message
    assert TOKEN not in ours
    if auth == "query" and failure != "closed port":
        assert "access_token=***" in ours  # urllib3's request line, scrubbed
