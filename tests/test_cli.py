"""The command line as a user runs it: a real process, its output and its exit code."""

from __future__ import annotations

import argparse
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


@pytest.fixture(params=["sqlite", "postgres_url"])
def hostile_scores(request, tmp_path):
    """A warehouse whose text starts formulas and whose numbers are not finite (infinities
    on every backend; NaN too where the backend stores it, PostgreSQL)."""
    from datetime import date

    import pandas as pd

    from okr_pipeline import warehouse

    url = (
        f"sqlite:///{tmp_path / 'wh.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue(request.param)
    )
    day = date(2026, 11, 10)
    common = {"as_of": day, "cycle_id": "Q4", "objective_id": "o", "status": "on_track"}
    krs = [
        {
            **common, "kr_id": "k1", "title": '=HYPERLINK("http://x","y")', "owner": "@SUM(A1)",
            "team": "+team", "current_value": -12.5, "target": float("inf"), "score": 0.5,
            "expected": float("-inf"), "data_status": "ok", "data_message": "-dash",
        },
        {
            **common, "kr_id": "k2", "title": "\tTabbed", "owner": "ana", "team": "t",
            "current_value": 3.0, "target": 4.0, "score": None, "expected": 0.25,
            "data_status": "stale", "data_message": "\rCR",
        },
    ]  # fmt: skip
    engine = warehouse.create_engine(url)
    with warehouse.publishing(engine) as publication:
        publication.replace_day(warehouse.kr_scores, day, pd.DataFrame(krs))
        publication.replace_day(warehouse.objective_scores, day, pd.DataFrame([common]))
        if request.param == "postgres_url":
            publication.connection.exec_driver_sql(
                "UPDATE kr_scores SET score = 'NaN'::float8 WHERE kr_id = 'k2'"
            )
    engine.dispose()
    return url, tmp_path


def test_status_json_is_strict_json_with_null_for_non_finite_numbers(hostile_scores):
    url, cwd = hostile_scores
    result = okr("status", "--format", "json", "--warehouse", url, cwd=cwd)
    assert result.returncode == 0, result.stderr

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    rows = json.loads(result.stdout, parse_constant=refuse)
    numbers = [(row["current_value"], row["target"], row["score"], row["expected"]) for row in rows]
    assert numbers == [(-12.5, None, 0.5, None), (3.0, 4.0, None, 0.25)]
    assert rows[0]["title"] == '=HYPERLINK("http://x","y")'  # JSON is data, not a sheet


def test_status_csv_escapes_cells_that_would_start_a_formula(hostile_scores):
    url, cwd = hostile_scores
    result = subprocess.run(  # bytes: the line ends and the CR in a cell are part of the test
        [sys.executable, "-m", "okr_pipeline", "status", "--format", "csv", "--warehouse", url],
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        b"as_of,cycle_id,objective_id,kr_id,title,owner,team,current_value,target,min,max,"
        b"score,expected,status,data_status,data_message,checkin_due,objective_status,"
        b"objective_status_reason\r\n"
        b'2026-11-10,Q4,o,k1,"\'=HYPERLINK(""http://x"",""y"")",\'@SUM(A1),\'+team,'
        b"-12.5,,,,0.5,,on_track,ok,'-dash,,on_track,\r\n"
        b"2026-11-10,Q4,o,k2,'\tTabbed,ana,t,3.0,4.0,,,,0.25,on_track,stale,\"'\rCR\",,"
        b"on_track,\r\n"
    )
    rows = list(csv.reader(io.StringIO(result.stdout.decode(), newline="")))
    assert [row[4] for row in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "'\tTabbed"]
    assert rows[2][15] == "'\rCR"  # the CR stays inside its cell


def test_a_date_never_scored_is_refused_with_the_dates_that_were(scored_project):
    root, _, _ = scored_project
    expected = "no scores as of 2026-09-01; scored dates: 2026-11-08 .. 2026-11-10"
    for command in ("status", "report"):
        result = okr(command, "--date", "2026-09-01", cwd=root)
        assert (result.returncode, result.stderr.strip()) == (1, expected), command
    assert not (root / ".okr" / "report.html").exists()


