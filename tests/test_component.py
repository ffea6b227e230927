"""okr-pipeline as a Dagster Component inside another Dagster project, loaded for real.

A temporary dg project holds an upstream asset of its own (`analytics/daily_signups`, a
SQLite table) and, in `defs/okrs/defs.yaml`, the component, whose SQL source reads that
table and lists it in `deps:`. `dg.load_from_defs_folder` loads both; the lineage, a scored
run, the automation that refreshes the scores when the table lands, two components side by
side, and the `dg` commands are checked on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from okr_pipeline import warehouse

DG = str(Path(sys.executable).parent / "dg")
AS_OF = date(2026, 11, 20)
UPSTREAM = dg.AssetKey(["analytics", "daily_signups"])

UPSTREAM_ASSET = """
import sqlite3
from pathlib import Path

import dagster as dg

DATABASE = Path(__file__).resolve().parents[1] / "okrs" / "okr_project" / "app.db"


@dg.asset(key=["analytics", "daily_signups"], description="Signups per day, from the app.")
def daily_signups() -> None:
    with sqlite3.connect(DATABASE) as db:
        db.execute("DROP TABLE IF EXISTS daily_signups")
        db.execute("CREATE TABLE daily_signups (day TEXT, signups REAL)")
        db.executemany(
            "INSERT INTO daily_signups VALUES (?, ?)",
            [("2026-11-18", 30), ("2026-11-19", 45), ("2026-11-20", 60)],
        )
