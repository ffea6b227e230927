"""The files of a small valid project: four sources, one cycle in two files, check-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, load_project

VALID_FILES = {
    "okr_project.yaml": """\
timezone: Europe/Oslo
schedule: "0 2 * * *"
""",
    "metric_sources/app_db.yaml": """\
name: app_db
kind: sql
url: sqlite:///data/app.db
metrics:
  - name: signups
    unit: users
    query: SELECT date(created_at) AS ts, count(*) AS value FROM users GROUP BY 1
    checks: {min: 0, max: 1000000, fresh_within_days: 2}
  - name: active_users
    query: SELECT day AS ts, n AS value FROM active
""",
    "metric_sources/billing.yaml": """\
name: billing
kind: csv
path: data/billing.csv
metrics:
  - name: mrr
    unit: EUR
    ts: day
    value: mrr
""",
    "metric_sources/events.yaml": """\
name: events
kind: rest
base_url: https://api.example.com/v2
auth:
  type: bearer
  token: ${OKR_TEST_EVENTS_TOKEN}
paginator: {type: page_number, param: page}
metrics:
  - name: open_tickets
    request: {path: /tickets/count}
    value: "$.total"
  - name: signups
    request: {path: /events, params: {type: signup, since: "{start}"}}
    records: "$.data[*]"
    ts: created_at
""",
    "metric_sources/gh.yaml": """\
name: gh
kind: github
repo: acme/app
metrics:
  - name: stars
    stat: stars
""",
    "okrs/2026-q4.yaml": """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [self-serve, reliability]
objectives:
  - id: company-growth
    title: Grow the company
    owner: ceo@example.com
    team: leadership
    theme: self-serve
    progress_from: both
    key_results:
      - id: signups
        title: Reach 500 signups a week
        metric: app_db.signups
        type: increase
        baseline: 100
        target: 500
        aggregation: sum
        window: trailing_7d
  - id: grow-self-serve
    title: Grow self-serve revenue
    owner: ana@example.com
    team: growth
    parent: company-growth
    key_results:
      - id: mrr
        title: Raise MRR from 100k to 150k
        metric: billing.mrr
        type: increase
        baseline: 100000
        target: 150000
        checkpoints:
          - {date: 2026-10-31, value: 115000}
      - id: active
        title: Keep active users between 50 and 500
        metric: app_db.active_users
        type: stay_between
        min: 50
        max: 500
      - id: launch
        title: Launch the new pricing page
        type: milestones
        milestones:
          - {name: design, done: true}
          - {name: live, weight: 2, done_when: "gh.stars >= 100"}
      - id: nps
        title: Keep NPS above 40
        metric: manual
        type: stay_above
        target: 40
      - id: revenue
        title: Revenue key results overall
        type: rollup
        children: [mrr, launch]
""",
    "okrs/2026-q4-platform.yaml": """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
objectives:
  - id: reliable-platform
    title: Run a reliable platform
    owner: bo@example.com
    team: platform
    theme: reliability
    key_results:
      - id: open-tickets
        title: Fewer than 20 open tickets
        metric: events.open_tickets
        type: stay_below
        target: 20
      - id: status-page
        title: Ship the status page
        metric: manual
        type: boolean
""",
    "checkins/2026-q4.csv": """\
kr_id,date,value,confidence,note
nps,2026-10-07,42,0.8,survey of 120 customers
status-page,2026-10-10,0,0.5,
mrr,2026-10-07,,0.7,on pace
""",
}


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def run_check(root: Path) -> subprocess.CompletedProcess:
    """`okr-pipeline check` in a fresh process, as a user or a pre-commit hook runs it."""
    return subprocess.run(
        [sys.executable, "-m", "okr_pipeline", "check", "--project-dir", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        timeout=120,
        check=False,
    )


def edit(root: Path, file: str, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in a file of the project."""
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    """The problems load_project reports, as the lines `check` prints."""
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [str(problem) for problem in raised.value.problems]
