"""Shared by the benchmark scripts: medians, the one-line figure format, a synthetic org.

Every figure is printed as one line: what was measured, its median, the floor measured in the
same process beside it, the ratio, and the target with MET or MISSED. The organisation is
generated from a fixed seed, as real YAML read by the real loader.
"""

from __future__ import annotations

import compileall
import random
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CYCLE_START, CYCLE_END = date(2026, 7, 1), date(2026, 9, 30)


def median_seconds(action: Callable[[], object], runs: int, warm_up: bool = True) -> float:
    """The median wall time of `runs` calls, after one untimed call when `warm_up`."""
    if warm_up:
        action()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def process_seconds(command: list[str], runs: int, cwd: Path | None = None, env=None) -> float:
    """The median wall time of a fresh process running `command` (which must succeed).

    The package is byte-compiled first, as pip leaves an installed package: an editable
    install compiles on first import, which PYTHONDONTWRITEBYTECODE (set on these machines)
    turns into a compile on every start, about 25 ms of `check`.
    """
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "okr_pipeline", quiet=1)

    def run() -> None:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    return median_seconds(run, runs, warm_up=True)


def figure(
    name: str, seconds: float, floor_name: str, floor: float, target: str, met: bool
) -> None:
    """One line per figure: the figure, its floor, the ratio, the target."""
    ratio = seconds / floor if floor else float("inf")
    verdict = "MET" if met else "MISSED"
    print(
        f"{name}: {seconds:.3f} s | floor ({floor_name}): {floor:.3f} s | "
        f"ratio {ratio:.2f}x | target {target}: {verdict}",
        flush=True,
    )


def python_seconds(code: str, runs: int) -> float:
    """The median wall time of a fresh interpreter running `code`."""
    return process_seconds([sys.executable, "-c", code], runs)


def synthetic_project(root: Path, krs: int, metrics: int, seed: int = 7) -> Path:
    """A project of `krs` key results over `metrics` daily series in one SQLite source.

    One cycle, 2026-Q3 (ended, so every day of it is a valid partition), objectives of 5 key
    results in teams of 5 objectives; the key results mix increase, decrease, stay_above,
    stay_between and sum; each series is a seeded random walk over the cycle.
    """
    rng = random.Random(seed)
    for folder in ("metric_sources", "okrs", "data"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    database = root / "data" / "metrics.db"
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE IF EXISTS daily")
        connection.execute("CREATE TABLE daily (metric TEXT, day TEXT, value REAL)")
        rows = []
        for number in range(metrics):
            level = 100.0 + number
            for offset in range((CYCLE_END - CYCLE_START).days + 1):
                level = max(0.0, level + rng.gauss(1.0, 3.0))
                rows.append((f"m{number}", (CYCLE_START + timedelta(offset)).isoformat(), level))
        connection.executemany("INSERT INTO daily VALUES (?, ?, ?)", rows)
        connection.execute("CREATE INDEX daily_metric_day ON daily (metric, day)")
    lines = [f"name: synth\nkind: sql\nurl: sqlite:///{database}\nmetrics:"]
    for number in range(metrics):
        lines.append(
            textwrap.indent(
                f"- name: m{number}\n  query: |\n"
                f"    SELECT day AS ts, value FROM daily\n"
                f"    WHERE metric = 'm{number}' AND day >= :start AND day < :end\n"
                f"  checks: {{min: 0, fresh_within_days: 2}}\n",
                "  ",
            )
        )
    (root / "metric_sources" / "synth.yaml").write_text("\n".join(lines))
    kinds = [
        "type: increase, baseline: 100, target: 250",
        "type: decrease, baseline: 400, target: 50, aggregation: mean",
        "type: stay_above, target: 80",
        "type: stay_between, min: 50, max: 500",
        "type: increase, target: 9000, aggregation: sum",
    ]
    out = [f"cycle: {{id: 2026-Q3, start: {CYCLE_START}, end: {CYCLE_END}}}", "objectives:"]
    for objective in range((krs + 4) // 5):
        team = f"team{objective // 5}"
        out.append(
            f"  - {{id: o{objective}, title: Objective {objective}, owner: {team}@example.com,"
            f" team: {team}, key_results: ["
        )
        for kr in range(objective * 5, min(krs, objective * 5 + 5)):
            out.append(
                f"      {{id: k{kr}, title: KR {kr}, owner: {team}@example.com,"
                f" metric: synth.m{rng.randrange(metrics)}, {kinds[kr % len(kinds)]}}},"
            )
        out.append("    ]}")
    (root / "okrs" / "2026-q3.yaml").write_text("\n".join(out) + "\n")
    return root


def serve_json(answer: Callable[[str], bytes]) -> ThreadingHTTPServer:
    """A keep-alive loopback server answering every GET with the JSON body `answer(path)`
    returns, one thread per request; stop it with `.shutdown()`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers and body wait on a 40 ms delayed ACK

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            body = answer(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
