"""The sql connector against real databases: a SQLite file, PostgreSQL and MariaDB.

Every test writes the YAML a user would write and fetches through `load_project` and
`connector_for`. The same six events sit in each database, around a window of
2026-10-01 .. 2026-10-04 (end exclusive):

    2026-09-30 23:59:59   100    before the window
    2026-10-01 00:00:00   1.5    O'Brien
    2026-10-01 18:30:00   2.5    100% {start} %(end)s     (breaks str.format and %-formatting)
    2026-10-02 09:00:00   4
    2026-10-03 23:59:59   8      the window's last second
    2026-10-04 00:00:00   16     the end date itself: excluded

so the daily sums are 10-01: 1.5 + 2.5 = 4, 10-02: 4, 10-03: 8, and the daily counts 2, 1, 1.
Server tests skip when the server is unreachable (fail under OKR_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest
import sqlalchemy as sa

from okr_pipeline.config import load_project
from okr_pipeline.sources import connector_for

from .conftest_http import error, fetch, free_port, values, window, write_project

EVENTS = [
    (datetime(2026, 9, 30, 23, 59, 59), 100.0, "before"),
    (datetime(2026, 10, 1, 0, 0, 0), 1.5, "O'Brien"),
    (datetime(2026, 10, 1, 18, 30, 0), 2.5, "100% {start} %(end)s"),
    (datetime(2026, 10, 2, 9, 0, 0), 4.0, "plain"),
    (datetime(2026, 10, 3, 23, 59, 59), 8.0, "last second"),
    (datetime(2026, 10, 4, 0, 0, 0), 16.0, "end date"),
]
OCTOBER_1_TO_3 = window(date(2026, 10, 1), date(2026, 10, 4))
DAILY_SUMS = {"2026-10-01": 4.0, "2026-10-02": 4.0, "2026-10-03": 8.0}  # 1.5 + 2.5 = 4
DAILY_COUNTS = {"2026-10-01": 2.0, "2026-10-02": 1.0, "2026-10-03": 1.0}
OSLO = "timezone: Europe/Oslo\n"

# The same metrics on every backend: SQL that PostgreSQL, MariaDB and SQLite all accept.
METRICS = """\
metrics:
  - name: daily_sum
    query: |
      SELECT date(created_at) AS ts, sum(amount) AS value
      FROM events WHERE created_at >= :start AND created_at < :end
      GROUP BY 1
  - name: daily_count
    query: |
      SELECT date(created_at) AS ts, count(*) AS value
      FROM events WHERE created_at >= :start AND created_at < :end
      GROUP BY 1
  - name: first_event_time
    query: |
      SELECT min(created_at) AS ts, sum(amount) AS value
      FROM events WHERE created_at >= :start AND created_at < :end
      GROUP BY date(created_at)
  - name: quoted_text
    query: |
      SELECT date(created_at) AS ts, count(*) AS value
      FROM events
      WHERE created_at >= :start AND created_at < :end
        AND (note = 'O''Brien' OR note LIKE '100% {start}%')
      GROUP BY 1
"""


def sql_source(url: str, extra: str = "", metrics: str = METRICS) -> str:
    return f"name: db\nkind: sql\nurl: {url}\nretries: 0\n{extra}{metrics}"


def assert_backend_results(result) -> None:
    assert result.status == "ok", result.message
    assert values(result, "daily_sum") == DAILY_SUMS
    assert values(result, "daily_count") == DAILY_COUNTS
    # 18:30 of 10-01 and 23:59:59 of 10-03 come back as their dates: 4, 4 and 8 as above
    assert values(result, "first_event_time") == DAILY_SUMS
    # one row of 10-01 is O'Brien, the other's note starts with 100% {start}: 1 + 1 = 2
    assert values(result, "quoted_text") == {"2026-10-01": 2.0}
    for metric in result.metrics:
        stamps = metric.series["ts"]
        assert (stamps == stamps.dt.normalize()).all(), metric.metric_id
        assert str(stamps.dtype) == "datetime64[ns]"
        assert str(metric.series["value"].dtype) == "float64"


# ---------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Path:
    """A project whose `data/app.db` holds the events, reached by a relative URL."""
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as connection:
        connection.execute("CREATE TABLE events (created_at TEXT, amount REAL, note TEXT)")
        connection.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            [(moment.isoformat(" "), amount, note) for moment, amount, note in EVENTS],
        )
    connection.close()
    return tmp_path


def test_sqlite_binds_the_window_aggregates_per_day_and_excludes_the_end(
    sqlite_project: Path, tmp_path_factory, monkeypatch
):
    write_project(sqlite_project, sql_source("sqlite:///data/app.db"))
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # the URL is project-relative
    assert_backend_results(fetch(sqlite_project, "db", OCTOBER_1_TO_3))


def test_sqlite_one_row_per_day_comes_from_the_database(sqlite_project: Path):
    """Raw events are not aggregated by the connector: a query that returns them yields
    one row per event, so the day's aggregation must be (and is) in the query."""
    raw = """\
    metrics:
      - name: raw
        query: SELECT created_at AS ts, amount AS value FROM events
               WHERE created_at >= :start AND created_at < :end
    """
    write_project(sqlite_project, sql_source("sqlite:///data/app.db", metrics=dedent(raw)))
    (metric,) = fetch(sqlite_project, "db", OCTOBER_1_TO_3).metrics
    # four events inside the window, two of them on 10-01
    assert list(metric.series["ts"].dt.strftime("%Y-%m-%d")) == [
        "2026-10-01", "2026-10-01", "2026-10-02", "2026-10-03"
    ]  # fmt: skip


