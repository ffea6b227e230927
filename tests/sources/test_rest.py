"""`kind: rest` against loopback HTTP servers: records, per-day combination, paginators, auth."""

from __future__ import annotations

import json
from datetime import date

import pytest
from werkzeug import Request, Response

from .conftest_http import TODAY, fetch, values, window, write_project

SERIES = """\
name: events
kind: rest
base_url: BASE
retries: 0
metrics:
  - name: signups
    request: {path: /events, params: {since: "{start}", until: "{end}", day: "{as_of}"}}
    records: "$.data[*]"
    ts: created.at
    value: amount
"""


def test_records_are_summed_per_day_from_dates_iso_timestamps_and_epoch_seconds(
    httpserver, tmp_path
):
    httpserver.expect_request(
        "/events",
        query_string={"since": "2026-11-18", "until": "2026-11-21", "day": "2026-11-20"},
    ).respond_with_json(
        {
            "data": [
                {"created": {"at": "2026-11-18"}, "amount": 5},
                {"created": {"at": "2026-11-18T23:30:00Z"}, "amount": 2},
                {"created": {"at": "2026-11-19T01:00:00+02:00"}, "amount": 3},  # 18th, 23:00 UTC
                {"created": {"at": 1795046400}, "amount": 4},  # 20776 days * 86400 s: 19th
                {"created": {"at": "2026-11-20T12:00:00"}, "amount": "1.5"},
                {"created": {"at": "2026-11-21"}, "amount": 100},  # the end is exclusive
                {"created": {"at": "2026-11-17T10:00:00Z"}, "amount": 100},  # before the start
            ]
        }
    )
    write_project(tmp_path, SERIES.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "events", window(date(2026, 11, 18), date(2026, 11, 21)))

    # 18th: 5 + 2 + 3 = 10; 19th: 4; 20th: 1.5; the 17th and 21st are outside the window
    assert values(result, "signups") == {"2026-11-18": 10.0, "2026-11-19": 4.0, "2026-11-20": 1.5}
    assert result.status == "ok"


