"""deploy/dagster.yaml on the real PostgreSQL server: the nightly job with the multiprocess
executor, its run, events and schedule state in PostgreSQL, its tables in the warehouse.

Skips without a server at 127.0.0.1:5432 (fails under OKR_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.definitions.reconstruct import ReconstructableJob

from okr_pipeline.config import load_project
from okr_pipeline.orchestration import NIGHTLY_JOB, PROJECT_ENV, WAREHOUSE_ENV, build_definitions

pytestmark = pytest.mark.services
ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-11-20"


def nightly_job():
    """The job as the code location defines it; each executor subprocess rebuilds it here."""
    return build_definitions(os.environ[PROJECT_ENV]).resolve_job_def(NIGHTLY_JOB)


@pytest.fixture
def postgres_instance(postgres_url, tmp_path, monkeypatch):
    """A DagsterInstance from deploy/dagster.yaml, on the fresh database of `postgres_url`."""
    if importlib.util.find_spec("dagster_postgres") is None:
        # imported here: the multiprocess executor re-imports this module in child processes
        from conftest import skip_or_fail

        skip_or_fail("dagster-postgres is not installed (make test installs it)")
    url = sa.engine.make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    monkeypatch.setenv(PROJECT_ENV, str(ROOT))
    monkeypatch.setenv(WAREHOUSE_ENV, postgres_url)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_nightly_job_on_postgres_storage_with_the_multiprocess_executor(
    postgres_instance, postgres_url
):
    result = dg.execute_job(
        # Each step process loads this file again and calls `nightly_job` to rebuild the job.
        ReconstructableJob.for_file(__file__, nightly_job.__name__),
        instance=postgres_instance,
        run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
        tags={"dagster/partition": AS_OF},
    )

    assert result.success
    # Each step ran in its own process: the executor said so, step by step.
    assert {event.step_key for event in result.all_events if event.is_step_success} == {
        "fetch_sources",
        "score_okrs",
        "okr_report",
    }
    logs = postgres_instance.all_logs(result.run_id)
    assert any(
        entry.dagster_event and entry.dagster_event.event_type_value == "STEP_WORKER_STARTED"
        for entry in logs
    )
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        # Dagster's run, event-log and schedule storage, and the warehouse, in PostgreSQL.
        assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables
        assert {"metric_values", "kr_scores", "objective_scores", "source_runs"} <= tables
        run_status = connection.execute(
            sa.text("SELECT status FROM runs WHERE run_id = :id"), {"id": result.run_id}
        ).scalar_one()
        materialized = connection.execute(
            sa.text(
                "SELECT count(*) FROM event_logs "
                "WHERE run_id = :id AND dagster_event_type = 'ASSET_MATERIALIZATION'"
            ),
            {"id": result.run_id},
        ).scalar_one()
        kr_rows = connection.execute(
            sa.text("SELECT count(*) FROM kr_scores WHERE as_of = :day"), {"day": AS_OF}
        ).scalar_one()
        sources = connection.execute(
            sa.text("SELECT count(*) FROM source_runs WHERE as_of = :day"), {"day": AS_OF}
        ).scalar_one()
    engine.dispose()
    assert run_status == "SUCCESS"
    example = load_project(ROOT)
    krs = sum(len(o.key_results) for okrs in example.cycles for o in okrs.objectives)
    # 3 sources, 5 warehouse tables and the report materialized; one kr_scores row per key
    # result in scope.
    assert materialized == len(example.sources) + 5 + 1
    assert sources == len(example.sources)
    assert 0 < kr_rows <= krs
    # The schedule storage answers from PostgreSQL too.
    assert postgres_instance.all_instigator_state() == []
