"""API servers that misbehave on purpose, on loopback: trickles, floods, bombs, slow pages,
hops to another origin, replies Prometheus never sends, numbers no float holds.

Each failure stays with its metric, names the limit it hit and comes promptly; the other
metrics of the source and the other sources still deliver.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from okr_pipeline import warehouse
from okr_pipeline.config import load_project
from okr_pipeline.orchestration import build_definitions, materialize_day
from okr_pipeline.runs import fetch_sources

from .conftest_http import (
    RawServer,
    drip,
    error,
    fetch,
    send_json,
    values,
    window,
    write_project,
)

TODAY_ONLY = window(date(2026, 11, 20), date(2026, 11, 21))
API = """\
name: api
kind: rest
base_url: BASE
LIMITS
metrics:
  - {name: bad, request: {path: /bad}, value: "$.total"}
  - {name: good, request: {path: /good}, value: "$.total"}
"""
OTHER = """\
name: other
kind: rest
base_url: BASE
metrics:
  - {name: good, request: {path: /good}, value: "$.total"}
"""
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def hostile(bad_answer) -> RawServer:
    """A server whose /bad misbehaves as `bad_answer` says; any other path answers 42."""

    def answer(connection, path: str) -> None:
        if path == "/bad":
            bad_answer(connection)
        else:
            send_json(connection, {"total": 42})

    return RawServer(answer)


def write_sources(root: Path, server: RawServer, limits: str, api: str = API) -> None:
    api = api.replace("BASE", server.url).replace("LIMITS", limits)
    write_project(root, api, OTHER.replace("BASE", server.url))


def fetch_both(root: Path) -> tuple[dict, float]:
    """Both sources fetched together, as a run does; and how long that took."""
    project = load_project(root)
    started = time.monotonic()
    results = fetch_sources(project, ["api", "other"], TODAY_ONLY)
    return results, time.monotonic() - started


def assert_others_delivered(results: dict) -> None:
    assert values(results["api"], "good") == {"2026-11-20": 42.0}
    assert values(results["other"], "good") == {"2026-11-20": 42.0}
    assert results["other"].status == "ok"


# ---------------------------------------------------------------- a total deadline per request


def body_trickle(connection) -> None:
    """Headers at once, then a body of 1,000 bytes, one byte every 0.1 s."""
    connection.sendall(HEAD + b"Content-Length: 1000\r\n\r\n")
    drip(connection, itertools.repeat(ord(" ")))


def header_trickle(connection) -> None:
    """The status line and a header that never ends, one byte every 0.1 s."""
    drip(connection, itertools.chain(HEAD + b"X-Pad: ", itertools.repeat(ord("a"))))


@pytest.mark.parametrize("trickle", [body_trickle, header_trickle], ids=["body", "headers"])
def test_a_trickle_is_cut_at_timeout_seconds_and_retried(tmp_path, trickle):
    with hostile(trickle) as server:
        write_sources(tmp_path, server, "timeout_seconds: 1\nretries: 1")
        results, seconds = fetch_both(tmp_path)

    assert error(results["api"], "bad") == (
        f"GET 127.0.0.1:{server.port}/bad: no complete response within 1 s "
        "(gave up after 2 attempts)"
    )
    assert server.paths().count("/bad") == 2  # retried once, like any timeout
    assert seconds < 10  # two attempts of 1 s and a 0.5 s backoff; unbounded, never ending
    assert_others_delivered(results)


def test_a_trickle_through_an_http_proxy_is_cut_too(tmp_path, monkeypatch):
    """The proxy (here the trickling server itself) gets the guarded connections as well."""
    with hostile(header_trickle) as proxy:
        for variable in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        limits = "timeout_seconds: 1\nretries: 0"
        write_project(tmp_path, API.replace("BASE", "http://api.invalid").replace("LIMITS", limits))
        started = time.monotonic()
        result = fetch(tmp_path, "api", TODAY_ONLY)
        seconds = time.monotonic() - started

    assert error(result, "bad") == "GET api.invalid/bad: no complete response within 1 s"
    assert proxy.requests[0].startswith(b"GET http://api.invalid/bad HTTP/1.1\r\n")
    assert values(result, "good") == {"2026-11-20": 42.0}  # through the proxy too
    assert seconds < 5


PAGES = """\
name: api
kind: rest
base_url: BASE
LIMITS
paginator: {type: page_number, param: page, start: 1}
metrics:
  - {name: events, request: {path: /bad}, records: "$.data", ts: day}
  - {name: good, request: {path: /good}, value: "$.total"}
