"""Fetch 10 REST sources that each answer after 1 s, against one such source.

    .venv/bin/python benchmarks/rest_sources.py [--sources 10] [--delay 1.0] [--runs 3]

A loopback server (stdlib, one thread per request) sleeps `--delay` seconds, then answers a
few records. The project declares `--sources` rest sources of one metric each; the figure is
`runs.fetch_sources` over all of them (the bounded thread pool of a run's source step), the
floor the same call for one source. Sources run concurrently, so the ratio stays near 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import figure, median_seconds, serve_json  # noqa: E402

from okr_pipeline import runs  # noqa: E402
from okr_pipeline.config import load_project  # noqa: E402
from okr_pipeline.sources import FetchWindow  # noqa: E402

AS_OF = date(2026, 11, 20)


def serve(delay: float) -> ThreadingHTTPServer:
    records = [{"ts": (AS_OF - timedelta(n)).isoformat(), "value": n} for n in range(30)]
    body = json.dumps({"data": records}).encode()

    def answer(_path: str) -> bytes:
        time.sleep(delay)
        return body

    return serve_json(answer)


def project_with(sources: int, base: str):
    root = Path(tempfile.mkdtemp(prefix="okr-bench-rest-"))
    (root / "metric_sources").mkdir()
    (root / "okrs").mkdir()
    for number in range(sources):
        (root / "metric_sources" / f"api{number}.yaml").write_text(
            f"name: api{number}\nkind: rest\nbase_url: {base}\nmetrics:\n"
            "  - {name: events, request: {path: /events}, records: '$.data[*]', ts: ts, "
            "value: value}\n"
        )
    (root / "okrs" / "q.yaml").write_text(
        "cycle: {id: Q4, start: 2026-10-01, end: 2026-12-31}\n"
        "objectives:\n  - id: o\n    title: O\n    key_results:\n"
        "      - {id: k, title: K, metric: api0.events, type: increase, target: 1}\n"
    )
    return load_project(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    server = serve(options.delay)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    many, one = project_with(options.sources, base), project_with(1, base)
    window = FetchWindow(
        start=date(2026, 10, 1), end=AS_OF + timedelta(1), as_of=AS_OF, today=AS_OF
    )

    def fetch(project) -> None:
        fetches = runs.fetch_sources(project, sorted(project.sources), window)
        assert all(fetch.status == "ok" for fetch in fetches.values()), fetches

    seconds = median_seconds(lambda: fetch(many), options.runs)
    floor = median_seconds(lambda: fetch(one), options.runs)
    server.shutdown()
    figure(
        f"{options.sources} REST sources answering after {options.delay:g} s, one run's fetch",
        seconds,
        "one such source",
        floor,
        "<= 2x",
        seconds <= 2 * floor,
    )


if __name__ == "__main__":
    main()