"""
SOURCES = {
    "app.yaml": """\
        name: app
        kind: sql
        url: sqlite:///app.db
        deps: [analytics/daily_signups]
        metrics:
          - name: signups
            query: "SELECT day AS ts, signups AS value FROM daily_signups
                    WHERE day >= :start AND day < :end"
        """,
    "plan.yaml": """\
        name: plan
        kind: csv
        path: plan.csv
        metrics:
          - {name: target}
        """,
}
OKRS = """\
    cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
    themes: [growth]
    objectives:
      - id: grow
        title: Grow signups
        owner: ana@example.com
        theme: growth
        key_results:
          - {id: signups, title: 60 signups a day, metric: app.signups, type: increase,
             baseline: 0, target: 60, window: trailing_3d, aggregation: mean}
          - {id: plan, title: Plan kept, metric: plan.target, type: stay_above, target: 1}
    """


def component_yaml(prefix: str, warehouse_url: str) -> str:
    return (
        "type: okr_pipeline.OkrPipelineComponent\n"
        "attributes:\n"
        "  project_dir: okr_project\n"
        f'  warehouse_url: "{warehouse_url}"\n'
        f"  key_prefix: [{prefix}]\n"
        f"  group_name: {prefix}\n"
    )


def write_okr_project(root: Path) -> None:
    for name, text in SOURCES.items():
        path = root / "metric_sources" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "okrs").mkdir()
    (root / "okrs" / "q4.yaml").write_text(textwrap.dedent(OKRS))
    (root / "plan.csv").write_text("ts,value\n2026-11-19,1\n2026-11-20,1\n")


@pytest.fixture
def dg_project(tmp_path: Path, monkeypatch):
    """A dg project `<module>` under tmp_path/src, importable, with an empty defs folder."""
    module = f"platform_{uuid.uuid4().hex[:8]}"
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "{module}"\nversion = "0.1.0"\n\n'
        '[tool.dg]\ndirectory_type = "project"\n\n'
        f'[tool.dg.project]\nroot_module = "{module}"\n'
    )
    package = tmp_path / "src" / module
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    yield tmp_path, package
    for name in [name for name in sys.modules if name.startswith(module)]:
        del sys.modules[name]


def add_component(package: Path, folder: str, prefix: str, warehouse_url: str) -> Path:
    target = package / "defs" / folder
    write_okr_project(target / "okr_project")
    (target / "defs.yaml").write_text(component_yaml(prefix, warehouse_url))
    return target / "okr_project"


@pytest.fixture
def platform(dg_project):
    """The upstream analytics asset and one component over it."""
    root, package = dg_project
    (package / "defs" / "analytics").mkdir()
    (package / "defs" / "analytics" / "assets.py").write_text(UPSTREAM_ASSET)
    url = f"sqlite:///{root / 'warehouse.db'}"
    add_component(package, "okrs", "okr", url)
    defs = dg.load_from_defs_folder(path_within_project=package)
    return defs, url


def test_the_source_is_downstream_of_the_asset_it_reads(platform):
    defs, _ = platform
    graph = defs.resolve_asset_graph()
    source = dg.AssetKey(["okr", "sources", "app"])
    assert graph.get(source).parent_keys == {UPSTREAM}
    assert graph.get(dg.AssetKey(["okr", "sources", "plan"])).parent_keys == set()
    scores = graph.get(dg.AssetKey(["okr", "warehouse", "kr_scores"]))
    assert source in scores.parent_keys
    report = graph.get(dg.AssetKey(["okr", "reports", "okr_report"]))
    assert scores.key in report.parent_keys
    # every key has the prefix, every asset the component's group
    okr_specs = [spec for spec in defs.resolve_all_asset_specs() if spec.key != UPSTREAM]
    assert {spec.key.path[0] for spec in okr_specs} == {"okr"}
    assert {spec.group_name for spec in okr_specs} == {"okr"}
    assert defs.resolve_job_def("okr_nightly") and defs.resolve_schedule_def("okr_nightly_schedule")


def test_materializing_upstream_then_the_component_scores_the_day(platform):
    defs, url = platform
    with dg.DagsterInstance.ephemeral() as instance:
        upstream = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={UPSTREAM}
        )
        assert upstream.execute_in_process(instance=instance).success
        result = defs.resolve_job_def("okr_nightly").execute_in_process(
            partition_key=AS_OF.isoformat(), instance=instance
        )
        assert result.success
    krs = warehouse.read_table(warehouse.create_engine(url), warehouse.kr_scores, AS_OF)
    signups = krs.set_index("kr_id").loc["signups"]
    # trailing 3 days to Nov 20: mean(30, 45, 60) = 45; (45 - 0) / (60 - 0) = 0.75
    assert signups["current_value"] == 45.0
    assert signups["score"] == 0.75
    assert signups["data_status"] == "ok"


def test_scores_refresh_when_the_upstream_asset_lands(platform):
    """At 03:00 on Nov 21 the nightly run scored Nov 20; the upstream table is then
    rebuilt, and the automation requests Nov 20 again, for the source that reads it, the
    tables and the report; never today, Nov 21, and never the source without deps."""
    defs, _ = platform
    evening = datetime(2026, 11, 21, 3, 0, tzinfo=ZoneInfo("UTC"))
    upstream = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={UPSTREAM})
    with dg.DagsterInstance.ephemeral() as instance:
        assert upstream.execute_in_process(instance=instance).success
        nightly = defs.resolve_job_def("okr_nightly").execute_in_process(
            partition_key=AS_OF.isoformat(), instance=instance
        )
        assert nightly.success
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=evening
        )
        assert first.total_requested == 0  # everything is up to date
        assert upstream.execute_in_process(instance=instance).success  # the table lands again
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=evening, cursor=first.cursor
        )
    requested = {
        (result.key.to_user_string(), partition)
        for result in after.results
        if result.true_subset.size
        for partition in result.true_subset.expensively_compute_partition_keys()
    }
    assert requested == {
        ("okr/sources/app", "2026-11-20"),
        *(
            (f"okr/warehouse/{table}", "2026-11-20")
            for table in (
                "kr_scores", "metric_checks", "metric_values", "objective_scores", "source_runs",
            )
        ),
        ("okr/reports/okr_report", "2026-11-20"),
    }  # fmt: skip


def test_two_components_with_their_own_prefix_and_warehouse_load_side_by_side(dg_project):
    root, package = dg_project
    for prefix in ("sales", "support"):
        add_component(package, prefix, prefix, f"sqlite:///{root / f'{prefix}.db'}")
    (package / "defs" / "analytics").mkdir()
    (package / "defs" / "analytics" / "assets.py").write_text(UPSTREAM_ASSET)

    defs = dg.load_from_defs_folder(path_within_project=package)

    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    for prefix in ("sales", "support"):
        assert f"{prefix}/warehouse/kr_scores" in keys and f"{prefix}/sources/app" in keys
        job = defs.resolve_job_def(f"{prefix}_nightly")
        assert {key.path[0] for key in job.asset_layer.executable_asset_keys} == {prefix}
        assert defs.resolve_schedule_def(f"{prefix}_nightly_schedule")
    assert {f"{prefix}__warehouse" for prefix in ("sales", "support")} <= set(defs.resources)


def test_dg_lists_the_component():
    listed = subprocess.run(
        [DG, "list", "components", "--json"], capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr
    assert '"key": "okr_pipeline.OkrPipelineComponent"' in listed.stdout


def test_dg_scaffolds_a_starter_that_validates(dg_project):
    root, package = dg_project
    (package / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n"
        "defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    scaffold = subprocess.run(
        [DG, "scaffold", "defs", "okr_pipeline.OkrPipelineComponent", "okrs"],
        cwd=root, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert scaffold.returncode == 0, scaffold.stderr
    starter = package / "defs" / "okrs"
    assert sorted(p.relative_to(starter).as_posix() for p in starter.rglob("*") if p.is_file())[
        :3
    ] == ["defs.yaml", "okr_project/data/signups.csv", "okr_project/metric_sources/product.yaml"]
    validate = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m",
         f"{package.name}.definitions"],
        cwd=root, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "All code locations passed validation." in validate.stdout + validate.stderr
    shutil.rmtree(starter / "okr_project" / ".okr", ignore_errors=True)


def test_the_refresh_runs_under_the_default_automation_sensor_which_starts_stopped(platform):
    """The README tells users to turn the sensor on once: Dagster creates it stopped."""
    defs, _ = platform
    (sensor,) = defs.get_repository_def().sensor_defs
    assert sensor.name == "default_automation_condition_sensor"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