"""


def slow_page(connection) -> None:
    """Every page has a record, so the paginator never stops; each takes 0.5 s."""
    time.sleep(0.5)
    send_json(connection, {"data": [{"day": "2026-11-20"}]})


def test_the_source_deadline_stops_a_paginator_of_slow_pages(tmp_path):
    with hostile(slow_page) as server:
        write_sources(tmp_path, server, "deadline_minutes: 0.05", api=PAGES)
        results, seconds = fetch_both(tmp_path)

    # 0.05 min = 3 s: the page in flight then is cut, or the next one never starts
    assert error(results["api"], "events") == (
        f"GET 127.0.0.1:{server.port}/bad: the source's deadline of 0.05 min passed"
    )
    assert error(results["api"], "good") == "the source's deadline of 0.05 min passed"
    pages = [path for path in server.paths() if path.startswith("/bad")]
    assert pages[:2] == ["/bad?page=1", "/bad?page=2"]  # it was paging when time ran out
    assert seconds < 10
    assert values(results["other"], "good") == {"2026-11-20": 42.0}


def busy(connection) -> None:
    send_json(connection, {"error": "busy"}, "503 Service Unavailable")


def test_the_source_deadline_bounds_retries(tmp_path):
    with hostile(busy) as server:
        write_sources(tmp_path, server, "deadline_minutes: 0.05\nretries: 5")
        results, seconds = fetch_both(tmp_path)

    # backoff waits 0.5, 1, 2 s: attempts at 0, 0.5 and 1.5 s; a fourth would start at
    # 3.5 s, past the 3 s deadline (0.05 min), so the retries stop there (5 were allowed)
    assert error(results["api"], "bad") == (
        f"GET 127.0.0.1:{server.port}/bad: HTTP 503 Service Unavailable: busy "
        "(gave up after 3 attempts)"
    )
    assert server.paths().count("/bad") == 3
    assert seconds < 10
    assert_others_delivered(results)


# ---------------------------------------------------------------- a cap on every body


@cache
def gzip_bomb() -> bytes:
    """2 MB of gzip that unpacks to 2 GiB of zeros. A full flush after each 16 MiB block
    resets the compressor, so every block compresses to the same bytes: built in a second."""
    block = bytes(16 * 2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, our own gzip frame
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(128):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, 2**31)  # CRC-32 and size (2 GiB) of the unpacked data
    return header + segment * 128 + compressor.flush() + trailer


def one_gigabyte(connection) -> None:
    connection.sendall(HEAD + b"Content-Length: 1073741824\r\n\r\n")
    zeros = bytes(2**16)
    for _ in range(2**14):  # 16384 * 65536 bytes = 1 GiB, unless the client hangs up first
        connection.sendall(zeros)


def bomb(connection) -> None:
    head = f"Content-Encoding: gzip\r\nContent-Length: {len(gzip_bomb())}\r\n\r\n"
    connection.sendall(HEAD + head.encode() + gzip_bomb())


def endless_chunks(connection) -> None:
    connection.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"[" * 0x10000 + b"\r\n"
    while True:
        connection.sendall(chunk)


@pytest.mark.parametrize(
    "flood", [one_gigabyte, bomb, endless_chunks], ids=["1 GB", "gzip bomb", "endless chunked"]
)
def test_a_body_past_max_response_mb_fails_its_metric_promptly(tmp_path, flood):
    with hostile(flood) as server:
        write_sources(tmp_path, server, "max_response_mb: 1\nretries: 0")
        results, seconds = fetch_both(tmp_path)

    assert error(results["api"], "bad") == (
        f"GET 127.0.0.1:{server.port}/bad: response is larger than 1 MB (max_response_mb)"
    )
    assert seconds < 10
    assert_others_delivered(results)


def not_gzip(connection) -> None:
    connection.sendall(HEAD + b'Content-Encoding: gzip\r\nContent-Length: 13\r\n\r\n{"total": 1}')


def cut_short(connection) -> None:
    connection.sendall(HEAD + b'Content-Length: 100\r\n\r\n{"total"')


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (not_gzip, "response body cannot be unpacked"),
        (cut_short, "connection closed in the middle of the response"),
    ],
    ids=["gzip that is not", "cut short"],
)
def test_a_body_unlike_its_headers_fails_its_metric(tmp_path, answer, reason):
    with hostile(answer) as server:
        write_sources(tmp_path, server, "retries: 0")
        results, _ = fetch_both(tmp_path)

    assert error(results["api"], "bad") == f"GET 127.0.0.1:{server.port}/bad: {reason}"
    assert_others_delivered(results)


def test_the_gzip_bomb_is_refused_with_a_peak_memory_under_1_gb(tmp_path):
    """In a process of its own, so its peak resident memory (VmHWM) is this fetch's alone,
    with the default cap of 100 MB."""
    child = (
        "import json, re, sys\n"
        "from datetime import date\n"
        "from okr_pipeline.config import load_project\n"
        "from okr_pipeline.sources import FetchWindow, connector_for\n"
        "project = load_project(sys.argv[1])\n"
        "day = date(2026, 11, 20)\n"
        "window = FetchWindow(day, date(2026, 11, 21), day, day)\n"
        "result = connector_for(project.sources['api'], project).fetch(window)\n"
        "status = open('/proc/self/status').read()\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status)[1]) * 1024\n"
        "print(json.dumps({'error': result.metrics[0].error, 'peak': peak}))\n"
    )
    with hostile(bomb) as server:
        write_sources(tmp_path, server, "retries: 0")
        run = subprocess.run(
            [sys.executable, "-c", child, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    assert outcome["error"] == (
        f"GET 127.0.0.1:{server.port}/bad: response is larger than 100 MB (max_response_mb)"
    )
    assert outcome["peak"] < 1_000_000_000, outcome


# ---------------------------------------------------------------- credentials for their origin

CREDENTIAL = "cr3d-Okapi-8842"
BASIC = base64.b64encode(f"ana:{CREDENTIAL}".encode()).decode()
AUTHS = {  # type -> (auth config, what the base URL's origin must receive)
    "bearer": ("{type: bearer, token: '${OKR_TEST_CREDENTIAL}'}", {"Authorization"}),
    "basic": (
        "{type: basic, username: ana, password: '${OKR_TEST_CREDENTIAL}'}",
        {"Authorization"},
    ),
    "header": ("{type: header, name: X-Api-Key, value: '${OKR_TEST_CREDENTIAL}'}", {"X-Api-Key"}),
    "query": ("{type: query, name: api_key, value: '${OKR_TEST_CREDENTIAL}'}", {"api_key"}),
}
SENT = {  # what each credential looks like on the wire
    "Authorization": {"bearer": f"Bearer {CREDENTIAL}", "basic": f"Basic {BASIC}"},
    "X-Api-Key": {"header": CREDENTIAL},
    "api_key": {"query": CREDENTIAL},
}
RECORDS = [{"day": "2026-11-19", "n": 1}, {"day": "2026-11-20", "n": 2}]


@pytest.fixture
def other_origin():
    """A second loopback server: same host, another port, so another origin."""
    server = HTTPServer(port=0)
    server.start()
    yield server
    server.stop()


def carried(request: Request) -> dict[str, str]:
    """The credentials and configured headers a request arrived with."""
    found = {name: request.headers.get(name) for name in ("Authorization", "X-Api-Key", "X-Team")}
    found = {name: value for name, value in found.items() if value is not None}
    if "api_key" in request.args:
        found["api_key"] = request.args["api_key"]
    return found


def leaks_credential(request: Request) -> bool:
    raw = f"{request.headers}{request.query_string.decode()}"
    return CREDENTIAL in raw or BASIC in raw


def hop_to(kind: str, base: HTTPServer, other: HTTPServer) -> str:
    """Serve records 1 from the base URL's origin and 2 from the other one, reached by
    `kind`; return the paginator config."""
    moved = other.url_for("/page2")
    if kind == "next_url":
        base.expect_request("/events").respond_with_json({"data": RECORDS[:1], "next": moved})
        other.expect_request("/page2").respond_with_json({"data": RECORDS[1:]})
        return '{type: next_url, path: "$.next"}'
    if kind == "link_header":
        link = {"Link": f'<{moved}>; rel="next"'}
        base.expect_request("/events").respond_with_json({"data": RECORDS[:1]}, headers=link)
        other.expect_request("/page2").respond_with_json({"data": RECORDS[1:]})
        return "{type: link_header}"
    # redirect: first within the origin (which keeps the credentials), then out of it
    base.expect_request("/events").respond_with_data(status=302, headers={"Location": "/moved"})
    base.expect_request("/moved").respond_with_data(status=302, headers={"Location": moved})
    other.expect_request("/page2").respond_with_json({"data": RECORDS})
    return "{type: none}"


@pytest.mark.parametrize("auth", sorted(AUTHS))
@pytest.mark.parametrize("kind", ["next_url", "link_header", "redirect"])
def test_another_origin_gets_no_credentials_and_the_request_proceeds(
    httpserver, other_origin, tmp_path, monkeypatch, auth, kind
):
    monkeypatch.setenv("OKR_TEST_CREDENTIAL", CREDENTIAL)
    paginator = hop_to(kind, httpserver, other_origin)
    config, credentials = AUTHS[auth]
    source = f"""\
        name: events
        kind: rest
        base_url: {httpserver.url_for("/")}
        auth: {config}
        headers: {{X-Team: team-7}}
        paginator: {paginator}
        retries: 0
        metrics:
          - {{name: n, request: {{path: /events}}, records: "$.data", ts: day, value: n}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", window(date(2026, 11, 19), date(2026, 11, 21)))

    assert values(result, "n") == {"2026-11-19": 1.0, "2026-11-20": 2.0}
    expected = {name: SENT[name][auth] for name in credentials} | {"X-Team": "team-7"}
    assert [carried(request) for request, _ in httpserver.log] == [expected] * len(httpserver.log)
    assert len(httpserver.log) == (2 if kind == "redirect" else 1)
    [(moved, _)] = other_origin.log
    assert carried(moved) == {}
    assert not leaks_credential(moved)


def test_a_redirect_loop_stops_at_the_redirect_limit(httpserver, tmp_path):
    httpserver.expect_request("/events").respond_with_data(
        status=302, headers={"Location": "/events"}
    )
    source = f"""\
        name: events
        kind: rest
        base_url: {httpserver.url_for("/")}
        metrics:
          - {{name: n, request: {{path: /events}}, records: "$.data", ts: day}}
        """
    write_project(tmp_path, source)

    result = fetch(tmp_path, "events", TODAY_ONLY)

    assert error(result, "n") == f"GET localhost:{httpserver.port}/events: more than 5 redirects"
    assert len(httpserver.log) == 6  # the request and 5 redirects, none retried


# ---------------------------------------------------------------- Prometheus, malformed

PROMETHEUS = """\
name: prom
kind: prometheus
url: BASE
retries: 0
metrics:
  - {name: bad, promql: bad}
  - {name: good, promql: good}
"""
DAY_17 = 1794960000  # the end of 2026-11-17 (UTC): 2026-11-18T00:00Z
GOOD_SERIES = {"metric": {}, "values": [[DAY_17, "3"]]}


def prometheus_answering(httpserver, bad_answer: dict) -> None:
    """`query=bad` gets `bad_answer`; `query=good` a well-formed one-series matrix."""

    def handler(request: Request) -> Response:
        answer = bad_answer
        if request.args["query"] == "good":
            answer = {
                "status": "success",
                "data": {"resultType": "matrix", "result": [GOOD_SERIES]},
            }
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/api/v1/query_range").respond_with_handler(handler)


def matrix_of(result) -> dict:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


MALFORMED = {  # what the reply holds -> (the reply, "query_range returned a malformed ...")
    "result [1, 2]": (matrix_of([1, 2]), "series: 1"),
    "result a string": (matrix_of("oops"), "answer: data.result is a string"),
    "data a list": ({"status": "success", "data": [1]}, "answer: data is a list"),
    "values a string": (matrix_of([{"values": "abc"}]), "series: {'values': 'abc'}"),
    "a point without value": (matrix_of([{"values": [[DAY_17]]}]), "point: [1794960000]"),
    "a point of three": (
        matrix_of([{"values": [[DAY_17, "1", "2"]]}]),
        "point: [1794960000, '1', '2']",
    ),
    "a point a string": (matrix_of([{"values": ["x"]}]), "point: x"),
    "an infinite time": (matrix_of([{"values": [["+Inf", "1"]]}]), "point: ['+Inf', '1']"),
    "a value no number": (
        matrix_of([{"values": [[DAY_17, "many"]]}]),
        "point: [1794960000, 'many']",
    ),
}


@pytest.mark.parametrize("shape", MALFORMED)
def test_a_malformed_prometheus_answer_is_a_clean_source_error(httpserver, tmp_path, shape):
    answer, malformed = MALFORMED[shape]
    prometheus_answering(httpserver, answer)
    write_project(tmp_path, PROMETHEUS.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "prom", window(date(2026, 11, 17), date(2026, 11, 18)))

    assert error(result, "bad") == f"query_range returned a malformed {malformed}"
    assert values(result, "good") == {"2026-11-17": 3.0}


def test_prometheus_infinities_reach_the_series_and_nan_stays_dropped(httpserver, tmp_path):
    day = 86400
    series = {"values": [[DAY_17, "+Inf"], [DAY_17 + day, "-Inf"], [DAY_17 + 2 * day, "NaN"]]}
    prometheus_answering(httpserver, matrix_of([series]))
    write_project(tmp_path, PROMETHEUS.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "prom", window(date(2026, 11, 17), date(2026, 11, 20)))

    # +Inf and -Inf are both held as infinity (NOT_FINITE), for the finite check to reject;
    # NaN is Prometheus's "no value": the 19th has none
    assert values(result, "bad") == {"2026-11-17": math.inf, "2026-11-18": math.inf}
    assert values(result, "good") == {"2026-11-17": 3.0}


# ---------------------------------------------------------------- a whole run

RUN_AS_OF = date(2026, 11, 10)
ODD_NUMBERS = {
    "huge": b"1" + b"0" * 400,  # 1e400, above the largest float (1.8e308)
    "giant": b"9" * 5000,  # more digits than Python parses as an integer (4,300)
    "nan": b"NaN",
    "infinity": b"Infinity",
}
NOISE = {"escape": "\x1b[2J\x1b]0;pwned\x07", "long": "x" * 2000}
RUN_SOURCES = {
    "noisy.yaml": """\
        name: noisy
        kind: rest
        base_url: BASE
        retries: 0
        metrics:
          - {name: escape, request: {path: /escape}, records: "$.data", ts: day}
          - {name: long, request: {path: /long}, records: "$.data", ts: day}
        """,
    "odd.yaml": """\
        name: odd
        kind: rest
        base_url: BASE
        metrics:
          - {name: huge, request: {path: /huge}, records: "$.data", ts: day, value: n}
          - {name: giant, request: {path: /giant}, records: "$.data", ts: day, value: n}
          - {name: nan, request: {path: /nan}, records: "$.data", ts: day, value: n}
          - {name: infinity, request: {path: /infinity}, records: "$.data", ts: day, value: n}
          - {name: fine, request: {path: /fine}, records: "$.data", ts: day, value: n}
        """,
    "books.yaml": """\
        name: books
        kind: csv
        path: books.csv
        metrics:
          - {name: sales, ts: date, value: amount}
        """,
}
RUN_KEY_RESULTS = ["escape", "long", "huge", "giant", "nan", "infinity", "fine", "sales"]
RUN_OKRS = """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [t]
objectives:
"""


def odd_api(connection, path: str) -> None:
    """Errors with outside text for noisy; day 10 with an odd number for odd (fine: 7)."""
    name = path.strip("/")
    if name in NOISE:
        send_json(connection, {"message": NOISE[name]}, "400 Bad Request")
        return
    number = ODD_NUMBERS.get(name, b"7")
    body = b'{"data": [{"day": "2026-11-09", "n": 5}, {"day": "2026-11-10", "n": %s}]}' % number
    send_json(connection, body)


def run_day(tmp_path: Path, instance, server: RawServer, sources: dict, objectives: list[dict]):
    """Materialize RUN_AS_OF for a project of `sources` (file -> YAML, BASE for the server's
    URL) and `objectives` (per objective, key result -> its source, increase 0 -> 10);
    `kr_scores` and `source_runs` of the day, by id."""
    root = tmp_path / "project"
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    for file, text in sources.items():
        text = textwrap.dedent(text).replace("BASE", server.url)
        (root / "metric_sources" / file).write_text(text)
    text = RUN_OKRS
    for number, key_results in enumerate(objectives):
        text += (
            f"  - id: o{number}\n    title: O{number}\n    owner: a@example.com\n"
            "    theme: t\n    key_results:\n"
        )
        for kr, source in key_results.items():
            text += (
                f"      - {{id: {kr}, title: {kr}, owner: a@example.com, "
                f"metric: {source}.{kr}, type: increase, baseline: 0, target: 10}}\n"
            )
    (root / "okrs" / "q4.yaml").write_text(text)
    (root / "books.csv").write_text("date,amount\n2026-11-01,4\n")
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    assert materialize_day(build_definitions(root, url), RUN_AS_OF, instance).success
    engine = warehouse.create_engine(url)
    krs = warehouse.read_table(engine, warehouse.kr_scores, RUN_AS_OF).set_index("kr_id")
    runs = warehouse.read_table(engine, warehouse.source_runs, RUN_AS_OF).set_index("source")
    engine.dispose()
    return krs, runs


def test_outside_text_is_inert_and_numbers_no_float_holds_are_invalid(tmp_path, dagster_instance):
    sources = {"escape": "noisy", "long": "noisy", "sales": "books"}
    by_kr = [
        {kr: sources.get(kr, "odd") for kr in krs}
        for krs in (RUN_KEY_RESULTS[:4], RUN_KEY_RESULTS[4:])
    ]
    with RawServer(odd_api) as server:
        krs, runs = run_day(tmp_path, dagster_instance, server, RUN_SOURCES, by_kr)
    host = f"127.0.0.1:{server.port}"
    # inert: ESC and BEL go; the 2,000 x's are cut to 200 characters of detail, "…" included
    escape = f"GET {host}/escape: HTTP 400 Bad Request: [2J]0;pwned"
    long = f"GET {host}/long: HTTP 400 Bad Request: {'x' * 199}…"
    finite = "check finite failed: value on 2026-11-10 is not a finite number (NaN or ±Infinity)"
    expected = {
        "escape": ("no_data", "source_error", escape),
        "long": ("no_data", "source_error", long),
        "huge": ("no_data", "invalid", finite),
        "giant": ("no_data", "invalid", finite),
        "nan": ("no_data", "invalid", finite),
        "infinity": ("no_data", "invalid", finite),
    }
    for kr, outcome in expected.items():
        assert tuple(krs.loc[kr, ["status", "data_status", "data_message"]]) == outcome, kr
    assert runs.loc["noisy", "message"] == f"noisy.escape: {escape}; noisy.long: {long}"
    stored = [*krs["data_message"].dropna(), *runs["message"].dropna()]
    assert [m for m in stored if re.search(r"[\x00-\x1f\x7f-\x9f]", m) or len(m) > 500] == []
    # the others scored: fine's newest value is 7 on Nov 10, sales' 4 on Nov 1, of 10 each
    assert krs.loc["fine", ["current_value", "data_status"]].tolist() == [7, "ok"]
    assert krs.loc["sales", ["current_value", "data_status"]].tolist() == [4, "ok"]
    assert krs.loc["fine", "attainment"] == pytest.approx(0.7)  # (7 - 0) / (10 - 0)
    assert (runs.loc["odd", "status"], runs.loc["books", "status"]) == ("ok", "ok")


FLOODED_SOURCES = {
    "flooded.yaml": """\
        name: flooded
        kind: rest
        base_url: BASE
        timeout_seconds: 1
        max_response_mb: 1
        retries: 0
        metrics:
          - {name: trickle, request: {path: /trickle}, records: "$.data", ts: day, value: n}
          - {name: bomb, request: {path: /bomb}, records: "$.data", ts: day, value: n}
          - {name: endless, request: {path: /endless}, records: "$.data", ts: day, value: n}
        """,
    "prom.yaml": """\
        name: prom
        kind: prometheus
        url: BASE
        retries: 0
        metrics:
          - {name: matrix, promql: up}
        """,
}
FLOODS = {"/trickle": body_trickle, "/bomb": bomb, "/endless": endless_chunks}


def flooding_api(connection, path: str) -> None:
    """Floods and a trickle for `flooded`, `result: [1, 2]` for Prometheus, 7 for `fine`."""
    if path in FLOODS:
        FLOODS[path](connection)
    elif path == "/api/v1/query_range":
        send_json(connection, matrix_of([1, 2]))
    else:
        odd_api(connection, path)


def test_floods_trickles_and_a_malformed_matrix_mark_only_their_key_results(
    tmp_path, dagster_instance
):
    """A whole run: each misbehaving answer is its key result's source_error, with the limit
    it hit, and the sources that answered well score."""
    sources = {**FLOODED_SOURCES, "odd.yaml": RUN_SOURCES["odd.yaml"]}
    sources["books.yaml"] = RUN_SOURCES["books.yaml"]
    key_results = {"trickle": "flooded", "bomb": "flooded", "endless": "flooded"}
    key_results |= {"matrix": "prom", "fine": "odd", "sales": "books"}
    with RawServer(flooding_api) as server:
        krs, runs = run_day(tmp_path, dagster_instance, server, sources, [key_results])
    host = f"127.0.0.1:{server.port}"
    capped = "response is larger than 1 MB (max_response_mb)"
    expected = {
        "trickle": f"GET {host}/trickle: no complete response within 1 s",
        "bomb": f"GET {host}/bomb: {capped}",
        "endless": f"GET {host}/endless: {capped}",
        "matrix": "query_range returned a malformed series: 1",
    }
    for kr, message in expected.items():
        marked = ("no_data", "source_error", message)
        assert tuple(krs.loc[kr, ["status", "data_status", "data_message"]]) == marked, kr
    assert (runs.loc["flooded", "status"], runs.loc["prom", "status"]) == ("error", "error")
    # the others scored: fine's newest value is 7 on Nov 10, sales' 4 on Nov 1, of 10 each
    assert krs.loc["fine", ["current_value", "score", "data_status"]].tolist() == [7, 0.7, "ok"]
    assert krs.loc["sales", ["current_value", "score", "data_status"]].tolist() == [4, 0.4, "ok"]
