"""A run killed with SIGKILL at any moment leaves the warehouse as it was before that run or
as it is after it, never between; the next run completes normally.

Per backend: a `before` warehouse (11-09 and 11-10 already scored from an older CSV, MRR 140
on 11-01), and the `after` state, computed by one clean `python -m okr_pipeline run` of the
new input (MRR 150) on a copy of it; that run is also timed, including when its publishing
transaction opens and commits. Then each iteration runs the same command on a fresh copy of
`before` and kills it with SIGKILL at a random moment (a fixed seed draws the delays): either
anywhere in 0..1.2x a run's duration, or after the publishing transaction was seen open. The
tables must equal `before` or `after`, and a rerun on that warehouse (the real Definitions,
in this process) must complete and give `after`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import skip_or_fail
from test_pipeline import write_project

from okr_pipeline import warehouse
from okr_pipeline.orchestration import build_definitions, materialize_day

AS_OF = date(2026, 11, 10)
EARLIER = date(2026, 11, 9)
ITERATIONS = 12
PARALLEL_KILLS = 2  # two runs at once: half the wall time on a two-core machine
SEED = 20261110
POLL_SECONDS = 0.003
OLD_FINANCE = "date,account,amount\n2026-10-01,mrr,100\n2026-10-15,mrr,130\n2026-11-01,mrr,140\n"
NEW_FINANCE = "date,account,amount\n2026-10-01,mrr,100\n2026-10-15,mrr,130\n2026-11-01,mrr,150\n"
TABLES = (
    warehouse.metric_values,
    warehouse.metric_checks,
    warehouse.kr_scores,
    warehouse.objective_scores,
    warehouse.source_runs,
)
VOLATILE = {"loaded_at", "seconds"}  # wall-clock columns: differ between any two runs

State = dict[str, list[tuple]]


# ---------------------------------------------------------------- a throw-away PostgreSQL


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[str]:
    """A private PostgreSQL server in a temp dir: its databases are ours to copy and kill into.

    initdb refuses to run as root, so as root the server runs as the `postgres` user.
    Yields the server's URL without a database name.
    """
    bindir = _postgres_bin()
    if bindir is None:
        skip_or_fail("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root and there is no `postgres` user to run initdb as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="okr-crash-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", _free_port()
    initdb = subprocess.run(
        [*as_user, bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-N"],
        capture_output=True,
        text=True,
    )
    if initdb.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        skip_or_fail(f"initdb failed: {initdb.stderr.strip()[-300:]}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_user, bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w"]
    subprocess.run([*pg_ctl, "-o", options, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- backends


class JournalProbe:
    """SQLite: the rollback journal exists exactly while a write transaction has changed pages."""

    def __init__(self, url: str):
        self.journal = Path(sa.engine.make_url(url).database + "-journal")

    def writing(self) -> bool:
        return self.journal.exists()

    def close(self) -> None:
        pass


class LockProbe:
    """PostgreSQL: another session holds the lock row's table for writing: `publishing` began."""

    QUERY = sa.text(
        "SELECT count(*) FROM pg_locks WHERE relation = 'okr_warehouse_lock'::regclass "
        "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid() "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )

    def __init__(self, url: str):
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.connection = engine.connect()

    def writing(self) -> bool:
        return self.connection.execute(self.QUERY).scalar() > 0

    def close(self) -> None:
        self.connection.close()


Probe = JournalProbe | LockProbe


class SqliteBackend:
    """Copies of the `before` warehouse are copies of its file."""

    probe = JournalProbe

    def __init__(self, folder: Path):
        self.folder = folder
        self.before = f"sqlite:///{folder / 'before.db'}"

    def fresh_copy(self, name: str) -> str:
        shutil.copyfile(self.folder / "before.db", self.folder / f"{name}.db")
        return f"sqlite:///{self.folder / name}.db"


class PostgresBackend:
    """Copies of the `before` warehouse are databases made from it as a template."""

    probe = LockProbe

    def __init__(self, server: str):
        self.server = server
        self.before = server + "okr_before"
        self.admin = sa.create_engine(
            server + "postgres", isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
        )
        with self.admin.connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE okr_before")

    def fresh_copy(self, name: str) -> str:
        with self.admin.connect() as connection:
            # the template must have no other sessions: our own in-process runs keep one
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'okr_before' AND pid <> pg_backend_pid()"
            )
            connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE okr_before")
        return self.server + name


Backend = SqliteBackend | PostgresBackend


# ---------------------------------------------------------------- runs and states


