"""Bad data from a source never fails a run and never lies, each case through a real run.

A project of several sources, each broken in one way, is materialized for one day. Every
key result of a broken source is marked with the exact reason; every other key result
scores; nothing non-finite or out of its window is stored.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from okr_pipeline import runs, warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day

AS_OF = date(2026, 11, 20)
OKRS_HEAD = """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [t]
objectives:
  - id: o
    title: O
    owner: a@example.com
    theme: t
    key_results:
"""


def kr(kr_id: str, metric: str) -> str:
    return (
        f"      - {{id: {kr_id}, title: {kr_id}, metric: {metric}, type: increase,"
        " baseline: 0, target: 100}\n"
    )


def sql_source(name: str, url: str, query: str, checks: str = "{}") -> str:
    return (
        f"name: {name}\nkind: sql\nurl: {url}\nretries: 0\nmetrics:\n"
        f"  - name: m\n    query: {query!r}\n    checks: {checks}\n"
    )


def csv_source(name: str, path: str, checks: str = "{}") -> str:
    return f"name: {name}\nkind: csv\npath: {path}\nmetrics:\n  - {{name: m, checks: {checks}}}\n"


def write_project(root: Path, sources: dict[str, str], csv_files: dict[str, str]) -> None:
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    for name, text in sources.items():
        (root / "metric_sources" / f"{name}.yaml").write_text(text)
    for name, text in csv_files.items():
        (root / name).write_text(text)
    krs = "".join(kr(name, f"{name}.m") for name in sources)
    (root / "okrs" / "q4.yaml").write_text(OKRS_HEAD + krs)


def score_day(root: Path, instance):
    url = f"sqlite:///{root / 'wh.db'}"
    assert materialize_day(build_definitions(root, url), AS_OF, instance).success
    engine = warehouse.create_engine(url)
    krs = warehouse.read_table(engine, warehouse.kr_scores, AS_OF).set_index("kr_id")
    runs = warehouse.read_table(engine, warehouse.source_runs, AS_OF).set_index("source")
    values = warehouse.read_table(engine, warehouse.metric_values)
    checks = warehouse.read_table(engine, warehouse.metric_checks, AS_OF)
    return krs, runs, values, checks


def marks(krs, kr_id: str) -> tuple[str, str | None]:
    return krs.loc[kr_id, "data_status"], krs.loc[kr_id, "data_message"]


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    """A SQLite database with a table per kind of bad row."""
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE sentinels (ts TEXT, value REAL)")
        db.executemany(
            "INSERT INTO sentinels VALUES (?, ?)",
            [("0001-01-01", 1), ("2026-11-19", 30), ("2026-11-20", 40), ("9999-12-31", 99)],
        )
        db.execute("CREATE TABLE numbered (ts INTEGER, value REAL)")
        db.executemany("INSERT INTO numbered VALUES (?, ?)", [(20261119, 5), (20261120, 6)])
        db.execute("CREATE TABLE huge (ts TEXT, value REAL)")
        db.executemany(
            "INSERT INTO huge VALUES (?, ?)", [("2026-11-19", 10), ("2026-11-20", 1e999)]
        )
    return tmp_path


def test_each_bad_source_marks_only_its_own_key_result(app_db: Path, dagster_instance):
    sqlite = "sqlite:///app.db"
    write_project(
        app_db,
        {
            "good": csv_source("good", "good.csv"),
            # the query ignores :start and :end, as a careless one does
            "sentinels": sql_source("sentinels", sqlite, "SELECT ts, value FROM sentinels"),
            "numbered": sql_source("numbered", sqlite, "SELECT ts, value FROM numbered"),
            "huge": sql_source("huge", sqlite, "SELECT ts, value FROM huge"),
            "infinite": csv_source("infinite", "infinite.csv"),
        },
        {
            "good.csv": "ts,value\n2026-11-19,20\n2026-11-20,25\n",
            "infinite.csv": "ts,value\n2026-11-19,12\n2026-11-20,inf\n",
        },
    )

    krs, runs, values, checks = score_day(app_db, dagster_instance)

    assert len(krs) == 5  # every key result scored
    # the newest value up to 2026-11-20 is 25: (25 - 0) / (100 - 0) = 0.25
    assert krs.loc["good", "current_value"] == 25 and marks(krs, "good") == ("ok", None)

    # 0001-01-01 and 9999-12-31 are dropped as outside the window; Nov 20's 40 is current
    assert marks(krs, "sentinels") == ("ok", None)
    assert krs.loc["sentinels", "current_value"] == 40
    stored = values[values["metric_id"] == "sentinels.m"]
    assert [str(day) for day in stored["ts"]] == ["2026-11-19", "2026-11-20"]

    # integers read as epoch seconds are 1970: the whole metric is rejected, never quiet
    assert marks(krs, "numbered") == (
        "invalid",
        "none of the 2 rows is dated inside 2026-10-01 .. 2026-11-20; "
        "the first (row 1) is 20261119",
    )
    assert runs.loc["numbered", "status"] == "ok"
    assert runs.loc["numbered", "message"].startswith("numbered.m: rejected, none of the 2 rows")

    # SQLite stores 1e999 as infinity; a CSV's `inf` is infinity too: both rejected whole
    finite = "check finite failed: value on 2026-11-20 is not a finite number (NaN or ±Infinity)"
    for kr_id in ("huge", "infinite"):
        assert marks(krs, kr_id) == ("invalid", finite)
        assert krs.loc[kr_id, "status"] == "no_data"  # nothing stored before: nothing to score
        assert values[values["metric_id"] == f"{kr_id}.m"].empty
    failed = checks[~checks["success"].astype(bool)]
    assert sorted(failed["metric_id"] + ":" + failed["check"]) == [
        "huge.m:finite",
        "infinite.m:finite",
    ]


def test_late_data_is_stored_and_scored_and_only_labelled_stale(tmp_path: Path, dagster_instance):
    write_project(
        tmp_path,
        {
            "late": csv_source("late", "late.csv", "{fresh_within_days: 2}"),
            "good": csv_source("good", "good.csv", "{fresh_within_days: 2}"),
        },
        {
            # three days late: the newest value is Nov 17
            "late.csv": "ts,value\n2026-11-15,40\n2026-11-16,45\n2026-11-17,50\n",
            "good.csv": "ts,value\n2026-11-20,10\n",
        },
    )

    krs, runs, values, checks = score_day(tmp_path, dagster_instance)

    # 2026-11-20 - 2026-11-17 = 3 days, more than 2: stale, yet scored on the new data
    assert marks(krs, "late") == ("stale", "newest value 2026-11-17 is 3 days old (limit 2)")
    assert krs.loc["late", "current_value"] == 50  # (50 - 0) / (100 - 0) = 0.5
    assert krs.loc["late", "score"] == 0.5
    assert len(values[values["metric_id"] == "late.m"]) == 3  # all of it stored
    freshness = checks.set_index(["metric_id", "check"]).loc[("late.m", "fresh_within_days")]
    assert not freshness["success"]  # recorded as failed, without rejecting anything
    assert runs.loc["late", "message"] is None
    assert marks(krs, "good") == ("ok", None)


# Imports what a run needs, then lets the process grow by at most 1 GiB and runs the CLI.
UNDER_A_MEMORY_LIMIT = """
import resource, sys
from okr_pipeline import orchestration, validation
validation._gx()
size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, size + 2**30))
from okr_pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_source_that_exhausts_memory_fails_alone(tmp_path: Path):
    """A real MemoryError: a query of 100 million rows in a process that may grow by 1 GiB.
    Its key result is marked, the other one scores, and the traceback goes to the
    Dagster event log while the terminal gets one line."""
    sqlite3.connect(tmp_path / "big.db").close()
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000000) "
        "SELECT '2026-11-20' AS ts, i AS value FROM n"
    )
    write_project(
        tmp_path,
        {
            "big": sql_source("big", "sqlite:///big.db", endless),
            "good": csv_source("good", "good.csv"),
        },
        {"good.csv": "ts,value\n2026-11-20,25\n"},
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    args = ["run", "--date", "2026-11-20", "--project-dir", str(tmp_path)]

    done = subprocess.run(
        [sys.executable, "-c", UNDER_A_MEMORY_LIMIT, *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "source big failed: big.m: unexpected MemoryError\n" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    engine = warehouse.create_engine(f"sqlite:///{tmp_path / '.okr' / 'warehouse.db'}")
    krs = warehouse.read_table(engine, warehouse.kr_scores, AS_OF).set_index("kr_id")
    assert marks(krs, "big") == ("source_error", "unexpected MemoryError")
    assert marks(krs, "good") == ("ok", None) and krs.loc["good", "current_value"] == 25
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        logged = "\n".join(entry.user_message for entry in instance.all_logs(run.run_id))
    assert "big.m: unexpected MemoryError\nTraceback (most recent call last):" in logged


def test_a_source_whose_validation_raises_fails_alone(
    tmp_path: Path, dagster_instance, monkeypatch
):
    """No real series is known to break Great Expectations, so the failure is injected:
    validation raises whenever it sees the value 666. Only that source fails."""
    real_validate_cuts = runs.validate_cuts

    def breaks_on_666(series, cuts, checks):
        if any((frame["value"] == 666).any() for _, frame in series):
            raise RuntimeError("GX could not compute")
        return real_validate_cuts(series, cuts, checks)

    monkeypatch.setattr(runs, "validate_cuts", breaks_on_666)
    write_project(
        tmp_path,
        {"cursed": csv_source("cursed", "cursed.csv"), "good": csv_source("good", "good.csv")},
        {"cursed.csv": "ts,value\n2026-11-20,666\n", "good.csv": "ts,value\n2026-11-20,25\n"},
    )

    krs, runs_table, values, checks = score_day(tmp_path, dagster_instance)

    assert marks(krs, "cursed") == (
        "source_error",
        "validation failed: unexpected RuntimeError: GX could not compute",
    )
    assert runs_table.loc["cursed", "status"] == "error"
    assert marks(krs, "good") == ("ok", None) and krs.loc["good", "current_value"] == 25
    assert sorted(checks.loc[checks["metric_id"] == "good.m", "check"]) == [
        "finite", "not_null", "unique_ts",
    ]  # fmt: skip
    assert set(values["metric_id"]) == {"good.m"}


def test_an_infinity_an_older_version_stored_is_no_value(tmp_path: Path, dagster_instance):
    """An older version stored +Infinity, in metric_values and in a day's kr_scores. Today's
    run of a day whose source is down keeps the last good, finite value; the report over a
    history holding that +Infinity draws its chart."""
    write_project(
        tmp_path,
        {"old": csv_source("old", "gone.csv"), "good": csv_source("good", "good.csv")},
        {"good.csv": "ts,value\n2026-11-20,10\n"},
    )
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    older, infinity = date(2026, 11, 19), float("inf")
    stored = pd.DataFrame(
        {
            "metric_id": "old.m",
            "ts": pd.to_datetime(["2026-11-18", "2026-11-19"]),
            "value": [30.0, infinity],
            "source": "old",
        }
    )
    score = {"as_of": older, "cycle_id": "2026-Q4", "kr_id": "old", "objective_id": "o"}
    score |= {"type": "increase", "current_value": infinity, "score": 1.0, "status": "achieved"}
    engine = warehouse.create_engine(url)
    with warehouse.publishing(engine) as publication:
        publication.change_values(pd.DataFrame(), stored)
        publication.replace_day(warehouse.kr_scores, older, pd.DataFrame([score]))
    engine.dispose()

    krs, _, _, _ = score_day(tmp_path, dagster_instance)  # the report asset included

    assert marks(krs, "old") == ("source_error", "file not found: gone.csv")
    assert krs.loc["old", "current_value"] == 30  # Nov 18's; the +Infinity is no value
    assert krs.loc["old", "score"] == 0.3  # (30 - 0) / (100 - 0)
    assert krs.loc["old", "status"] != "achieved"
    assert marks(krs, "good") == ("ok", None)
    page = tmp_path / "page.html"
    result = subprocess.run(
        [sys.executable, "-m", "okr_pipeline", "report", "--project-dir", str(tmp_path)]
        + ["--warehouse", url, "--date", AS_OF.isoformat(), "--out", str(page)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "<svg" in html and not re.search(r"\binf\b|infinity", html, re.IGNORECASE)
