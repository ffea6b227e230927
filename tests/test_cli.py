"""The command line as a user runs it: a real process, its output and its exit code."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_pipeline import write_project


def okr(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "okr_pipeline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def scored_project(tmp_path_factory):
    """A project with two days scored through the CLI (run, then backfill of the day before)."""
    root = write_project(tmp_path_factory.mktemp("cli"))
    run = okr("run", "--date", "2026-11-10", cwd=root)
    assert run.returncode == 0, run.stderr
    backfill = okr("backfill", "--start", "2026-11-08", "--end", "2026-11-09", cwd=root)
    assert backfill.returncode == 0, backfill.stderr
    return root, run, backfill


def test_check_reports_counts_and_exits_0(tmp_path):
    root = write_project(tmp_path)
    result = okr("check", cwd=root)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1] == (
        "ok: 1 cycle(s), 3 source(s), 3 metric(s), 3 key result(s), 0 check-in(s); 0 warning(s)"
    )


def test_check_prints_every_problem_without_a_traceback(tmp_path):
    root = write_project(tmp_path)
    okrs = root / "okrs" / "q4.yaml"
    okrs.write_text(okrs.read_text().replace("parent: grow", "parent: nowhere"))
    source = root / "metric_sources" / "app.yaml"
    source.write_text(source.read_text().replace("sqlite:///app.db", "${APP_DB_URL}"))
    result = okr("check", cwd=root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "metric_sources/app.yaml: source app: url: environment variable APP_DB_URL is not set",
        "okrs/q4.yaml: objective sell: parent: unknown objective 'nowhere' in cycle 2026-Q4",
        "2 error(s); nothing was run.",
    ]


def test_run_prints_the_scoreboard_and_names_the_failed_source(scored_project):
    _, run, _ = scored_project
    assert "OKR scoreboard as of 2026-11-10" in run.stdout
    assert "source crm failed: crm.deals: file not found: missing.csv" in run.stdout
    assert "3 key result(s) scored, 1 marked" in run.stdout


def test_backfill_runs_each_day(scored_project):
    _, _, backfill = scored_project
    assert "backfilled 2 day(s): 2026-11-08 .. 2026-11-09" in backfill.stdout


def test_status_formats_and_filters(scored_project):
    root, _, _ = scored_project
    rows = json.loads(okr("status", "--format", "json", cwd=root).stdout)
    # the latest as-of date in the warehouse is 2026-11-10
    assert {row["as_of"] for row in rows} == {"2026-11-10"}
    assert sorted(row["kr_id"] for row in rows) == ["deals", "mrr", "signups"]

    table = okr("status", "--date", "2026-11-09", "--team", "sales", "--format", "csv", cwd=root)
    parsed = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [(row["as_of"], row["kr_id"], row["status"]) for row in parsed] == [
        ("2026-11-09", "deals", "no_data")
    ]

    owner = okr("status", "--owner", "ana@example.com", cwd=root)
    assert owner.returncode == 0
    assert "mrr" in owner.stdout and "deals" not in owner.stdout


def test_status_reads_the_warehouse_without_any_heavy_package(scored_project):
    root, _, _ = scored_project
    heavy = ("pandas", "sqlalchemy", "pydantic", "dagster", "great_expectations")
    script = (
        "import sys\nfrom okr_pipeline.cli import main\nmain(['status', '--format', 'csv'])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("as_of,cycle_id,objective_id,kr_id")
    assert result.stdout.splitlines()[-1] == "[]"


def test_status_on_an_empty_warehouse_says_what_to_do(tmp_path):
    root = write_project(tmp_path)
    result = okr("status", cwd=root)
    assert result.returncode == 1
    assert result.stderr.strip() == "the warehouse has no scores yet: run `okr-pipeline run` first"


def test_run_before_the_first_cycle_is_a_clear_error(tmp_path):
    root = write_project(tmp_path)
    result = okr("run", "--date", "2026-09-30", cwd=root)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "as-of date 2026-09-30 is before the first cycle starts (2026-10-01)"
    )


def test_schema_writes_the_three_json_schemas(tmp_path):
    result = okr("schema", "--out", str(tmp_path / "schemas"), cwd=tmp_path)
    assert result.returncode == 0
    okrs = json.loads((tmp_path / "schemas" / "okrs.schema.json").read_text())
    assert okrs["required"] == ["cycle", "objectives"]
    source = json.loads((tmp_path / "schemas" / "metric_source.schema.json").read_text())
    assert source["discriminator"]["propertyName"] == "kind"