def test_a_filter_that_matches_nothing_lists_what_exists(scored_project):
    root, _, _ = scored_project
    team = okr("status", "--team", "nosuchteam", cwd=root)
    assert (team.returncode, team.stderr.strip()) == (
        1,
        "no key results of team nosuchteam as of 2026-11-10; teams: growth, sales",
    )
    owner = okr("status", "--owner", "zoe@example.com", cwd=root)
    assert owner.stderr.strip() == (
        "no key results of owner zoe@example.com as of 2026-11-10; "
        "owners: ana@example.com, bo@example.com"
    )


def test_piped_scoreboard_prints_ids_whole_and_no_data_as_a_dash(tmp_path):
    """Not a terminal (a CI log): nothing is cut at 80 columns; deals has no data: –."""
    root = write_project(tmp_path)
    long_id = "deals-" + "x" * 94  # 100 characters, the most `check` accepts
    okrs = root / "okrs" / "q4.yaml"
    band = (
        "      - {id: band, title: band, metric: finance.mrr, type: stay_between,"
        " min: 100, max: 250}\n"
    )
    text = okrs.read_text().replace("id: deals,", f"id: {long_id},")
    okrs.write_text(
        text.replace("aggregation: sum, target: 30}\n", "aggregation: sum, target: 30}\n" + band)
    )
    assert okr("run", "--date", "2026-11-10", cwd=root).returncode == 0

    result = okr("status", cwd=root)

    (row,) = [line for line in result.stdout.splitlines() if line.split()[:1] == [long_id]]
    assert row.split() == [long_id, "–", "10", "–", "0.45", "no_data", "source_error"]
    (row,) = [line for line in result.stdout.splitlines() if line.split()[:1] == ["band"]]
    assert row.split()[2] == "100–250"  # a stay_between has no target: its band instead
    # sell has only deals, which has no data; 41 / 92 = 0.45 expected
    assert "why sell: no_data: key result " + long_id + " is no_data" in result.stdout


def test_every_option_has_help_and_the_version_is_known(tmp_path):
    from okr_pipeline.cli import _parser

    version = okr("--version", cwd=tmp_path)
    assert version.stdout.strip() == "okr-pipeline 0.1.0"
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(commands.choices) == ["backfill", "check", "report", "run", "schema", "status"]
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"{name} {action.option_strings}"


def test_check_and_schema_take_no_warehouse(tmp_path):
    root = write_project(tmp_path)
    for command in ("check", "schema"):
        result = okr(command, "--warehouse", "sqlite:///x.db", cwd=root)
        assert result.returncode == 2, command
        assert "unrecognized arguments: --warehouse" in result.stderr


def test_an_objective_row_rounds_its_score_as_the_reasons_do():
    """An objective's roll-up score is stored unrounded: 0.575 shows 0.58 in its row, as in
    the status_reason of its parent (`:.2f` alone would print 0.57); the report shares it."""
    from okr_pipeline.formatting import format_score
    from okr_pipeline.scoreboard import Scores, render

    values = (0.575, 0.845, 0.125, 0.695, 0.4, 1, None, float("nan"))
    assert [format_score(v) for v in values] == [
        "0.58", "0.85", "0.13", "0.70", "0.40", "1.00", "–", "–",
    ]  # fmt: skip
    objective = {
        "cycle_id": "Q4", "objective_id": "stop-churn", "team": "cs", "score": 0.575,
        "expected": 0.7826, "status": "off_track", "status_reason": "off_track: key result x",
    }  # fmt: skip
    out = io.StringIO()
    render(Scores("2026-11-21", [], [objective]), out=out)
    (row,) = [line for line in out.getvalue().splitlines() if line.split()[:1] == ["stop-churn"]]
    assert row.split() == ["stop-churn", "0.58", "0.78", "off_track"]