def snapshot(url: str) -> tuple[State, int]:
    """Every row of the five tables (wall-clock columns left out), and the lock row's count.

    Opening a SQLite file after a crash rolls its hot journal back, as any reader would.
    """
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            state = {}
            for table in TABLES:
                columns = [column for column in table.columns if column.name not in VOLATILE]
                query = sa.select(*columns).order_by(*table.primary_key.columns)
                state[table.name] = [tuple(row) for row in connection.execute(query)]
            runs = connection.execute(sa.select(warehouse.warehouse_lock.c.runs)).scalar_one()
    finally:
        engine.dispose()
    return state, runs


def rows_of(state: State, table: sa.Table, **where) -> list[dict]:
    names = [column.name for column in table.columns if column.name not in VOLATILE]
    rows = [dict(zip(names, row, strict=True)) for row in state[table.name]]
    return [row for row in rows if all(row[key] == value for key, value in where.items())]


def run_in_process(project: Path, url: str, instance, as_of: date = AS_OF) -> None:
    result = materialize_day(build_definitions(project, url), as_of, instance)
    failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures


def start_run(project: Path, url: str, log: Path) -> subprocess.Popen:
    """The real command line, in a fresh process, exactly as the nightly schedule would."""
    env = {k: v for k, v in os.environ.items() if k not in ("OKR_WAREHOUSE_URL", "DAGSTER_HOME")}
    command = [sys.executable, "-m", "okr_pipeline", "run", "--date", AS_OF.isoformat()]
    command += ["--project-dir", str(project), "--warehouse", url]
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=output)


@dataclass
class Timing:
    """One clean run in a fresh process, seconds from its start."""

    opened: float  # the publishing transaction was first seen open
    committed: float  # ... and first seen gone
    exited: float


def timed_run(project: Path, url: str, probe: Probe, log: Path) -> Timing:
    started = time.monotonic()
    process = start_run(project, url, log)
    opened = committed = None
    while process.poll() is None:
        writing = probe.writing()
        now = time.monotonic() - started
        if writing and opened is None:
            opened = now
        if not writing and opened is not None and committed is None:
            committed = now
        time.sleep(POLL_SECONDS)
    exited = time.monotonic() - started
    probe.close()
    assert process.returncode == 0, log.read_text()
    assert opened is not None, "the publishing transaction was never seen open"
    return Timing(opened, committed or exited, exited)


@dataclass
class Kill:
    """One killed run: how the moment was chosen, and what the warehouse looked like after."""

    name: str
    url: str
    mode: str  # "anytime": a delay from the start; "writing": a delay after the lock is taken
    delay: float
    killed_after_writing_began: bool = False
    killed_inside_transaction: bool = False  # the transaction was seen open just before
    exit_code: int | None = None
    state: State | None = None
    lock_runs: int | None = None
    outcome: str | None = None  # "before" or "after"


def kill_run(kill: Kill, project: Path, probe: Probe, log: Path) -> Kill:
    started = time.monotonic()
    process = start_run(project, kill.url, log)
    if kill.mode == "writing":
        while process.poll() is None and not probe.writing():
            time.sleep(POLL_SECONDS)
        kill.killed_after_writing_began = process.poll() is None
        time.sleep(kill.delay)
    else:
        with contextlib.suppress(subprocess.TimeoutExpired):  # a run may end before its kill
            process.wait(timeout=max(0.0, kill.delay - (time.monotonic() - started)))
    if process.poll() is None:
        kill.killed_inside_transaction = probe.writing()
        process.send_signal(signal.SIGKILL)
    kill.exit_code = process.wait()
    probe.close()
    kill.state, kill.lock_runs = snapshot(kill.url)
    return kill


def plan_kills(backend: Backend, timing: Timing) -> list[Kill]:
    """A third of the kills anywhere in a run; two thirds after its publishing transaction was
    seen open, within half or twice the time it stays open: most die inside it, some just
    after it. (The kills before it opened all look alike, so fewer of them are spent.)"""
    draw = random.Random(SEED)
    open_seconds = timing.committed - timing.opened
    kills = []
    for index in range(ITERATIONS):
        if index % 3 == 1:  # early in the transaction, even if it was timed slow
            mode, delay = "writing", draw.uniform(0, 0.5 * open_seconds)
        elif index % 3 == 2:
            mode, delay = "writing", draw.uniform(0, 2 * open_seconds)
        else:
            mode, delay = "anytime", draw.uniform(0, 1.2 * timing.exited)
        kills.append(Kill(f"okr_kill_{index}", "", mode, delay))
    for kill in kills:
        kill.url = backend.fresh_copy(kill.name)
    return kills


def outcome_of(state: State, before: State, after: State) -> str | None:
    return "before" if state == before else "after" if state == after else None


