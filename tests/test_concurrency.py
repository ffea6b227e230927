"""Two runs of one date started at the same moment (the schedule and a person) leave one
run's rows, never a mix.

The two runs read two project directories that differ in one CSV (MRR 150 in A; 170 and
then 180 in B), so every table but metric_checks tells them apart. The expected states are
those of one clean run of A and one of B; the tables after a race must equal one of them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_crash import rows_of, run_in_process, snapshot, start_run
from test_pipeline import write_project

from okr_pipeline import warehouse

B_FINANCE = (
    "date,account,amount\n"
    "2026-10-01,mrr,100\n2026-10-15,mrr,130\n2026-11-01,mrr,170\n2026-11-05,mrr,180\n"
)
DEADLINE_SECONDS = 90


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def projects(tmp_path) -> tuple[Path, Path]:
    project_a = write_project(tmp_path / "a")
    project_b = write_project(tmp_path / "b")
    (project_b / "finance.csv").write_text(B_FINANCE)
    return project_a, project_b


def drop_tables(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    warehouse.metadata.drop_all(engine)
    engine.dispose()


def start_both(projects, url: str, logs: Path, label: str) -> list[subprocess.Popen]:
    """Run A and run B of the same date on the same warehouse, started back to back."""
    return [start_run(project, url, logs / f"{label}-{project.name}.log") for project in projects]


def finish_both(processes: list[subprocess.Popen], logs: Path, label: str) -> list[int]:
    return [
        finish(process, logs / f"{label}-{name}.log")
        for process, name in zip(processes, "ab", strict=True)
    ]


def finish(process: subprocess.Popen, log: Path) -> int:
    code = process.wait(timeout=DEADLINE_SECONDS)
    assert code in (0, 1), log.read_text()
    if code == 1:  # a clean failure: said why, no traceback
        assert "Traceback" not in log.read_text(), log.read_text()
    return code


def wait_until(condition, processes: list[subprocess.Popen], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        exited = [process.args for process in processes if process.poll() is not None]
        assert not exited, f"a run ended while waiting until {what}: {exited}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def opened_by(pid: int, path: Path) -> bool:
    """The process has the file open (Linux /proc): it has reached the warehouse."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir())
    except FileNotFoundError:
        return False


class LockHolder:
    """A third writer holding the warehouse lock row, as a long run would, until released."""

    def __init__(self, url: str):
        self.url = sa.engine.make_url(url)
        if self.url.get_backend_name() == "sqlite":
            self.path = Path(self.url.database)
            self.sqlite = sqlite3.connect(self.path, isolation_level=None)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.engine = sa.create_engine(self.url, poolclass=sa.NullPool)
            self.connection = self.engine.connect()
            lock = warehouse.warehouse_lock
            self.connection.execute(lock.update().values(runs=lock.c.runs))
            self.watcher = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def both_waiting(self, processes: list[subprocess.Popen]) -> bool:
        if self.url.get_backend_name() == "sqlite":
            # every warehouse transaction begins with BEGIN IMMEDIATE, so a run that has the
            # file open is waiting on our lock (SQLite lets it wait 60 s)
            return all(opened_by(process.pid, self.path) for process in processes)
        waiting = self.watcher.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar()
        return waiting == len(processes)

    def release(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            self.sqlite.rollback()
            self.sqlite.close()
        else:
            self.connection.rollback()
            self.connection.close()
            self.watcher.close()
            self.engine.dispose()


def assert_one_runs_rows(url: str, state_a, state_b) -> int:
    final, lock_runs = snapshot(url)
    for name in final:
        mixed = final[name] != state_a[name] and final[name] != state_b[name]
        assert not mixed, f"{name} is neither run A's nor run B's rows: {final[name]}"
    assert final in (state_a, state_b), "some tables hold A's rows and others B's"
    return lock_runs


def test_two_runs_of_one_date_started_together_leave_one_runs_rows(
    warehouse_url, projects, tmp_path, dagster_instance
):
    project_a, project_b = projects
    run_in_process(project_a, warehouse_url, dagster_instance)
    state_a, _ = snapshot(warehouse_url)
    run_in_process(project_b, warehouse_url, dagster_instance)
    state_b, _ = snapshot(warehouse_url)

    # Hand-computed facts that tell the two runs apart in each table.
    mrr_a = rows_of(state_a, warehouse.kr_scores, kr_id="mrr")[0]
    mrr_b = rows_of(state_b, warehouse.kr_scores, kr_id="mrr")[0]
    assert (mrr_a["current_value"], mrr_b["current_value"]) == (150, 180)  # newest <= Nov 10
    assert mrr_b["attainment"] == pytest.approx(0.8)  # (180 - 100) / (200 - 100)
    finance_a = rows_of(state_a, warehouse.source_runs, source="finance")[0]
    finance_b = rows_of(state_b, warehouse.source_runs, source="finance")[0]
    assert (finance_a["rows"], finance_b["rows"]) == (3, 4)
    assert len(rows_of(state_b, warehouse.metric_values, metric_id="finance.mrr")) == 4
    grow_a = rows_of(state_a, warehouse.objective_scores, objective_id="grow")[0]
    grow_b = rows_of(state_b, warehouse.objective_scores, objective_id="grow")[0]
    assert grow_b["score"] - grow_a["score"] == pytest.approx((0.8 - 0.5) / 2)  # mean of 2 KRs
    assert state_a["metric_checks"] == state_b["metric_checks"]  # the same checks passed

    # 1. A new warehouse: the two runs also race to create its tables and lock row.
    drop_tables(warehouse_url)
    racing = start_both(projects, warehouse_url, tmp_path, "race")
    codes = finish_both(racing, tmp_path, "race")
    lock_runs = assert_one_runs_rows(warehouse_url, state_a, state_b)
    assert codes == [0, 0]
    assert lock_runs == 2  # both published, one after the other

    # 2. A third writer holds the lock until both runs wait on it: they surely overlap.
    holder = LockHolder(warehouse_url)
    try:
        waiting = start_both(projects, warehouse_url, tmp_path, "held")
        wait_until(lambda: holder.both_waiting(waiting), waiting, "both runs wait on the lock")
        time.sleep(0.5)
        assert [process.poll() for process in waiting] == [None, None]  # neither got past it
    finally:
        holder.release()
    assert finish_both(waiting, tmp_path, "held") == [0, 0]
    assert assert_one_runs_rows(warehouse_url, state_a, state_b) == 4


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mariadb"])
def test_two_processes_creating_a_new_warehouse_at_once_both_succeed(backend, request, tmp_path):
    """The race of round 1 above, narrowed to `create_engine` and started on one signal."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue(f"{backend}_url")
    go = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        "from okr_pipeline import warehouse\n"
        "print('ready', flush=True)\n"
        "while not os.path.exists(sys.argv[2]):\n"
        "    pass\n"
        "warehouse.create_engine(sys.argv[1])\n"
    )
    for _ in range(3):
        drop_tables(url)
        go.unlink(missing_ok=True)
        creators = [
            subprocess.Popen(
                [sys.executable, "-c", script, url, str(go)],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for creator in creators:
            assert creator.stdout.readline() == "ready\n", creator.stderr.read()
        go.touch()
        for creator in creators:
            _, errors = creator.communicate(timeout=DEADLINE_SECONDS)
            assert creator.returncode == 0, errors
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        with engine.connect() as connection:
            rows = connection.execute(sa.select(warehouse.warehouse_lock)).fetchall()
        engine.dispose()
        assert [tuple(row) for row in rows] == [(1, 0)]
