"""github, jira and targetprocess presets against loopback servers shaped like their APIs.

Payloads follow the documented responses: GitHub's "Search issues and pull requests" and
"Get a repository", Jira Cloud's "Count issues using JQL", Targetprocess API v2's
`result=Count` (see each connector's docstring for the pages).
"""

from __future__ import annotations

import base64
import time
from datetime import date

import pytest

from .conftest_http import error, fetch, values, window, write_project

TOKEN = "ghp-7a6b5c4d3e-DISTINCT"
TODAY_ONLY = window(date(2026, 11, 20), date(2026, 11, 21))
PAST = window(date(2026, 10, 1), date(2026, 11, 2))  # as of 2026-11-01, today 2026-11-20

GITHUB = """\
name: gh
kind: github
repo: octo-org/widgets
token: ${GH_TOKEN}
url: BASE
metrics:
  - {name: open_bugs, search: "is:issue is:open label:bug"}
  - {name: stars, stat: stars}
  - {name: forks, stat: forks}
  - {name: open_issues, stat: open_issues}
"""
JIRA = """\
name: jira
kind: jira
url: BASE
username: ana@example.com
token: ${JIRA_TOKEN}
metrics:
  - {name: open_incidents, jql: "project = OPS AND statusCategory != Done"}
"""
TARGETPROCESS = """\
name: tp
kind: targetprocess
url: BASE
token: ${TP_TOKEN}
metrics:
  - {name: open_stories, entity: UserStory, where: "(EntityState.IsFinal != true)"}
"""


@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    for name in ("GH_TOKEN", "JIRA_TOKEN", "TP_TOKEN"):
        monkeypatch.setenv(name, TOKEN)


def test_github_search_count_and_repository_stats(httpserver, tmp_path):
    httpserver.expect_request(
        "/search/issues",
        query_string={"q": "repo:octo-org/widgets is:issue is:open label:bug", "per_page": "1"},
    ).respond_with_json(
        {
            "total_count": 280,
            "incomplete_results": False,
            "items": [{"number": 1347, "title": "Found a bug", "state": "open"}],
        }
    )
    httpserver.expect_request("/repos/octo-org/widgets").respond_with_json(
        {
            "id": 1296269,
            "full_name": "octo-org/widgets",
            "stargazers_count": 80,
            "forks_count": 9,
            "open_issues_count": 3,
        }
    )
    write_project(tmp_path, GITHUB.replace("BASE", httpserver.url_for("/").rstrip("/")))

    result = fetch(tmp_path, "gh", TODAY_ONLY)

    assert values(result, "open_bugs") == {"2026-11-20": 280.0}
    assert values(result, "stars") == {"2026-11-20": 80.0}
    assert values(result, "forks") == {"2026-11-20": 9.0}
    assert values(result, "open_issues") == {"2026-11-20": 3.0}
    for request, _ in httpserver.log:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Accept"] == "application/vnd.github+json"
        assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"


def test_github_rate_limit_reset_an_hour_away_fails_with_a_reason(httpserver, tmp_path):
    reset = int(time.time()) + 3600
    httpserver.expect_request("/repos/octo-org/widgets").respond_with_json(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    source = GITHUB.replace("BASE", httpserver.url_for("/").rstrip("/"))
    write_project(
        tmp_path,
        source.replace('  - {name: open_bugs, search: "is:issue is:open label:bug"}\n', ""),
    )

    result = fetch(tmp_path, "gh", TODAY_ONLY)

    assert error(result, "stars").startswith(
        f"GET localhost:{httpserver.port}/repos/octo-org/widgets: "
        "rate limited (HTTP 403 FORBIDDEN) for "
    )
    assert len(httpserver.log) == 3  # once per stat metric, none retried


def test_jira_counts_issues_with_the_approximate_count_api(httpserver, tmp_path):
    httpserver.expect_request(
        "/rest/api/3/search/approximate-count",
        method="POST",
        json={"jql": "project = OPS AND statusCategory != Done"},
    ).respond_with_json({"count": 153})
    write_project(tmp_path, JIRA.replace("BASE", httpserver.url_for("/").rstrip("/")))

    result = fetch(tmp_path, "jira", TODAY_ONLY)

    assert values(result, "open_incidents") == {"2026-11-20": 153.0}
    ((request, _),) = httpserver.log
    credential = base64.b64encode(f"ana@example.com:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credential}"


def test_jira_error_messages_are_reported(httpserver, tmp_path):
    httpserver.expect_request("/rest/api/3/search/approximate-count").respond_with_json(
        {"errorMessages": ["Unbounded JQL queries are not allowed here."], "errors": {}},
        status=400,
    )
    write_project(tmp_path, JIRA.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "jira", TODAY_ONLY)

    assert error(result, "open_incidents") == (
        f"POST localhost:{httpserver.port}/rest/api/3/search/approximate-count: "
        "HTTP 400 BAD REQUEST: Unbounded JQL queries are not allowed here."
    )


def test_targetprocess_counts_entities_with_result_count(httpserver, tmp_path):
    httpserver.expect_request(
        "/api/v2/UserStory",
        query_string={
            "where": "(EntityState.IsFinal != true)",
            "result": "Count",
            "access_token": TOKEN,
        },
    ).respond_with_data("81", content_type="application/json")
    write_project(tmp_path, TARGETPROCESS.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, "tp", TODAY_ONLY)

    assert values(result, "open_stories") == {"2026-11-20": 81.0}


@pytest.mark.parametrize(("text", "name"), [(GITHUB, "gh"), (JIRA, "jira"), (TARGETPROCESS, "tp")])
def test_preset_counts_are_not_read_for_a_past_date(httpserver, tmp_path, text, name):
    write_project(tmp_path, text.replace("BASE", httpserver.url_for("/")))

    result = fetch(tmp_path, name, PAST)

    assert result.status == "skipped"
    assert all(metric.skipped == "point-in-time" for metric in result.metrics)
    assert httpserver.log == []
