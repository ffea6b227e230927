"""One Dagster history for the CLI and the UI: `<project>/.okr/dagster` (or $DAGSTER_HOME).

What `okr-pipeline run` materializes shows in the instance the UI reads, with its check
results; a run launched the way the UI launches one (the run launcher, in its own process)
writes the same warehouse that `okr-pipeline status` reads, and the report's latest.html.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from test_pipeline import write_project

REPO = Path(__file__).resolve().parents[1]


def okr(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "okr_pipeline", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def test_cli_runs_and_ui_launched_runs_share_one_history(tmp_path):
    project = write_project(tmp_path / "project")
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    env.pop("OKR_WAREHOUSE_URL", None)

    okr("run", "--date", "2026-11-10", "--project-dir", str(project), env=env)

    home = project / ".okr" / "dagster"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.tags["dagster/partition"] == "2026-11-10"
        materialized = instance.get_materialized_partitions(dg.AssetKey(["warehouse", "kr_scores"]))
        assert materialized == {"2026-11-10"}
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["sources", "crm"]), "fetched")]
        )
        (execution,) = check.values()
        # crm reads missing.csv: its `fetched` check failed (a warning; the run succeeded)
        assert execution.status.value == "FAILED"

    # What the UI's Materialize button does: a run queued on the same home, which the
    # daemon `dagster dev` starts beside the UI takes from the queue and runs in a process
    # of its own, on the repository's code location.
    ui_env = {**env, "DAGSTER_HOME": str(home), "OKR_PROJECT_DIR": str(project)}
    launched = subprocess.run(
        [sys.executable, "-m", "dagster", "job", "launch", "-w", "workspace.yaml",
         "-j", "okr_nightly", "--tags", json.dumps({"dagster/partition": "2026-11-11"})],
        cwd=REPO, capture_output=True, text=True, env=ui_env, timeout=300,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    daemon = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "-w", "workspace.yaml"],
        cwd=REPO, env=ui_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 240
            while True:
                runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": "2026-11-11"}))
                if runs and runs[0].is_finished:
                    break
                assert time.monotonic() < deadline, "the launched run did not finish in 240 s"
                time.sleep(1)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": "2026-11-11"}))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_materialized_partitions(dg.AssetKey(["warehouse", "kr_scores"])) == {
            "2026-11-10",
            "2026-11-11",
        }

    status = okr("status", "--project-dir", str(project), "--format", "json", env=env)
    assert {row["as_of"] for row in json.loads(status.stdout)} == {"2026-11-11"}
    latest = (project / ".okr" / "reports" / "latest.html").read_text()
    assert '<time datetime="2026-11-11">' in latest


def test_make_ui_opens_the_home_the_cli_writes(tmp_path, monkeypatch):
    """`make ui` starts `dagster dev` on `dagster_home`, the home `okr-pipeline run` keeps:
    $DAGSTER_HOME when it is set, else `<project>/.okr/dagster`. A stand-in `dagster` prints
    the home it was given; the Makefile runs from a copy, so nothing is made in the repo."""
    from okr_pipeline.orchestration import dagster_home

    (tmp_path / "Makefile").write_text((REPO / "Makefile").read_text())
    fake = tmp_path / "bin" / "dagster"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$DAGSTER_HOME $*"\n')
    fake.chmod(0o755)

    for home in (None, str(tmp_path / "elsewhere")):
        if home:
            monkeypatch.setenv("DAGSTER_HOME", home)
        else:
            monkeypatch.delenv("DAGSTER_HOME", raising=False)
        done = subprocess.run(
            ["make", "-s", "ui", "STAMP=", f"BIN={fake.parent}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        expected = dagster_home(tmp_path)
        assert done.stdout.strip() == f"{expected} dev -w workspace.yaml"
        assert expected.is_dir()