def test_sqlite_query_error_is_recorded_per_metric_without_a_traceback(sqlite_project: Path):
    broken = """\
    metrics:
      - name: broken
        query: SELECT ts, value FROM no_such_table WHERE ts >= :start
      - name: fine
        query: SELECT date(created_at) AS ts, count(*) AS value FROM events
               WHERE created_at >= :start AND created_at < :end GROUP BY 1
    """
    write_project(sqlite_project, sql_source("sqlite:///data/app.db", metrics=dedent(broken)))
    result = fetch(sqlite_project, "db", OCTOBER_1_TO_3)
    assert error(result, "broken") == "query failed: no such table: no_such_table"
    assert values(result, "fine") == DAILY_COUNTS
    assert result.status == "error"
    assert result.message == "db.broken: query failed: no such table: no_such_table"


def test_sqlite_missing_file_is_an_error_and_no_empty_database_is_left(tmp_path: Path):
    write_project(tmp_path, sql_source("sqlite:///data/missing.db"))
    result = fetch(tmp_path, "db", OCTOBER_1_TO_3)
    assert error(result, "daily_sum") == "database file not found: data/missing.db"
    assert not (tmp_path / "data" / "missing.db").exists()


def test_sqlite_statement_timeout(sqlite_project: Path):
    endless = """\
    metrics:
      - name: endless
        query: |
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
          SELECT :start AS ts, count(*) AS value FROM n
    """
    source = sql_source("sqlite:///data/app.db", "timeout_seconds: 1\n", dedent(endless))
    write_project(sqlite_project, source)
    started = time.perf_counter()
    result = fetch(sqlite_project, "db", OCTOBER_1_TO_3)
    assert error(result, "endless") == "query timed out after 1 s"
    assert time.perf_counter() - started < 2.5


