"""A password in a database URL never shows: not in what `run` prints, not in any warehouse
table, not in Dagster's event log or run records, not in an error message.

Three SQL sources are dead in different ways, each with its URL (and password) given through
${ENV}: nothing listens on its port; a live PostgreSQL has no such database; a live MariaDB
refuses the password. The warehouse URL carries a password of its own, which the shared
PostgreSQL server (trust on 127.0.0.1) ignores.

API credentials leak in the encodings they travel in: a Jira source's Basic header (the
base64 of user:token) and a REST query token with `+`, `/` and `=` (percent-encoded on the
wire) are echoed back by a hostile API; no form of either may show anywhere.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_plus

import dagster as dg
import pytest
import sqlalchemy as sa
from test_pipeline import AS_OF, OKRS, write_project
from werkzeug import Request, Response

from okr_pipeline import warehouse
from okr_pipeline.orchestration import WAREHOUSE_ENV, build_definitions, materialize_day

SOURCE_PASSWORD = "S3cr3t-Zebra-42"
WAREHOUSE_PASSWORD = "W4rehouse-Okapi-77"
REST_TOKEN = "tok-Narwhal-9001"
PASSWORDS = (SOURCE_PASSWORD, WAREHOUSE_PASSWORD, REST_TOKEN)
REST_SOURCE = """
name: events
kind: rest
base_url: http://127.0.0.1:1/api
auth: {type: query, name: api_key, value: ${OKR_TEST_EVENTS_TOKEN}}
retries: 0
metrics:
  - {name: count, request: {path: /count}, records: "$.data[*]", ts: day}
"""
DEAD_SOURCES = {  # source name -> (environment variable, URL, key result)
    "billing": (
        "OKR_TEST_BILLING_URL",
        f"postgresql+psycopg://postgres:{SOURCE_PASSWORD}@127.0.0.1:1/billing",
        "invoices",
    ),
    "ledger": (
        "OKR_TEST_LEDGER_URL",
        f"postgresql+psycopg://postgres:{SOURCE_PASSWORD}@127.0.0.1:5432/okr_no_such_db",
        "bookings",
    ),
    "orders": (
        "OKR_TEST_ORDERS_URL",
        f"mysql+pymysql://root:{SOURCE_PASSWORD}@127.0.0.1:3306/orders",
        "orders",
    ),
}
SOURCE_FILE = """
name: {name}
kind: sql
url: ${{{variable}}}
retries: 0
timeout_seconds: 5
metrics:
  - name: count
    query: SELECT '2026-11-01' AS ts, 1 AS value
"""
OBJECTIVE = """
  - id: bill
    title: Bill every order
    owner: cy@example.com
    team: finance
    key_results:
"""
KEY_RESULT = """      - {{id: {kr}, title: 50 {kr}, metric: {name}.count, type: increase,
         aggregation: sum, target: 50}}
"""


def write_secret_project(root: Path) -> Path:
    """The pipeline test's project plus the three dead SQL sources, a dead REST source whose
    token travels as a query parameter, and a KR on each."""
    project = write_project(root)
    (project / "metric_sources" / "events.yaml").write_text(REST_SOURCE)
    okrs = OKRS + OBJECTIVE + KEY_RESULT.format(kr="events", name="events")
    for name, (variable, _, kr) in DEAD_SOURCES.items():
        source = SOURCE_FILE.format(name=name, variable=variable)
        (project / "metric_sources" / f"{name}.yaml").write_text(source)
        okrs += KEY_RESULT.format(kr=kr, name=name)
    (project / "okrs" / "q4.yaml").write_text(okrs)
    return project


def source_environment() -> dict[str, str]:
    urls = {variable: url for variable, url, _ in DEAD_SOURCES.values()}
    return {**urls, "OKR_TEST_EVENTS_TOKEN": REST_TOKEN}


def with_password(url: str) -> str:
    with_it = sa.engine.make_url(url).set(password=WAREHOUSE_PASSWORD)
    return with_it.render_as_string(hide_password=False)


def leaks(text: str) -> list[str]:
    return [password for password in PASSWORDS if password in text]


def warehouse_text(url: str) -> str:
    """Every value of every row of every warehouse table, as text."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    with engine.connect() as connection:
        rows = [
            f"{table.name}: {tuple(row)}"
            for table in warehouse.metadata.sorted_tables
            for row in connection.execute(sa.select(table))
        ]
    engine.dispose()
    return "\n".join(rows)


