"""The Dagster code location: what `dagster dev` shows, and what the schedule asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from test_pipeline import write_project

from okr_pipeline.orchestration import NIGHTLY_JOB, build_definitions

REPO = Path(__file__).resolve().parents[1]


def test_assets_follow_sources_not_key_results(tmp_path):
    project = write_project(tmp_path)
    okrs = project / "okrs" / "q4.yaml"
    many = "".join(
        f"      - {{id: extra{n}, title: Extra {n}, metric: app.signups,"
        " type: increase, target: 9}\n"
        for n in range(40)
    )
    before = build_definitions(project).resolve_all_asset_keys()
    okrs.write_text(okrs.read_text().replace("    key_results:\n", "    key_results:\n" + many, 1))
    after = build_definitions(project).resolve_all_asset_keys()
    # one asset per source (app, crm, finance), the five tables and the report, however many
    # key results there are
    assert sorted(key.to_user_string() for key in after) == [
        "reports/okr_report", "sources/app", "sources/crm", "sources/finance",
        "warehouse/kr_scores", "warehouse/metric_checks", "warehouse/metric_values",
        "warehouse/objective_scores", "warehouse/source_runs",
    ]  # fmt: skip
    assert set(before) == set(after)


def test_every_asset_has_a_description_an_owner_and_its_key_prefix_as_group(tmp_path):
    defs = build_definitions(write_project(tmp_path))
    for spec in defs.resolve_all_asset_specs():
        assert spec.description, spec.key
        assert spec.owners == ["team:data-engineering"], spec.key
        assert spec.group_name == spec.key.path[0], spec.key
    checks = defs.resolve_asset_graph().asset_check_keys
    assert sorted(key.to_user_string() for key in checks if key.asset_key.path[-1] == "app") == [
        "sources/app:data_checks",
        "sources/app:fetched",
    ]


def test_the_schedule_scores_the_day_that_just_ended_in_the_project_timezone(tmp_path):
    project = write_project(tmp_path)
    (project / "okr_project.yaml").write_text('timezone: Europe/Oslo\nschedule: "30 3 * * *"\n')
    defs = build_definitions(project)
    schedule = defs.resolve_schedule_def("okr_nightly_schedule")
    assert schedule.cron_schedule == "30 3 * * *"
    assert schedule.execution_timezone == "Europe/Oslo"
    assert schedule.job_name == NIGHTLY_JOB
    # 03:30 in Oslo on Nov 21 is 02:30 UTC; the day that just ended there is Nov 20
    tick = datetime(2026, 11, 21, 3, 30, tzinfo=ZoneInfo("Europe/Oslo"))
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-11-20"


def test_the_job_is_partitioned_by_as_of_day_from_the_first_cycle(tmp_path):
    defs = build_definitions(write_project(tmp_path))
    partitions = defs.resolve_job_def(NIGHTLY_JOB).partitions_def
    assert partitions.get_first_partition_key() == "2026-10-01"


def test_dagster_loads_the_workspace_without_error(tmp_path):
    project = write_project(tmp_path)
    env = {**os.environ, "OKR_PROJECT_DIR": str(project), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_location_has_one_name_everywhere():
    import tomllib

    import yaml

    workspace = yaml.safe_load((REPO / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    deploy = (REPO / "deploy" / "README.md").read_text()
    name = entry["python_file"]["location_name"]
    assert name == pyproject["tool"]["dagster"]["code_location_name"] == "okr-pipeline"
    assert f"location_name: {name}" in deploy and f"- name: {name}" in deploy


def test_warehouse_assets_carry_their_column_schema(tmp_path):
    from okr_pipeline.scoring import KR_SCORE_COLUMNS

    defs = build_definitions(write_project(tmp_path))
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    schema = specs["warehouse/kr_scores"].metadata["dagster/column_schema"]
    assert [column.name for column in schema.columns] == KR_SCORE_COLUMNS
    types = {column.name: column.type for column in schema.columns}
    assert (types["kr_id"], types["score"], types["checkin_due"]) == (
        "varchar(100)", "float", "boolean",
    )  # fmt: skip
    keys = [column.name for column in schema.columns if column.description == "key"]
    assert keys == ["as_of", "cycle_id", "kr_id"]


def test_the_previews_show_numbers_rounded(tmp_path, dagster_instance):
    from test_pipeline import AS_OF

    from okr_pipeline.orchestration import materialize_day

    project = write_project(tmp_path)
    result = materialize_day(
        build_definitions(project, f"sqlite:///{tmp_path / 'wh.db'}"), AS_OF, dagster_instance
    )
    (scores,) = [
        m for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["warehouse", "kr_scores"])
    ]  # fmt: skip
    preview = scores.materialization.metadata["preview"].value
    # signups: 13 of 30 = 0.4333...: the preview shows 0.43; mrr's 150 stays 150
    assert "| signups | 13 | 0.43 | on_track | ok |" in preview
    assert "| mrr | 150 | 0.5 | on_track | ok |" in preview
