"""Time one `rest` fetch that walks 100 pages of a loopback API, against a bare requests loop.

    .venv/bin/python benchmarks/rest_pages.py [--pages 100] [--records 100] [--runs 5]

The server (stdlib, keep-alive) answers a cursor-paged list of records, one day per page.
The figure is the median of several runs of `connector_for(...).fetch(window)` on a project
loaded from YAML; the ratio compares it with the same requests sent by a plain
`requests.Session` that only parses the JSON, i.e. the cost of paging, record selection,
per-day combination and the retry/redaction wrapper.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import date, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import serve_json  # noqa: E402

from okr_pipeline.config import load_project  # noqa: E402
from okr_pipeline.sources import FetchWindow, connector_for  # noqa: E402

FIRST_DAY = date(2026, 1, 1)


def serve(pages: int, records: int) -> ThreadingHTTPServer:
    bodies = []
    for page in range(pages):
        day = (FIRST_DAY + timedelta(page)).isoformat()
        following = str(page + 1) if page + 1 < pages else None
        data = [{"ts": day, "value": n} for n in range(records)]
        bodies.append(json.dumps({"data": data, "next_cursor": following}).encode())
    return serve_json(
        lambda path: bodies[int(parse_qs(urlsplit(path).query).get("cursor", ["0"])[0])]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--records", type=int, default=100, help="records per page")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    server = serve(args.pages, args.records)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    root = Path(tempfile.mkdtemp(prefix="okr-bench-"))
    (root / "metric_sources").mkdir()
    (root / "okrs").mkdir()
    (root / "metric_sources" / "paged.yaml").write_text(
        textwrap.dedent(f"""\
            name: paged
            kind: rest
            base_url: {base}
            paginator: {{type: cursor, cursor_path: "$.next_cursor"}}
            metrics:
              - name: total
                request: {{path: /events}}
                records: "$.data[*]"
                ts: ts
                value: value
            """)
    )
    (root / "okrs" / "q.yaml").write_text(
        "cycle: {id: Q1, start: 2026-01-01, end: 2026-03-31}\n"
        "objectives:\n  - id: o\n    title: O\n    key_results:\n"
        "      - {id: k, title: K, metric: paged.total, type: increase, target: 1}\n"
    )
    project = load_project(root)
    last = FIRST_DAY + timedelta(args.pages)
    window = FetchWindow(start=FIRST_DAY, end=last, as_of=last - timedelta(1), today=last)

    def connector_fetch() -> None:
        result = connector_for(project.sources["paged"], project).fetch(window)
        (metric,) = result.metrics
        assert metric.series is not None and len(metric.series) == args.pages, metric.error

    def bare_requests() -> None:
        with requests.Session() as session:
            cursor = "0"
            while cursor is not None:
                cursor = session.get(f"{base}/events", params={"cursor": cursor}).json()[
                    "next_cursor"
                ]

    def median_seconds(action) -> float:
        action()  # warm-up: imports, JSONPath compilation, first connection
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            action()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    fetch_seconds = median_seconds(connector_fetch)
    bare_seconds = median_seconds(bare_requests)
    server.shutdown()
    total = args.pages * args.records
    print(f"rest fetch of {args.pages} pages x {args.records} records ({total} records)")
    print(f"  one fetch (median of {args.runs}): {fetch_seconds:.3f} s")
    print(f"  per page:                   {fetch_seconds / args.pages * 1000:.2f} ms")
    print(f"  records per second:         {total / fetch_seconds:,.0f}")
    print(f"  bare requests loop:         {bare_seconds:.3f} s")
    print(f"  ratio fetch / bare:         {fetch_seconds / bare_seconds:.2f}x")


if __name__ == "__main__":
    main()