def describe(state: State, before: State, after: State) -> str:
    differs_before = [name for name in state if state[name] != before[name]]
    differs_after = [name for name in state if state[name] != after[name]]
    return f"tables unlike before: {differs_before}; unlike after: {differs_after}"


# ---------------------------------------------------------------- the test


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    return PostgresBackend(request.getfixturevalue("throwaway_postgres"))


def test_a_killed_run_leaves_the_warehouse_before_or_after_it(backend, tmp_path, dagster_instance):
    old_project = write_project(tmp_path / "old")
    (old_project / "finance.csv").write_text(OLD_FINANCE)
    new_project = write_project(tmp_path / "new")
    (new_project / "finance.csv").write_text(NEW_FINANCE)
    run_in_process(old_project, backend.before, dagster_instance, EARLIER)
    run_in_process(old_project, backend.before, dagster_instance, AS_OF)
    before, before_runs = snapshot(backend.before)

    after_url = backend.fresh_copy("okr_after")
    timing = timed_run(new_project, after_url, backend.probe(after_url), tmp_path / "a.log")
    after, after_runs = snapshot(after_url)

    # The two states differ where a half-written run would show: values, scores, run count.
    assert (before_runs, after_runs) == (2, 3)
    mrr_value = {"metric_id": "finance.mrr", "ts": date(2026, 11, 1)}
    assert rows_of(before, warehouse.metric_values, **mrr_value)[0]["value"] == 140
    assert rows_of(after, warehouse.metric_values, **mrr_value)[0]["value"] == 150
    mrr_before = rows_of(before, warehouse.kr_scores, as_of=AS_OF, kr_id="mrr")[0]
    mrr_after = rows_of(after, warehouse.kr_scores, as_of=AS_OF, kr_id="mrr")[0]
    assert mrr_before["attainment"] == pytest.approx(0.4)  # (140 - 100) / (200 - 100)
    assert mrr_after["attainment"] == pytest.approx(0.5)  # (150 - 100) / (200 - 100)
    # The earlier date is untouched by a run of AS_OF: identical in both states.
    assert rows_of(before, warehouse.kr_scores, as_of=EARLIER) == rows_of(
        after, warehouse.kr_scores, as_of=EARLIER
    )
    assert len(rows_of(after, warehouse.kr_scores, as_of=EARLIER)) == 3

    def kill(planned: Kill) -> Kill:
        log = tmp_path / f"{planned.name}.log"
        return kill_run(planned, new_project, backend.probe(planned.url), log)

    kills, killing = plan_kills(backend, timing), time.monotonic()
    with ThreadPoolExecutor(PARALLEL_KILLS) as pool:
        done = list(pool.map(kill, kills))
    killing = time.monotonic() - killing

    outcomes = {"before": 0, "after": 0}
    for kill in done:
        where = f"{kill.name} ({kill.mode}, {kill.delay:.3f} s, exit {kill.exit_code})"
        assert kill.exit_code in (0, -signal.SIGKILL), (tmp_path / f"{kill.name}.log").read_text()
        kill.outcome = outcome_of(kill.state, before, after)
        assert kill.outcome, f"{where}: half a run: {describe(kill.state, before, after)}"
        outcomes[kill.outcome] += 1
        assert kill.lock_runs == (before_runs if kill.outcome == "before" else after_runs), where
        if kill.exit_code == 0:
            assert kill.outcome == "after", f"{where}: the run finished but its rows are missing"

        run_in_process(new_project, kill.url, dagster_instance)
        rerun, rerun_runs = snapshot(kill.url)
        assert outcome_of(rerun, before, after) == "after", (
            f"{where} rerun: {describe(rerun, before, after)}"
        )
        assert rerun_runs == kill.lock_runs + 1, where

    # The kills must have reached the window that matters, and some runs must have died there.
    after_began = [k for k in done if k.killed_after_writing_began and k.exit_code != 0]
    inside = [k for k in done if k.killed_inside_transaction]
    assert len(after_began) >= ITERATIONS // 4, [(k.name, k.mode, k.exit_code) for k in done]
    assert len(inside) >= 3, [(k.name, k.mode, k.delay) for k in done]
    # a kill while the transaction is open leaves `before` (bar a commit slipping in between
    # the look and the kill, a few microseconds out of the tens of milliseconds it is open)
    assert sum(kill.outcome == "before" for kill in inside) >= len(inside) - 1
    print(
        f"\n{type(backend).__name__}: run {timing.exited:.2f} s, publishing transaction "
        f"open {timing.opened:.2f}..{timing.committed:.2f} s; {ITERATIONS} kills, "
        f"{len(after_began)} after it opened, {len(inside)} while it was open, in {killing:.0f} s; "
        f"{outcomes}"
    )