def test_a_timestamp_is_dated_in_the_projects_timezone(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json(
        {"data": [{"created": {"at": "2026-11-18T23:30:00Z"}, "amount": 2}]}
    )
    write_project(
        tmp_path,
        SERIES.replace("BASE", httpserver.url_for("/")),
        settings="timezone: Europe/Oslo\n",
    )

    result = fetch(tmp_path, "events", window(date(2026, 11, 18), date(2026, 11, 21)))

    # 23:30 UTC is 00:30 the next day in Oslo (UTC+1 in November)
    assert values(result, "signups") == {"2026-11-19": 2.0}


DAY_OF_THREE = [
    {"created": {"at": "2026-11-19T10:00:00Z"}, "amount": 3},
    {"created": {"at": "2026-11-19T08:00:00Z"}, "amount": 7},
    {"created": {"at": "2026-11-19T12:00:00Z"}, "amount": 5},
]


@pytest.mark.parametrize(
    ("per_day", "expected"),
    [
        ("sum", 15.0),  # 3 + 7 + 5
        ("last", 5.0),  # the newest record, 12:00, whatever the order in the response
        ("max", 7.0),
        ("min", 3.0),
        ("mean", 5.0),  # 15 / 3
        ("count", 3.0),
    ],
)
def test_per_day_combines_the_records_of_one_day(httpserver, tmp_path, per_day, expected):
    httpserver.expect_request("/events").respond_with_json({"data": DAY_OF_THREE})
    source = SERIES.replace("BASE", httpserver.url_for("/")) + f"    per_day: {per_day}\n"
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", window(date(2026, 11, 19), date(2026, 11, 20)))

    assert values(result, "signups") == {"2026-11-19": expected}


def test_without_value_records_are_counted(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json({"data": DAY_OF_THREE})
    source = SERIES.replace("BASE", httpserver.url_for("/")).replace("    value: amount\n", "")
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", window(date(2026, 11, 19), date(2026, 11, 20)))

    assert values(result, "signups") == {"2026-11-19": 3.0}  # three records


def test_an_empty_list_of_records_is_an_empty_series_not_an_error(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json({"data": []})
    write_project(tmp_path, SERIES.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "events", window(date(2026, 11, 19), date(2026, 11, 20)))

    assert values(result, "signups") == {}
    assert result.status == "ok"


READING = """\
name: tickets
kind: rest
base_url: BASE
metrics:
  - name: open_tickets
    request: {path: /tickets/count, params: {state: open}}
    value: "$.total"
"""


def test_a_point_in_time_reading_is_stamped_with_the_as_of_date(httpserver, tmp_path):
    httpserver.expect_request("/tickets/count", query_string="state=open").respond_with_json(
        {"total": 42}
    )
    write_project(tmp_path, READING.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "tickets", window(date(2026, 10, 1), date(2026, 11, 21)))

    assert values(result, "open_tickets") == {"2026-11-20": 42.0}


def test_a_point_in_time_reading_for_a_past_date_is_skipped_without_a_request(httpserver, tmp_path):
    write_project(tmp_path, READING.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "tickets", window(date(2026, 10, 1), date(2026, 11, 2)))

    assert result.status == "skipped"
    assert result.message == "skipped: point-in-time"
    assert httpserver.log == []


# ---------------------------------------------------------------- paginators

# Values 1, 2, 4, 8, 16 on one day: the sum 31 proves every page was read exactly once.
RECORDS = [{"day": "2026-11-19", "n": 2**index} for index in range(5)]


def page_number(request: Request) -> Response:
    page = int(request.args["page"])  # pages 1, 2, 3 hold records 0-1, 2-3, 4; page 4 is empty
    return json_response({"data": RECORDS[(page - 1) * 2 : page * 2]})


def offset(request: Request) -> Response:
    start, limit = int(request.args["offset"]), int(request.args["limit"])
    return json_response({"data": RECORDS[start : start + limit]})


def cursor(request: Request) -> Response:
    position = int(request.args.get("cursor", "0"))
    following = str(position + 2) if position + 2 < len(RECORDS) else None
    return json_response({"data": RECORDS[position : position + 2], "next_cursor": following})


def next_url(request: Request) -> Response:
    position = int(request.args.get("from", "0"))
    links = {"next": f"/events?from={position + 2}"} if position + 2 < len(RECORDS) else {}
    return json_response({"data": RECORDS[position : position + 2], "links": links})


def link_header(request: Request) -> Response:
    position = int(request.args.get("from", "0"))
    response = json_response({"data": RECORDS[position : position + 2]})
    if position + 2 < len(RECORDS):
        response.headers["Link"] = (
            f'<{request.host_url}events?from={position + 2}>; rel="next", '
            f'<{request.host_url}events?from=0>; rel="first"'
        )
    return response


def json_response(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


@pytest.mark.parametrize(
    ("paginator", "handler", "requests"),
    [
        ("{type: page_number}", page_number, 4),  # 2 + 2 + 1 records, then an empty page
        ("{type: offset, limit: 2}", offset, 3),  # 2 + 2 + 1: a short page is the last
        ('{type: cursor, cursor_path: "$.next_cursor"}', cursor, 3),
        ('{type: next_url, path: "$.links.next"}', next_url, 3),
        ("{type: link_header}", link_header, 3),
    ],
)
def test_every_paginator_reads_every_page_once(httpserver, tmp_path, paginator, handler, requests):
    httpserver.expect_request("/events").respond_with_handler(handler)
    source = f"""\
        name: paged
        kind: rest
        base_url: {httpserver.url_for("/")}
        paginator: {paginator}
        metrics:
          - {{name: total, request: {{path: /events}}, records: "$.data", ts: day, value: n}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "paged", window(date(2026, 11, 19), date(2026, 11, 20)))

    assert values(result, "total") == {"2026-11-19": 31.0}  # 1 + 2 + 4 + 8 + 16
    assert len(httpserver.log) == requests


def test_a_repeating_cursor_is_a_page_loop(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json(
        {"data": RECORDS[:1], "next_cursor": "same"}
    )
    source = f"""\
        name: paged
        kind: rest
        base_url: {httpserver.url_for("/")}
        paginator: {{type: cursor, cursor_path: "$.next_cursor"}}
        metrics:
          - {{name: total, request: {{path: /events}}, records: "$.data", ts: day, value: n}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "paged", window(date(2026, 11, 19), date(2026, 11, 20)))

    (metric,) = result.metrics
    # page 1 has no cursor, page 2 sends cursor=same, page 3 would send it again
    assert metric.error == (
        "paginator cursor loops: page 3 asks again for a page already fetched (/events)"
    )
    assert len(httpserver.log) == 2


def test_max_pages_stops_a_runaway_paginator(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_json({"data": RECORDS[:1]})
    source = f"""\
        name: paged
        kind: rest
        base_url: {httpserver.url_for("/")}
        paginator: {{type: page_number}}
        max_pages: 5
        metrics:
          - {{name: total, request: {{path: /events}}, records: "$.data", ts: day, value: n}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "paged", window(date(2026, 11, 19), date(2026, 11, 20)))

    (metric,) = result.metrics
    assert metric.error == (
        "more than max_pages (5) pages: the page_number paginator does not stop; "
        "raise max_pages or narrow the request"
    )
    assert len(httpserver.log) == 5


# ---------------------------------------------------------------- auth

SECRET = "pw-9f8e7d-SECRET"


@pytest.mark.parametrize(
    ("auth", "header", "expected", "param"),
    [
        ("{type: bearer, token: '${OKR_TEST_SECRET}'}", "Authorization", f"Bearer {SECRET}", None),
        # base64("ana:pw-9f8e7d-SECRET")
        (
            "{type: basic, username: ana, password: '${OKR_TEST_SECRET}'}",
            "Authorization",
            "Basic YW5hOnB3LTlmOGU3ZC1TRUNSRVQ=",
            None,
        ),
        ("{type: header, name: X-Api-Key, value: '${OKR_TEST_SECRET}'}", "X-Api-Key", SECRET, None),
        ("{type: query, name: api_key, value: '${OKR_TEST_SECRET}'}", None, None, "api_key"),
    ],
)
def test_every_auth_kind_sends_its_credential(
    httpserver, tmp_path, monkeypatch, auth, header, expected, param
):
    monkeypatch.setenv("OKR_TEST_SECRET", SECRET)
    httpserver.expect_request("/tickets/count").respond_with_json({"total": 7})
    source = READING.replace("BASE", httpserver.url_for("/")).replace(
        "metrics:", f"auth: {auth}\nheaders: {{X-Team: growth}}\nmetrics:"
    )
    write_project(tmp_path, source)

    result = fetch(tmp_path, "tickets", window(TODAY, TODAY.replace(day=21)))

    assert values(result, "open_tickets") == {"2026-11-20": 7.0}
    ((request, _),) = httpserver.log
    assert request.headers["X-Team"] == "growth"
    if header:
        assert request.headers[header] == expected
    if param:
        assert request.args[param] == SECRET
        assert request.args["state"] == "open"
