"""Render the HTML report of 500 key results scored on every day of a 92-day cycle.

    .venv/bin/python benchmarks/report.py [--krs 500] [--runs 3] [--keep FILE]

The organisation is real YAML loaded by the real loader: 4 themes, 20 teams, company and
team objectives of 5 key results each (increase, decrease, sums, stay_above, stay_between),
fed by seeded random walks and scored by the real core for each day Oct 1 .. Dec 31 into a
SQLite warehouse (92 x 500 = 46,000 kr_scores rows). The figures: time of `write_report`,
the file's size, and, in headless Chromium from a file URL, the time from navigation to the
load event and the first two frames (the page is drawn), and the time a team filter takes.
Budgets: under 3 s in the browser, under 5 MB on disk.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from okr_pipeline import warehouse  # noqa: E402
from okr_pipeline.config import load_project  # noqa: E402
from okr_pipeline.report import write_report  # noqa: E402
from okr_pipeline.scoring import frames_from_project, score  # noqa: E402

START, END = date(2026, 10, 1), date(2026, 12, 31)
THEMES = ["self-serve", "enterprise", "reliability", "efficiency"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
BROWSER_BUDGET_SECONDS, SIZE_BUDGET_BYTES = 3.0, 5_000_000


def organisation(root: Path, krs: int, rng: random.Random) -> dict[str, list[float]]:
    """Write the project's YAML; return each metric's daily values over the cycle."""
    objectives_needed = krs // 5
    companies = max(objectives_needed // 5, 1)
    metrics, series, lines = [], {}, []
    for number in range(objectives_needed):
        team = f"team-{number % 20:02d}"
        if number < companies:
            head = f"    theme: {THEMES[number % len(THEMES)]}"
            team = "leadership"
        else:
            head = f"    parent: obj-{number % companies:03d}"
        lines += [
            f"  - id: obj-{number:03d}",
            f"    title: Objective {number} of {team}, with a title of a realistic length",
            f"    owner: lead{number % 40}@example.com",
            f"    team: {team}",
            head,
            "    key_results:",
        ]
        for index in range(5):
            kr = f"kr-{number:03d}-{index}"
            metric = f"m{number:03d}_{index}"
            metrics.append(f"  - {{name: {metric}, unit: EUR}}")
            kind = rng.choice(["increase"] * 6 + ["decrease"] * 2 + ["sum", "above", "between"])
            pace = rng.uniform(0.3, 1.3)  # share of the goal reached by the cycle end
            days = (END - START).days + 1
            noise = rng.uniform(0.5, 3)
            if kind == "increase":
                spec = "type: increase, baseline: 100, target: 200"
                values = [100 + 100 * pace * d / days + rng.gauss(0, noise) for d in range(days)]
            elif kind == "decrease":
                spec = "type: decrease, baseline: 80, target: 40"
                values = [80 - 40 * pace * d / days + rng.gauss(0, noise) for d in range(days)]
            elif kind == "sum":
                spec = "type: increase, aggregation: sum, target: 900"
                values = [max(10 * pace + rng.gauss(0, 2), 0) for _ in range(days)]
            elif kind == "above":
                spec = "type: stay_above, target: 99.5"
                values = [99.5 + rng.gauss(0.2 * pace, 0.3) for _ in range(days)]
            else:
                spec = "{type: stay_between, min: 10, max: 20}"[1:-1]
                values = [15 + rng.gauss(0, 3 * pace) for _ in range(days)]
            series[f"bench.{metric}"] = values
            lines.append(
                f"      - {{id: {kr}, title: Key result {index} of objective {number}, "
                f"owner: owner{(number * 5 + index) % 120}@example.com, "
                f"metric: bench.{metric}, {spec}}}"
            )
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    (root / "metric_sources" / "bench.yaml").write_text(
        "name: bench\nkind: csv\npath: bench.csv\nmetrics:\n" + "\n".join(metrics) + "\n"
    )
    (root / "okrs" / "2026-q4.yaml").write_text(
        f"cycle: {{id: 2026-Q4, start: {START}, end: {END}}}\n"
        f"themes: [{', '.join(THEMES)}]\nobjectives:\n" + "\n".join(lines) + "\n"
    )
    return series


def score_every_day(root: Path, series: dict[str, list[float]]):
    project = load_project(root)
    engine = warehouse.create_engine(f"sqlite:///{root / 'wh.db'}")
    days = pd.date_range(START, END, freq="D")
    values = pd.DataFrame(
        [
            (metric, day, value)
            for metric, row in series.items()
            for day, value in zip(days, row, strict=True)
        ],
        columns=["metric_id", "ts", "value"],
    ).astype({"ts": "datetime64[ns]"})
    frames = frames_from_project(project)
    no_problems = pd.DataFrame(columns=["metric_id", "data_status", "data_message"])
    for offset in range(len(days)):
        day = START + timedelta(offset)
        tables = score(frames, values[values["ts"] <= pd.Timestamp(day)], no_problems, day)
        with warehouse.publishing(engine) as publication:
            publication.replace_day(warehouse.kr_scores, day, tables.kr_scores)
            publication.replace_day(warehouse.objective_scores, day, tables.objective_scores)
    return engine, project


def browser_seconds(path: Path, runs: int) -> tuple[float, float, float] | None:
    """(median seconds to load and draw, median load-event ms, team filter ms), or None."""
    if not Path(CHROMIUM).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    walls, loads, filters = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            began = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            walls.append(time.perf_counter() - began)
            loads.append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            began = time.perf_counter()
            page.select_option("#team-filter", "team-07")
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            filters.append((time.perf_counter() - began) * 1000)
            page.close()
        browser.close()
    return statistics.median(walls), statistics.median(loads), statistics.median(filters)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--krs", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="copy the report here, to look at it")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        began = time.perf_counter()
        series = organisation(root, options.krs, random.Random(7))
        engine, project = score_every_day(root, series)
        setup = time.perf_counter() - began
        timings = []
        for _ in range(options.runs):
            began = time.perf_counter()
            path = write_report(engine, project, END, root / "report.html")
            timings.append(time.perf_counter() - began)
        size = path.stat().st_size
        rows = len(warehouse.read_table(engine, warehouse.kr_scores))
        browser = browser_seconds(path, options.runs)
        if options.keep:
            options.keep.write_bytes(path.read_bytes())
    print(f"report of {options.krs} key results x 92 days ({rows:,} kr_scores rows)")
    print(f"  setup (YAML, scoring 92 days):  {setup:.1f} s")
    print(f"  write_report (median of {options.runs}):  {statistics.median(timings):.2f} s")
    budget = f"budget {SIZE_BUDGET_BYTES / 1e6:.0f} MB"
    print(f"  file size:                      {size / 1e6:.2f} MB ({budget})")
    if browser is None:
        print("  browser: skipped (no /usr/bin/chromium or no playwright)")
        return 0 if size < SIZE_BUDGET_BYTES else 1
    wall, load_ms, filter_ms = browser
    print(f"  browser load + first frames:    {wall:.2f} s (budget {BROWSER_BUDGET_SECONDS:.0f} s)")
    print(f"  browser load event:             {load_ms:.0f} ms")
    print(f"  team filter applied and drawn:  {filter_ms:.0f} ms")
    within = size < SIZE_BUDGET_BYTES and wall < BROWSER_BUDGET_SECONDS
    print(f"  within budgets: {'yes' if within else 'NO'}")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
