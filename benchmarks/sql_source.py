"""A `sql` source over raw events in PostgreSQL, against the same SQL run with psycopg alone.

    .venv/bin/python benchmarks/sql_source.py [--rows 10000000] [--runs 5]

The events are generated server side (`INSERT ... SELECT generate_series`, deterministic:
event n lands at a fixed offset in the quarter) into the database `okr_bench`, which is dropped
at the end (`--keep` keeps it for the next run, which reuses it if its row count matches).
The metric counts one day's events
(`date(created_at), count(*) ... GROUP BY 1`) over a quarter, so the database aggregates and
92 rows cross the wire. The figure is one `connector_for(...).fetch(window)`, from a fresh
engine as a run does; the floor is `psycopg.connect` + the same statement + `fetchall`.

Needs the PostgreSQL server at 127.0.0.1:5432 (user postgres), or `--url`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import figure, median_seconds  # noqa: E402

from okr_pipeline.config import load_project  # noqa: E402
from okr_pipeline.sources import FetchWindow, connector_for  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "okr_bench"
START, END = date(2026, 10, 1), date(2027, 1, 1)
QUERY = """
SELECT date(created_at) AS ts, count(*) AS value
FROM events
WHERE created_at >= :start AND created_at < :end
GROUP BY 1
"""


def ensure_events(rows: int) -> float:
    """Create okr_bench.events with `rows` rows unless it is there; the seconds it took."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f"CREATE DATABASE {DATABASE}")
    started = time.perf_counter()
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS events (id bigint, created_at timestamp, kind text)"
        )
        (present,) = connection.execute("SELECT count(*) FROM events").fetchone()
        if present == rows:
            return 0.0
        seconds_in_quarter = int((END - START).total_seconds())
        connection.execute("TRUNCATE events")
        connection.execute(
            "INSERT INTO events SELECT n, %s::timestamp + make_interval(secs => (n * 7919) %% %s),"
            " CASE WHEN n %% 3 = 0 THEN 'signup' ELSE 'visit' END"
            " FROM generate_series(1::bigint, %s::bigint) AS n",
            [START, seconds_in_quarter, rows],
        )
        connection.commit()
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE events")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep okr_bench for the next run")
    options = parser.parse_args()
    try:
        measure(options)
    finally:
        if not options.keep:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def measure(options: argparse.Namespace) -> None:

    loaded = ensure_events(options.rows)
    if loaded:
        print(f"(generated {options.rows:,} events server side in {loaded:.1f} s)", flush=True)
    root = Path(tempfile.mkdtemp(prefix="okr-bench-sql-"))
    (root / "metric_sources").mkdir()
    (root / "okrs").mkdir()
    indented = "\n".join("      " + line for line in QUERY.strip().splitlines())
    (root / "metric_sources" / "events.yaml").write_text(
        f"name: events\nkind: sql\nurl: postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}\n"
        f"timeout_seconds: 120\nmetrics:\n  - name: per_day\n    query: |\n{indented}\n"
    )
    (root / "okrs" / "q.yaml").write_text(
        f"cycle: {{id: Q4, start: {START}, end: {END - timedelta(1)}}}\n"
        "objectives:\n  - id: o\n    title: O\n    key_results:\n"
        "      - {id: k, title: K, metric: events.per_day, type: increase, target: 1}\n"
    )
    project = load_project(root)
    window = FetchWindow(start=START, end=END, as_of=END - timedelta(1), today=END)
    transferred = {}

    def connector_fetch() -> None:
        result = connector_for(project.sources["events"], project).fetch(window)
        (metric,) = result.metrics
        assert metric.series is not None, metric.error
        transferred["pipeline"] = len(metric.series)

    def bare_psycopg() -> None:
        with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
            sql = QUERY.replace(":start", "%(start)s").replace(":end", "%(end)s")
            rows = connection.execute(sql, {"start": START, "end": END}).fetchall()
        transferred["psycopg"] = len(rows)

    seconds = median_seconds(connector_fetch, options.runs)
    floor = median_seconds(bare_psycopg, options.runs)
    figure(
        f"sql source over {options.rows:,} raw events in PostgreSQL, one metric per day over a "
        f"quarter ({transferred['pipeline']} rows transferred)",
        seconds,
        "the same SQL with psycopg alone",
        floor,
        "<= 1.3x, rows transferred = days",
        seconds <= 1.3 * floor and transferred["pipeline"] == (END - START).days,
    )


if __name__ == "__main__":
    main()
