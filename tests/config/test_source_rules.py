"""Source settings that would only fail at night are problems of `check`; credentials written
into a file are warnings, and every form a credential is sent in is a secret of the run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from werkzeug import Request, Response

from okr_pipeline.config import lint, load_project
from okr_pipeline.sources import FetchWindow, connector_for

from .conftest import EVENTS_TOKEN
from .project_files import edit, problems_of, run_check

APP_DB = "metric_sources/app_db.yaml"
EVENTS = "metric_sources/events.yaml"
PASSWORD = "Zebra-s3cret"
PORT_MESSAGE = (
    "the port of this URL is not a number from 1 to 65535 "
    "(the URL is not shown: it may hold a password)"
)
LITERAL = "write secrets as ${ENV_VAR}, never into the file"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://okr:{PASSWORD}@db.example.com:54x2/app",
        f"postgresql://okr:{PASSWORD}@db.example.com:/app",
        f"postgresql://okr:{PASSWORD}@db.example.com:65536/app",
        # Without `@` the password is read as the port, as SQLAlchemy reads it.
        f"postgresql://okr:{PASSWORD}/app",
    ],
)
def test_a_sql_url_whose_port_is_not_a_number_is_a_problem(project_dir: Path, url: str) -> None:
    edit(project_dir, APP_DB, "sqlite:///data/app.db", url)
    assert problems_of(project_dir) == [f"{APP_DB}: source app_db: url: {PORT_MESSAGE}"]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://okr:{PASSWORD}@db.example.com:5432/app",
        "postgresql://okr:pa:ss@[::1]:65535/app",
        "mysql+pymysql://root@127.0.0.1/app?charset=utf8mb4",
        "sqlite:///:memory:",
    ],
)
def test_sql_urls_with_a_port_or_none_load(project_dir: Path, url: str) -> None:
    edit(project_dir, APP_DB, "sqlite:///data/app.db", f'"{url}"')
    assert load_project(project_dir).sources["app_db"].url == url


def test_check_never_shows_a_sql_url_from_the_environment(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_APP_DB_URL", f"postgresql://okr:{PASSWORD}@db:5432x/app")
    edit(project_dir, APP_DB, "sqlite:///data/app.db", "${OKR_TEST_APP_DB_URL}")
    result = run_check(project_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{APP_DB}: source app_db: url: {PORT_MESSAGE}",
        "1 error(s); nothing was run.",
    ]
    assert "Zebra" not in result.stdout + result.stderr


def test_a_credential_in_a_literal_header_is_a_warning_and_a_secret(project_dir: Path) -> None:
    edit(
        project_dir,
        EVENTS,
        "paginator:",
        "headers:\n"
        "  Accept: application/json\n"
        "  Authorization: Bearer lit-bearer-77\n"
        "  X-Api-Key: lit-key-88\n"
        "  Cookie: session=lit-cookie-99\n"
        "  X-Session-Id: lit-session-11\n"
        "  X-Trace: ${OKR_TEST_EVENTS_TOKEN}\n"
        "  Proxy-Authorization: Basic ${OKR_TEST_EVENTS_TOKEN}\n"
        "paginator:",
    )
    project = load_project(project_dir)
    assert [str(warning) for warning in lint(project)] == [
        f"{EVENTS}: source events: headers.Authorization: {LITERAL}",
        f"{EVENTS}: source events: headers.Cookie: {LITERAL}",
        f"{EVENTS}: source events: headers.X-Api-Key: {LITERAL}",
        f"{EVENTS}: source events: headers.X-Session-Id: {LITERAL}",
    ]
    # Each literal credential, the bearer token also alone; the token from ${ENV} as before.
    assert project.secrets == {
        EVENTS_TOKEN,
        "Bearer lit-bearer-77",
        "lit-bearer-77",
        "lit-key-88",
        "session=lit-cookie-99",
        "lit-session-11",
        f"Basic {EVENTS_TOKEN}",
    }


def test_basic_auth_adds_the_base64_it_sends_to_the_secrets(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_BOT_PASSWORD", "pa55-w0rd")
    edit(
        project_dir,
        EVENTS,
        "auth:\n  type: bearer\n  token: ${OKR_TEST_EVENTS_TOKEN}",
        "auth: {type: basic, username: bot, password: ${OKR_TEST_BOT_PASSWORD}}",
    )
    # base64("bot:pa55-w0rd") = "Ym90OnBhNTUtdzByZA=="
    assert load_project(project_dir).secrets == {"pa55-w0rd", "Ym90OnBhNTUtdzByZA=="}


def write_jira(root: Path, url: str) -> None:
    (root / "metric_sources" / "jira.yaml").write_text(
        f"name: jira\nkind: jira\nurl: {url}\nusername: ana@example.com\n"
        "token: ${OKR_TEST_JIRA_TOKEN}\nretries: 0\n"
        "metrics:\n  - {name: incidents, jql: project = OPS}\n",
        encoding="utf-8",
    )


def test_jira_adds_the_base64_of_username_and_token_to_the_secrets(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_JIRA_TOKEN", "tok-jira-1234")
    write_jira(project_dir, "https://example.atlassian.net")
    # base64("ana@example.com:tok-jira-1234") = "YW5hQGV4YW1wbGUuY29tOnRvay1qaXJhLTEyMzQ="
    assert load_project(project_dir).secrets == {
        EVENTS_TOKEN,
        "tok-jira-1234",
        "YW5hQGV4YW1wbGUuY29tOnRvay1qaXJhLTEyMzQ=",
    }


def test_a_jira_error_echoing_the_basic_header_shows_no_credential(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, httpserver
) -> None:
    """A real server that repeats the Authorization header it got in its error message."""

    def refuse(request: Request) -> Response:
        echo = {"errorMessages": [f"refused: {request.headers['Authorization']}"]}
        return Response(json.dumps(echo), status=401, content_type="application/json")

    httpserver.expect_request("/rest/api/3/search/approximate-count").respond_with_handler(refuse)
    monkeypatch.setenv("OKR_TEST_JIRA_TOKEN", "tok-jira-1234")
    write_jira(project_dir, httpserver.url_for("/").rstrip("/"))
    project = load_project(project_dir)
    day = date(2026, 11, 20)
    fetched = connector_for(project.sources["jira"], project).fetch(
        FetchWindow(start=day, end=date(2026, 11, 21), as_of=day, today=day)
    )

    [metric] = fetched.metrics
    assert metric.error == (
        f"POST {httpserver.host}:{httpserver.port}/rest/api/3/search/approximate-count: "
        "HTTP 401 UNAUTHORIZED: refused: Basic ***"
    )
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"] == "Basic YW5hQGV4YW1wbGUuY29tOnRvay1qaXJhLTEyMzQ="


def test_deps_are_asset_keys_of_the_code_location(project_dir: Path) -> None:
    edit(project_dir, APP_DB, "kind: sql\n", "kind: sql\ndeps: [analytics/fct_orders, raw]\n")
    assert load_project(project_dir).sources["app_db"].deps == ["analytics/fct_orders", "raw"]
    edit(project_dir, APP_DB, "raw]", "raw orders]")
    assert problems_of(project_dir) == [
        f"{APP_DB}: source app_db: deps.1: expected an asset key such as "
        '"analytics/fct_orders": letters, digits, _, . and -, its parts joined by /'
    ]
