"""Ctrl-C and SIGTERM stop `run` and `backfill` within seconds, even with a source stuck on a
server that never answers, and every day left in the warehouse is whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from okr_pipeline import warehouse

TABLES = ("kr_scores", "objective_scores", "source_runs", "metric_checks")
BODY = b'{"data": [{"day": "2026-07-15", "n": 5}, {"day": "2026-08-15", "n": 7}]}'


class StallingServer:
    """A loopback HTTP server that answers its first `answered` requests, then reads every
    further request and never answers it (the connection stays open until `close`)."""

    def __init__(self, answered: int):
        self.answered = answered
        self.stalled = threading.Event()  # set once a request is left unanswered
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.closing = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.closing:
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            connection.recv(65536)  # the request: one small GET
            if self.answered > 0:
                self.answered -= 1
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n"
                )
                connection.sendall(head.encode() + BODY)
                connection.close()
            else:
                self.held.append(connection)
                self.stalled.set()

    def close(self) -> None:
        self.closing = True
        self.thread.join(timeout=5)
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def stalling_server(request):
    server = StallingServer(answered=request.param)
    yield server
    server.close()


def write_project(root: Path, port: int) -> Path:
    """A CSV source and a REST source with a large timeout, one objective with a KR on each."""
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    (root / "finance.csv").write_text("date,amount\n2026-07-01,100\n2026-08-01,150\n")
    (root / "metric_sources" / "finance.yaml").write_text(
        "name: finance\nkind: csv\npath: finance.csv\n"
        "metrics:\n  - {name: mrr, ts: date, value: amount}\n"
    )
    (root / "metric_sources" / "shop.yaml").write_text(
        f"name: shop\nkind: rest\nbase_url: http://127.0.0.1:{port}\n"
        "timeout_seconds: 600\nretries: 0\nmetrics:\n"
        "  - {name: orders, request: {path: /orders}, records: '$.data[*]', ts: day, value: n}\n"
    )
    (root / "okrs" / "h2.yaml").write_text(
        "cycle: {id: 2026-H2, start: 2026-07-01, end: 2026-12-31}\nthemes: [t]\nobjectives:\n"
        "  - id: grow\n    title: Grow\n    owner: a@example.com\n    theme: t\n"
        "    key_results:\n"
        "      - {id: mrr, title: M, metric: finance.mrr, type: increase, baseline: 100,"
        " target: 200}\n"
        "      - {id: orders, title: O, metric: shop.orders, type: increase,"
        " aggregation: sum, target: 24}\n"
    )
    return root


def okr(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "okr_pipeline", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )


def stop(process: subprocess.Popen, server: StallingServer, signum: int) -> tuple[str, float]:
    """Once the run waits on the stalled request, send the signal; (stderr, seconds to exit)."""
    assert server.stalled.wait(timeout=180), process.communicate(timeout=5)
    process.send_signal(signum)
    sent = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the process did not stop within 30 s of the signal")
    return stderr, time.monotonic() - sent


def rows_by_day(root: Path) -> dict[str, dict[str, int]]:
    """{table: {as_of: rows}} of the project's SQLite warehouse."""
    engine = sa.create_engine(f"sqlite:///{root / '.okr' / 'warehouse.db'}")
    with engine.connect() as connection:
        counts = {
            table: dict(
                connection.exec_driver_sql(
                    f"SELECT as_of, count(*) FROM {table} GROUP BY as_of"
                ).fetchall()
            )
            for table in TABLES
        }
    engine.dispose()
    return counts


# A whole day: 2 KRs, 1 objective, 2 sources, and per metric the checks not_null, unique_ts
# and finite (min, max and the rest are not configured): 2 metrics x 3 checks = 6.
WHOLE_DAY = {"kr_scores": 2, "objective_scores": 1, "source_runs": 2, "metric_checks": 6}


@pytest.mark.parametrize("stalling_server", [1], indirect=True)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_run_stuck_on_a_source_stops_within_10_s(tmp_path, stalling_server, signum):
    root = write_project(tmp_path, stalling_server.port)
    first = okr(root, "run", "--date", "2026-11-09")  # the server's one answer
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr

    process = okr(root, "run", "--date", "2026-11-10")
    stderr, seconds = stop(process, stalling_server, signum)

    assert seconds < 10
    assert process.returncode == 130  # 128 + SIGINT, as a shell reports Ctrl-C, for both
    assert stderr.splitlines() == [
        "interrupted: stopped after 0 of 1 day(s); the days published are complete"
    ]
    counts = rows_by_day(root)
    assert {table: counts[table] for table in TABLES} == {
        table: {"2026-11-09": rows} for table, rows in WHOLE_DAY.items()
    }


@pytest.mark.parametrize("stalling_server", [0], indirect=True)
def test_a_first_run_stopped_leaves_an_empty_warehouse(tmp_path, stalling_server):
    root = write_project(tmp_path, stalling_server.port)
    process = okr(root, "run", "--date", "2026-11-10")

    stderr, seconds = stop(process, stalling_server, signal.SIGTERM)

    assert seconds < 10
    assert stderr.splitlines() == [
        "interrupted: stopped after 0 of 1 day(s); the days published are complete"
    ]
    assert rows_by_day(root) == {table: {} for table in TABLES}  # tables made, nothing in them


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("stalling_server", [1], indirect=True)
def test_a_backfill_stopped_half_way_keeps_whole_days_only(tmp_path, stalling_server, signum):
    """100 days run as 92 + 8: the first run's fetch is answered and its days published,
    the second run's fetch never is."""
    root = write_project(tmp_path, stalling_server.port)
    process = okr(root, "backfill", "--start", "2026-07-01", "--end", "2026-10-08")

    stderr, seconds = stop(process, stalling_server, signum)

    assert seconds < 10
    assert process.returncode == 130
    assert stderr.splitlines() == [
        "interrupted: stopped after 92 of 100 day(s); the days published are complete"
    ]
    days = {(date(2026, 7, 1) + timedelta(n)).isoformat() for n in range(92)}  # Jul 1..Sep 30
    counts = rows_by_day(root)
    for table, rows in WHOLE_DAY.items():
        assert counts[table] == dict.fromkeys(sorted(days), rows), table
    engine = warehouse.create_engine(f"sqlite:///{root / '.okr' / 'warehouse.db'}")
    krs = warehouse.read_table(engine, warehouse.kr_scores, date(2026, 9, 30)).set_index("kr_id")
    engine.dispose()
    assert krs.loc["orders", "current_value"] == 12  # 5 on Jul 15 + 7 on Aug 15
    assert krs.loc["mrr", "current_value"] == 150  # the newest value, Aug 1