def test_a_wrong_driver_is_an_error_not_a_crash(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OKR_TEST_SQL_URL", "postgresql+nosuchdriver://u:Pw-Zz93-unique@h/db")
    write_project(tmp_path, sql_source("${OKR_TEST_SQL_URL}"))
    message = error(fetch(tmp_path, "db", OCTOBER_1_TO_3), "daily_sum")
    assert message.startswith("cannot use this database URL: Can't load plugin")
    assert "Pw-Zz93-unique" not in message


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def postgres_events(postgres_url: str) -> str:
    """The events as `timestamptz`, written in UTC: Oslo is UTC+2 in early October."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE events (created_at timestamptz, amount numeric(10, 2), note text)"
        )
        connection.execute(
            sa.text("INSERT INTO events VALUES (:at, :amount, :note)"),
            [
                {"at": f"{(moment - timedelta(hours=2)).isoformat(' ')}+00", "amount": amount,
                 "note": note}
                for moment, amount, note in EVENTS
            ],
        )  # fmt: skip
    engine.dispose()
    return postgres_url


@pytest.mark.services
def test_postgres_days_are_local_days_of_the_project_timezone(postgres_events, tmp_path):
    """2026-09-30 22:00 UTC is 10-01 00:00 in Oslo: it counts for 10-01; 10-03 22:00 UTC is
    10-04 in Oslo and falls outside the window. numeric(10, 2) arrives as float."""
    write_project(tmp_path, sql_source(postgres_events), settings=OSLO)
    assert_backend_results(fetch(tmp_path, "db", OCTOBER_1_TO_3))


@pytest.mark.services
def test_postgres_casts_on_parameters_and_date_trunc(postgres_events, tmp_path):
    casts = """\
    metrics:
      - name: cast
        query: |
          SELECT date_trunc('day', created_at) AS ts, sum(amount) AS value
          FROM events WHERE created_at >= :start::timestamptz AND created_at < :end::date
          GROUP BY 1
    """
    write_project(tmp_path, sql_source(postgres_events, metrics=dedent(casts)), settings=OSLO)
    # date_trunc gives Oslo midnight as a timestamptz; it is still the Oslo day: 4, 4, 8
    assert values(fetch(tmp_path, "db", OCTOBER_1_TO_3), "cast") == DAILY_SUMS


@pytest.mark.services
def test_postgres_statement_timeout(postgres_url: str, tmp_path: Path):
    sleepy = """\
    metrics:
      - name: sleepy
        query: SELECT :start AS ts, 1 AS value FROM pg_sleep(5)
    """
    write_project(tmp_path, sql_source(postgres_url, "timeout_seconds: 1\n", dedent(sleepy)))
    started = time.perf_counter()
    result = fetch(tmp_path, "db", OCTOBER_1_TO_3)
    assert error(result, "sleepy") == "query timed out after 1 s"
    assert time.perf_counter() - started < 2.5


@pytest.mark.services
def test_postgres_query_error_is_its_first_line(postgres_url: str, tmp_path: Path):
    broken = """\
    metrics:
      - name: broken
        query: SELECT ts, value FROM no_such_table WHERE ts >= :start
    """
    write_project(tmp_path, sql_source(postgres_url, metrics=dedent(broken)))
    # PostgreSQL adds "LINE 1: ..." and a caret below; only the first line is kept
    assert error(fetch(tmp_path, "db", OCTOBER_1_TO_3), "broken") == (
        'query failed: relation "no_such_table" does not exist'
    )


# ---------------------------------------------------------------- MariaDB


@pytest.fixture
def mariadb_events(mariadb_url: str) -> str:
    """The events as naive DATETIME, local time as the application wrote it."""
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE events (created_at DATETIME, amount DECIMAL(10, 2), note TEXT)"
        )
        connection.execute(
            sa.text("INSERT INTO events VALUES (:at, :amount, :note)"),
            [{"at": moment, "amount": amount, "note": note} for moment, amount, note in EVENTS],
        )
    engine.dispose()
    return mariadb_url


@pytest.mark.services
def test_mariadb_binds_the_window_aggregates_per_day_and_excludes_the_end(
    mariadb_events: str, tmp_path: Path
):
    write_project(tmp_path, sql_source(mariadb_events), settings=OSLO)
    assert_backend_results(fetch(tmp_path, "db", OCTOBER_1_TO_3))


@pytest.mark.services
def test_mariadb_statement_timeout(mariadb_url: str, tmp_path: Path):
    sleepy = """\
    metrics:
      - name: sleepy
        query: SELECT :start AS ts, sleep(5) AS value
    """
    write_project(tmp_path, sql_source(mariadb_url, "timeout_seconds: 1\n", dedent(sleepy)))
    started = time.perf_counter()
    result = fetch(tmp_path, "db", OCTOBER_1_TO_3)
    assert error(result, "sleepy") == "query timed out after 1 s"
    assert time.perf_counter() - started < 2.5


# ---------------------------------------------------------------- failures and secrets

PASSWORD = "Zebra-7731-Quokka"  # distinctive, so that any leak is found by a plain search


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_a_closed_port_is_retried_then_recorded_and_the_other_metrics_fail_fast(
    scheme: str, tmp_path: Path, caplog, monkeypatch
):
    monkeypatch.setenv("OKR_TEST_SQL_URL", f"{scheme}://okr:{PASSWORD}@127.0.0.1:{free_port()}/okr")
    source = sql_source("${OKR_TEST_SQL_URL}").replace("retries: 0", "retries: 1")
    write_project(tmp_path, source)
    project = load_project(tmp_path)
    # without the loader's redaction: the connector's own message must not hold it
    bare = dataclasses.replace(project, secrets=frozenset())
    caplog.set_level(logging.INFO, logger="okr_pipeline.sources.base")
    started = time.perf_counter()
    result = connector_for(bare.sources["db"], bare).fetch(OCTOBER_1_TO_3)
    elapsed = time.perf_counter() - started

    messages = {metric.error for metric in result.metrics}
    assert len(messages) == 1, messages  # the same reason for all four metrics
    (message,) = messages
    assert message.startswith("cannot connect: ")
    assert "refused" in message.lower()
    assert PASSWORD not in message and PASSWORD not in result.message
    assert "Traceback" not in message and "\n" not in message
    # one retry after 0.5 s for the first metric; the other three do not wait again
    retries = [r for r in caplog.records if "retrying after a transient failure" in r.message]
    assert len(retries) == 1
    assert 0.5 <= elapsed < 2.5


@pytest.mark.services
def test_a_wrong_password_on_mariadb_is_not_shown(mariadb_url: str, tmp_path: Path, monkeypatch):
    url = sa.make_url(mariadb_url).set(username="okr_nobody", password=PASSWORD)
    monkeypatch.setenv("OKR_TEST_SQL_URL", url.render_as_string(hide_password=False))
    write_project(tmp_path, sql_source("${OKR_TEST_SQL_URL}"))
    project = load_project(tmp_path)
    bare = dataclasses.replace(project, secrets=frozenset())
    message = error(connector_for(bare.sources["db"], bare).fetch(OCTOBER_1_TO_3), "daily_sum")
    assert message.startswith("cannot connect: (")  # 1045 or 1698, by server version
    assert "Access denied for user 'okr_nobody'" in message
    assert PASSWORD not in message
