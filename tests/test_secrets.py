"""A password in a database URL never shows: not in what `run` prints, not in any warehouse
table, not in Dagster's event log or run records, not in an error message.

Three SQL sources are dead in different ways, each with its URL (and password) given through
${ENV}: nothing listens on its port; a live PostgreSQL has no such database; a live MariaDB
refuses the password. The warehouse URL carries a password of its own, which the shared
PostgreSQL server (trust on 127.0.0.1) ignores. (REST tokens are tested with the REST sources.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from test_pipeline import AS_OF, OKRS, write_project

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
    else:
        assert result.returncode in (0, 1), output
        if result.returncode == 0:
            assert leaks(warehouse_text(url)) == []


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
        monkeypatch.delenv(WAREHOUSE_ENV, raising=False)  # restored after the test
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