def run_command(project: Path, *arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in (WAREHOUSE_ENV, "DAGSTER_HOME")}
    command = [sys.executable, "-m", "okr_pipeline", *arguments, "--project-dir", str(project)]
    return subprocess.run(
        command, cwd=project, env={**base, **env}, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def project(tmp_path) -> Path:
    return write_secret_project(tmp_path / "project")


def test_run_prints_and_stores_no_password(project, postgres_url):
    url = with_password(postgres_url)
    result = run_command(
        project, "run", "--date", AS_OF.isoformat(), "--warehouse", url, env=source_environment()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert leaks(output) == [], output
    # the failures themselves are reported, only without the password
    for name in DEAD_SOURCES:
        assert f"{name} error" in result.stdout  # the summary line: "sources: ..., billing error"
        assert f"source {name} failed: {name}.count: " in result.stdout

    text = warehouse_text(postgres_url)
    assert leaks(text) == [], text
    engine = warehouse.create_engine(postgres_url)
    runs = warehouse.read_table(engine, warehouse.source_runs).set_index("source")
    krs = warehouse.read_table(engine, warehouse.kr_scores).set_index("kr_id")
    engine.dispose()
    for name, (_, _, kr) in DEAD_SOURCES.items():
        assert runs.loc[name, "status"] == "error"
        assert runs.loc[name, "message"].startswith(f"{name}.count: ")
        assert (krs.loc[kr, "status"], krs.loc[kr, "data_status"]) == ("no_data", "source_error")
        assert krs.loc[kr, "data_message"]  # a reason is given
    assert krs.loc["mrr", "current_value"] == 150  # the live sources still scored
    assert runs.loc["events", "message"].startswith("events.count: GET 127.0.0.1:1/api/count: ")
    assert krs.loc["events", "data_status"] == "source_error"

    report = project / "report.html"
    result = run_command(
        project, "report", "--out", str(report), "--warehouse", url, env=source_environment()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = report.read_text()
    assert "events.count: GET 127.0.0.1:1/api/count" in html  # the failure is shown...
    assert leaks(html + result.stdout + result.stderr) == []  # ...without a secret


@pytest.mark.parametrize("failure", ["dead warehouse", "unparsable source URL"])
def test_a_failing_run_says_why_without_the_password(failure, project, tmp_path):
    """Where a run cannot finish (or its connector cannot even read the URL), the error
    shown is still free of the password."""
    env = source_environment()
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    if failure == "dead warehouse":
        url = f"postgresql+psycopg://postgres:{WAREHOUSE_PASSWORD}@127.0.0.1:1/warehouse"
    else:
        env["OKR_TEST_BILLING_URL"] = (
            f"postgresql+psycopg://postgres:{SOURCE_PASSWORD}@127.0.0.1:notaport/billing"
        )
    result = run_command(project, "run", "--date", AS_OF.isoformat(), "--warehouse", url, env=env)
    output = result.stdout + result.stderr
    assert leaks(output) == [], output
    if failure == "dead warehouse":
        assert result.returncode == 1, output
        assert result.stderr.splitlines() == [  # says why, in one line, before any fetch
            "cannot connect to warehouse postgresql+psycopg://postgres:***@127.0.0.1:1/warehouse:"
            " connection refused"
        ]
    else:  # `check` rejects such a URL, so the run refuses before it starts
        assert result.returncode == 1, output
        assert result.stderr.splitlines() == [
            "metric_sources/billing.yaml: source billing: url: the port of this URL is not a "
            "number from 1 to 65535 (the URL is not shown: it may hold a password)",
            "1 error(s); nothing was run.",
        ]


@pytest.mark.parametrize("passed_as", ["environment", "argument"])
def test_dagster_event_log_and_run_records_hold_no_password(
    passed_as, project, postgres_url, dagster_instance, monkeypatch, caplog
):
    """Through the real Definitions: the warehouse URL as $OKR_WAREHOUSE_URL (the way the CLI
    and `dagster dev` pass it) or as an argument of build_definitions; the sources' URLs
    through ${ENV} in their YAML."""
    for variable, url in source_environment().items():
        monkeypatch.setenv(variable, url)
    if passed_as == "environment":
        monkeypatch.setenv(WAREHOUSE_ENV, with_password(postgres_url))
        defs = build_definitions(project)
    else:
        # build_definitions parks a URL with a password in $OKR_WAREHOUSE_URL; setenv first
        # records the variable's state, so that it is restored after the test even when it
        # was not set (delenv of an unset variable records nothing, and the URL of this
        # test's dropped database would reach every later `okr-pipeline` subprocess)
        monkeypatch.setenv(WAREHOUSE_ENV, "")
        monkeypatch.delenv(WAREHOUSE_ENV)
        defs = build_definitions(project, with_password(postgres_url))
    result = materialize_day(defs, AS_OF, dagster_instance)
    assert result.success

    run = dagster_instance.get_run_by_id(result.run_id)
    records = {
        "run": dg.serialize_value(run),
        "job snapshot": dg.serialize_value(dagster_instance.get_job_snapshot(run.job_snapshot_id)),
        "plan snapshot": dg.serialize_value(
            dagster_instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        ),
        "python log": caplog.text,
    }
    entries = dagster_instance.all_logs(result.run_id)
    for number, entry in enumerate(entries):
        records[f"event {number} ({entry.dagster_event_type})"] = dg.serialize_value(entry)
    leaked = {where: leaks(text) for where, text in records.items() if leaks(text)}
    assert leaked == {}

    # The scan saw where the failures are told: asset check and output metadata.
    metadata = "\n".join(
        str(entry.dagster_event.event_specific_data)
        for entry in entries
        if entry.dagster_event is not None
    )
    for name in DEAD_SOURCES:
        assert f"{name}.count" in metadata
    assert len(entries) > 20
    assert leaks(warehouse_text(postgres_url)) == []
    engine = warehouse.create_engine(postgres_url)
    scores = warehouse.read_table(engine, warehouse.kr_scores, AS_OF)
    engine.dispose()
    assert set(scores.loc[scores["data_status"] == "source_error", "kr_id"]) == {
        "deals",
        "events",
        *(kr for _, _, kr in DEAD_SOURCES.values()),
    }


# ---------------------------------------------------------------- API credentials, every form

JIRA_USER = "ana@example.com"
JIRA_TOKEN = "Jira-Wombat-7731"
QUERY_TOKEN = "q+tok/S3cret="
API_FORMS = {  # every form in which the two API secrets travel, written out by hand
    "jira token": JIRA_TOKEN,
    "basic header": base64.b64encode(f"{JIRA_USER}:{JIRA_TOKEN}".encode()).decode(),
    "query token": QUERY_TOKEN,
    "query token, percent-encoded": "q%2Btok%2FS3cret%3D",
    "query token, percent-encoded in lower case": "q%2btok%2fS3cret%3d",
    "query token, percent-encoded but /": "q%2Btok/S3cret%3D",
}
API_SOURCES = {
    "jira.yaml": """\
name: jira
kind: jira
url: BASE
username: ana@example.com
token: ${OKR_TEST_JIRA_TOKEN}
retries: 0
metrics:
  - {name: incidents, jql: "project = OPS"}
""",
    "events.yaml": """\
name: events
kind: rest
base_url: BASE/api
auth: {type: query, name: api_key, value: "${OKR_TEST_QUERY_TOKEN}"}
retries: 0
metrics:
  - {name: count, request: {path: /count}, records: "$.data[*]", ts: day}
""",
    "books.yaml": """\
name: books
kind: csv
path: books.csv
metrics:
  - {name: sales, ts: date, value: amount}
""",
}


def api_leaks(text: str) -> list[str]:
    return [form for form, secret in API_FORMS.items() if secret in text]


def echo_credentials(request: Request) -> Response:
    """An API that repeats in its error what it was sent: the Authorization header, the
    query string as received, with its escapes in lower case, and decoded."""
    query = request.query_string.decode()
    lower = re.sub(r"%[0-9A-F]{2}", lambda escape: escape[0].lower(), query)
    said = [request.headers.get("Authorization", ""), query, lower, unquote_plus(query)]
    text = "rejected: " + " ".join(part for part in said if part)
    return Response(json.dumps({"message": text}), status=401, content_type="application/json")


@pytest.fixture
def api_project(tmp_path, httpserver) -> tuple[Path, date]:
    """A Jira source (basic auth) and a REST source with a query token, both answered by
    an API that echoes the credentials; a CSV source that works. Dated today, as Jira's
    counts are point-in-time readings."""
    httpserver.expect_request(re.compile(".*")).respond_with_handler(echo_credentials)
    today = datetime.now(UTC).date()
    root = tmp_path / "api-project"
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    base = httpserver.url_for("").rstrip("/")
    for name, text in API_SOURCES.items():
        (root / "metric_sources" / name).write_text(text.replace("BASE", base))
    (root / "books.csv").write_text(f"date,amount\n{today - timedelta(1)},30\n")
    (root / "okrs" / "now.yaml").write_text(
        f"cycle: {{id: now, start: {today - timedelta(9)}, end: {today + timedelta(20)}}}\n"
        "themes: [t]\nobjectives:\n"
        "  - id: o\n    title: O\n    owner: a@example.com\n    theme: t\n    key_results:\n"
        "      - {id: incidents, title: I, metric: jira.incidents, type: stay_below, target: 5}\n"
        "      - {id: events, title: E, metric: events.count, type: increase,"
        " aggregation: sum, target: 10}\n"
        "      - {id: sales, title: S, metric: books.sales, type: increase, baseline: 0,"
        " target: 60}\n"
    )
    return root, today


def api_environment() -> dict[str, str]:
    return {"OKR_TEST_JIRA_TOKEN": JIRA_TOKEN, "OKR_TEST_QUERY_TOKEN": QUERY_TOKEN}


def expected_api_messages(httpserver) -> dict[str, str]:
    host = f"localhost:{httpserver.port}"
    return {
        "incidents": f"POST {host}/rest/api/3/search/approximate-count: "
        "HTTP 401 UNAUTHORIZED: rejected: Basic ***",
        "events": f"GET {host}/api/count: "
        "HTTP 401 UNAUTHORIZED: rejected: api_key=*** api_key=*** api_key=***",
    }


def test_no_form_of_an_api_credential_leaks_from_a_run_or_its_report(api_project, httpserver):
    root, today = api_project
    url = f"sqlite:///{root / 'warehouse.db'}"
    run = run_command(root, "run", "--date", today.isoformat(), "--warehouse", url,
                      env=api_environment())  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert api_leaks(output) == [], output
    messages = expected_api_messages(httpserver)
    assert f"source jira failed: jira.incidents: {messages['incidents']}" in run.stdout
    assert f"source events failed: events.count: {messages['events']}" in run.stdout
    # the echoes reached us: the API saw the credentials, in the forms the checks look for
    echoed = [request.headers.get("Authorization", "") + request.query_string.decode()
              for request, _ in httpserver.log]  # fmt: skip
    assert [form for form in API_FORMS.values() if any(form in e for e in echoed)] == [
        API_FORMS["basic header"],
        API_FORMS["query token, percent-encoded"],
    ]

    assert api_leaks(warehouse_text(url)) == []
    engine = warehouse.create_engine(url)
    krs = warehouse.read_table(engine, warehouse.kr_scores, today).set_index("kr_id")
    runs = warehouse.read_table(engine, warehouse.source_runs, today).set_index("source")
    engine.dispose()
    for kr, message in messages.items():
        outcome = ("no_data", "source_error", message)
        assert tuple(krs.loc[kr, ["status", "data_status", "data_message"]]) == outcome
    assert runs.loc["jira", "message"] == f"jira.incidents: {messages['incidents']}"
    assert runs.loc["events", "message"] == f"events.count: {messages['events']}"
    # sales scored: 30 of 60 = 0.5, from a baseline of 0
    assert krs.loc["sales", ["current_value", "attainment", "data_status"]].tolist() == [
        30,
        0.5,
        "ok",
    ]

    report = root / "report.html"
    shown = run_command(root, "report", "--date", today.isoformat(), "--out", str(report),
                        "--warehouse", url, env=api_environment())  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
    html = report.read_text()
    assert "rejected: Basic ***" in html  # the failure is shown, without the secret
    assert api_leaks(html + shown.stdout + shown.stderr) == []


def test_no_form_of_an_api_credential_reaches_dagster_events_or_stored_outputs(
    api_project, httpserver, dagster_instance, monkeypatch, caplog
):
    root, today = api_project
    for variable, value in api_environment().items():
        monkeypatch.setenv(variable, value)
    url = f"sqlite:///{root / 'warehouse.db'}"
    result = materialize_day(build_definitions(root, url), today, dagster_instance)
    assert result.success

    entries = dagster_instance.all_logs(result.run_id)
    events = {f"event {n}": dg.serialize_value(entry) for n, entry in enumerate(entries)}
    leaked = {where: api_leaks(text) for where, text in events.items() if api_leaks(text)}
    assert leaked == {}
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert api_leaks(ours) == []  # werkzeug's access log is the API's side, not ours
    told = "\n".join(events.values())
    for message in expected_api_messages(httpserver).values():
        assert json.dumps(message)[1:-1] in told  # the scan saw where failures are told

    storage = Path(dagster_instance.storage_directory())
    pickles = sorted(storage.rglob("*.pickle"))
    secrets = [secret.encode() for secret in API_FORMS.values()]
    assert [str(path) for path in pickles if any(s in path.read_bytes() for s in secrets)] == []
    # the scan saw this run's outputs, which hold the failures
    jira = storage / "sources" / "jira" / f"{today}..{today}.pickle"
    assert jira in pickles
    fetched = pickle.loads(jira.read_bytes())
    assert fetched.fetch.metrics[0].error == expected_api_messages(httpserver)["incidents"]
