"""`check` on rest and preset sources: every mistake named by file, item and field."""

from __future__ import annotations

import pytest

from okr_pipeline.config import ConfigError, load_project

from .conftest_http import write_project

REST = """\
name: events
kind: rest
base_url: http://127.0.0.1:9
paginator: {type: pages}
metrics:
  - {name: a, records: "$.data[*", ts: day}
  - {name: b, request: {path: /x}, value: "$.total["}
"""
PROMETHEUS = """\
name: prom
kind: prometheus
url: http://127.0.0.1:9
metrics:
  - {name: m}
"""
GITHUB = """\
name: gh
kind: github
repo: octo/widgets
metrics:
  - {name: s, search: "is:open", stat: stars}
  - {name: t, stat: watchers}
"""
JIRA = """\
name: jira
kind: jira
url: http://127.0.0.1:9
username: ana
token: ${OKR_TEST_UNSET_JIRA_TOKEN}
metrics:
  - {name: j, jql: "project = X"}
"""
TARGETPROCESS = """\
name: tp
kind: targetprocess
url: http://127.0.0.1:9
token: abc
metrics:
  - {name: n, where: "x"}
"""
CURSOR = """\
name: r2
kind: rest
base_url: http://127.0.0.1:9
auth: {type: bearer}
paginator: {type: cursor, cursor_path: "$.["}
metrics:
  - {name: a, records: "$.data", ts: day}
"""


def test_check_names_file_item_and_field_of_every_mistake(tmp_path, monkeypatch):
    monkeypatch.delenv("OKR_TEST_UNSET_JIRA_TOKEN", raising=False)
    write_project(tmp_path, REST, PROMETHEUS, GITHUB, JIRA, TARGETPROCESS, CURSOR)

    with pytest.raises(ConfigError) as raised:
        load_project(tmp_path)

    assert [str(problem) for problem in raised.value.problems] == [
        "metric_sources/source_0.yaml: source events: paginator.type: unknown type 'pages'; "
        "expected one of: none, page_number, offset, cursor, next_url, link_header",
        "metric_sources/source_0.yaml: source events › metric a: records: "
        "not a JSONPath (Parse error near the end of string!)",
        "metric_sources/source_0.yaml: source events › metric b: value: "
        "not a JSONPath (Parse error near the end of string!)",
        "metric_sources/source_1.yaml: source prom › metric m: promql: field required",
        "metric_sources/source_2.yaml: source gh › metric s: "
        "give exactly one of `search` or `stat`",
        "metric_sources/source_2.yaml: source gh › metric t: stat: "
        "must be 'stars', 'forks' or 'open_issues'",
        "metric_sources/source_3.yaml: source jira: token: "
        "environment variable OKR_TEST_UNSET_JIRA_TOKEN is not set",
        "metric_sources/source_4.yaml: source tp › metric n: entity: field required",
        "metric_sources/source_5.yaml: source r2: auth.token: field required",
        "metric_sources/source_5.yaml: source r2: paginator.cursor_path: "
        "not a JSONPath (Parse error near the end of string!)",
    ]


def test_a_valid_rest_source_and_every_preset_load_from_yaml_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("OKR_TEST_TOKEN", "tok-check-1234")
    write_project(
        tmp_path,
        """\
        name: events
        kind: rest
        base_url: https://api.example.com/v2
        auth: {type: bearer, token: "${OKR_TEST_TOKEN}"}
        headers: {Accept: application/json}
        paginator: {type: link_header}
        max_pages: 50
        metrics:
          - name: signups
            request: {path: /events, params: {type: signup, since: "{start}", until: "{end}"}}
            records: "$.data[*]"
            ts: created_at
            value: amount
            per_day: max
          - {name: open_tickets, request: {path: /tickets/count}, value: "$.total"}
        """,
        """\
        name: prom
        kind: prometheus
        url: http://127.0.0.1:9090
        metrics:
          - {name: errors, promql: "sum(increase(http_requests_total{code=~'5..'}[1d]))"}
        """,
        """\
        name: gh
        kind: github
        repo: octo-org/widgets
        token: ${OKR_TEST_TOKEN}
        metrics:
          - {name: bugs, search: "is:issue is:open label:bug"}
          - {name: stars, stat: stars}
        """,
        """\
        name: jira
        kind: jira
        url: https://example.atlassian.net
        username: ana@example.com
        token: ${OKR_TEST_TOKEN}
        metrics:
          - {name: incidents, jql: "project = OPS AND statusCategory != Done"}
        """,
        """\
        name: tp
        kind: targetprocess
        url: https://example.tpondemand.com
        token: ${OKR_TEST_TOKEN}
        metrics:
          - {name: stories, entity: UserStory, where: "(EntityState.IsFinal != true)"}
        """,
    )

    project = load_project(tmp_path)

    assert sorted(project.sources) == ["events", "gh", "jira", "prom", "tp"]
    assert "tok-check-1234" in project.secrets
