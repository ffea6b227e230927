"""The HTML report: a small organisation scored for three days by the real scoring core,
published through the warehouse, rendered, and read back with the standard HTML parser."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project, load_project
from okr_pipeline.formatting import format_number
from okr_pipeline.report import ReportError, risk_reasons, write_report
from okr_pipeline.report.charts import Trend, nice_ticks, pace_points, trend_chart
from okr_pipeline.scoring import frames_from_project, score

AS_OF = date(2026, 11, 10)
DAYS = (date(2026, 11, 8), date(2026, 11, 9), AS_OF)
HOSTILE = "<script>alert(1)</script>"

SOURCES = {
    "fin.yaml": """
name: fin
kind: csv
path: fin.csv
metrics:
  - {name: mrr, unit: EUR}
  - {name: signups}
""",
    "crm.yaml": """
name: crm
kind: csv
path: crm.csv
metrics:
  - {name: deals}
""",
    "ops.yaml": """
name: ops
kind: csv
path: ops.csv
metrics:
  - {name: uptime, unit: "%"}
""",
}
OKRS = f"""
cycle: {{id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}}
themes: [growth, reliability]
objectives:
  - id: company-growth
    title: Grow revenue & users
    owner: ceo@example.com
    team: leadership
    theme: growth
    key_results:
      - {{id: mrr, title: MRR from 100 to 200, owner: ana@example.com, metric: fin.mrr,
         type: increase, baseline: 100, target: 200,
         checkpoints: [{{date: 2026-10-31, value: 120}}]}}
      - {{id: signups, title: "{HOSTILE}", owner: "<b>eve</b>", metric: fin.signups,
         type: increase, aggregation: sum, target: 30}}
  - id: sales-pipeline
    title: Fill the pipeline
    owner: bo@example.com
    team: sales
    parent: company-growth
    key_results:
      - {{id: deals, title: 10 deals, metric: crm.deals, type: increase, aggregation: sum,
         target: 10}}
  - id: uptime
    title: Be reliable
    owner: ops@example.com
    team: platform
    theme: reliability
    weight: 3
    key_results:
      - {{id: availability, title: Availability above 99.5%, metric: ops.uptime,
         type: stay_above, target: 99.5}}
"""
VALUES = [
    ("fin.mrr", "2026-10-01", 100),
    ("fin.mrr", "2026-10-15", 130),
    ("fin.mrr", "2026-11-01", 150),
    *(("fin.signups", f"2026-10-{day:02d}", 1) for day in range(1, 11)),
    ("fin.signups", "2026-11-05", 3),
    ("crm.deals", "2026-10-05", 1),
    ("crm.deals", "2026-11-02", 1),
    ("ops.uptime", "2026-11-01", 99.9),
    ("ops.uptime", "2026-11-09", 99.1),
]
CHECKS = [
    (AS_OF, "ops.uptime", "max", True, "99.1", None),
    (AS_OF, "crm.deals", "not_null", False, "1 null", "1 value is null"),
]
RUNS = [
    (AS_OF, "crm", "error", 0, 0.2, "crm.deals: connection refused"),
    (AS_OF, "fin", "ok", 14, 0.01, None),
    (AS_OF, "ops", "ok", 2, 0.01, None),
]


def write_project(root: Path, okrs: str = OKRS, checkins: str | None = None) -> Project:
    (root / "metric_sources").mkdir(parents=True)
    (root / "okrs").mkdir()
    for name, text in SOURCES.items():
        (root / "metric_sources" / name).write_text(text)
    (root / "okrs" / "q4.yaml").write_text(okrs)
    if checkins is not None:
        (root / "checkins").mkdir()
        (root / "checkins" / "q4.csv").write_text(checkins)
    return load_project(root)


def scored_warehouse(
    root: Path, days=DAYS, okrs: str = OKRS, checkins: str | None = None
) -> tuple[sa.Engine, Project]:
    """The project scored on each day by the real core, published as a run would."""
    project = write_project(root, okrs, checkins)
    engine = warehouse.create_engine(f"sqlite:///{root / 'wh.db'}")
    values = pd.DataFrame(VALUES, columns=["metric_id", "ts", "value"])
    values["ts"] = pd.to_datetime(values["ts"]).astype("datetime64[ns]")
    problems = pd.DataFrame(
        [("crm.deals", "source_error", "connection refused")],
        columns=["metric_id", "data_status", "data_message"],
    )
    columns = {
        warehouse.metric_checks: ["as_of", "metric_id", "check", "success", "observed", "message"],
        warehouse.source_runs: ["as_of", "source", "status", "rows", "seconds", "message"],
    }
    for day in days:
        tables = score(
            frames_from_project(project), values[values["ts"] <= str(day)], problems, day
        )
        with warehouse.publishing(engine) as publication:
            publication.replace_day(warehouse.kr_scores, day, tables.kr_scores)
            publication.replace_day(warehouse.objective_scores, day, tables.objective_scores)
            for table, rows in ((warehouse.metric_checks, CHECKS), (warehouse.source_runs, RUNS)):
                frame = pd.DataFrame(rows, columns=columns[table]).assign(as_of=day)
                publication.replace_day(table, day, frame)
    return engine, project


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("org")
    engine, project = scored_warehouse(root)
    path = write_report(engine, project, None, root / "out" / "report.html")
    return path, path.read_text(encoding="utf-8")


class Page(HTMLParser):
    """Elements by id and class, with their text, and every script and external reference."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[dict] = []
        self.elements: list[dict] = []
        self.scripts = 0
        self.external: list[str] = []
        self.feed(html)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, closed=True)

    def handle_starttag(self, tag, attrs, closed=False):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            if value and not value.startswith("#"):
                self.external.append(value)
        for open_element in self.stack:
            open_element["text"] += " "
        element = {"tag": tag, "attrs": attributes, "text": ""}
        self.elements.append(element)
        if not closed and tag not in ("meta", "br", "input", "link", "img"):
            self.stack.append(element)

    def handle_endtag(self, tag):
        for open_element in self.stack:
            open_element["text"] += " "
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def by_class(self, name: str) -> list[dict]:
        return [e for e in self.elements if name in (e["attrs"].get("class") or "").split()]

    def by_id(self, name: str) -> dict:
        return next(e for e in self.elements if e["attrs"].get("id") == name)


def text(element: dict) -> str:
    return " ".join(element["text"].split())


def test_the_report_is_one_self_contained_file(report):
    path, html = report
    page = Page(html)
    assert path.name == "report.html"
    assert page.external == []  # no CDN, no stylesheet or script to fetch
    assert page.scripts == 1  # the inlined filter script, nothing else
    assert "as of" in text(page.by_class("sub")[0]) and "10 November 2026" in html


def test_header_counts_and_company_score(report):
    page = Page(report[1])
    counts = {
        e["attrs"]["data-count"]: text(e) for e in page.elements if "data-count" in e["attrs"]
    }
    # mrr: (150-100)/(200-100) = 0.5 vs checkpoint pace -> on_track; signups 13/30 = 0.43,
    # gap 41/92 - 0.433 = 0.012 -> on_track; deals 2/10 = 0.2, gap 0.4457 - 0.2 = 0.2457
    # -> at_risk; availability 99.1 < 99.5 -> off_track
    assert counts == {
        "missed": "0", "off_track": "1", "at_risk": "1", "no_data": "0",
        "not_started": "0", "on_track": "2", "achieved": "0", "data": "1",
    }  # fmt: skip
    # company objectives: company-growth (0.5 + 0.4333) / 2 = 0.4667, weight 1; uptime 0.0,
    # weight 3: (0.4667 * 1 + 0 * 3) / 4 = 0.1167
    score = page.by_class("company-score")[0]
    assert text(score).startswith("0.12 company score · 2026-Q4")
    assert "day 41 of 92" in text(score)  # Nov 10 is day 41 of Oct 1 .. Dec 31


def test_the_alignment_tree_nests_themes_objectives_and_key_results(report):
    page = Page(report[1])
    themes = page.by_class("theme")
    assert [text(page.by_class("theme-head")[i]).split(" 0.")[0] for i in range(2)] == [
        "theme growth",
        "theme reliability",
    ]
    growth = text(themes[0])
    # the team objective sits inside the company objective it names as parent
    assert growth.index("Grow revenue & users") < growth.index("Fill the pipeline")
    sales = page.by_id("obj-2026-Q4-sales-pipeline")
    assert "10 deals" in text(sales) and "source error · 1 KR" in text(sales)
    assert text(page.by_id("obj-2026-Q4-uptime")).count("Availability above 99.5%") == 1
    deals = page.by_id("kr-2026-Q4-deals")
    assert deals["attrs"]["data-team"] == "sales"
    assert deals["attrs"]["data-owner"] == "bo@example.com"  # the objective's owner stands in
    assert deals["attrs"]["data-status"] == "at_risk"
    assert "pace 45%" in text(deals)  # 41 / 92 = 0.4457
    assert "connection refused" in text(deals)


def test_at_risk_list_says_why(report):
    page = Page(report[1])
    items = [text(item) for item in page.by_class("risk")]
    assert len(items) == 2  # availability (off_track) first, then deals (at_risk)
    assert "Availability above 99.5%" in items[0]
    assert "goal ≥ 99.5 % not met: now 99.1" in items[0]
    assert "10 deals" in items[1]
    # gap = 41/92 - 0.2 = 0.2457 -> 25 points
    assert "25 pts behind pace: progress 20%, expected 45% by now" in items[1]
    assert "source error: connection refused; scored on values up to 2026-11-02" in items[1]


def test_why_each_objective_is_not_on_track(report):
    page = Page(report[1])
    # availability (stay_above, expected 1) is off track at 0; deals 2 / 10 = 0.2 against
    # 41 / 92 = 0.45; company-growth's own key results are both on track
    assert [text(item) for item in page.by_class("objective-risk")] == [
        "Off track Be reliable off_track: key result availability is off_track "
        "(0.00 against 1.00 expected)",
        "At risk Fill the pipeline at_risk: key result deals is at_risk "
        "(0.20 against 0.45 expected)",
    ]
    assert [text(why) for why in page.by_class("why")] == [
        "why: at_risk: key result deals is at_risk (0.20 against 0.45 expected)",
        "why: off_track: key result availability is off_track (0.00 against 1.00 expected)",
    ]


def test_check_ins_due_are_listed_per_owner(tmp_path):
    okrs = OKRS + (
        "      - {id: nps, title: NPS from check-ins, owner: ops@example.com, metric: manual,\n"
        "         type: increase, baseline: 20, target: 40}\n"
    )
    # the newest check-in of nps is Oct 20: Nov 10 - Oct 20 = 21 days >= 7, due
    engine, project = scored_warehouse(
        tmp_path, okrs=okrs, checkins="kr_id,date,value\nnps,2026-10-20,25\n"
    )
    page = Page(write_report(engine, project, None, tmp_path / "r.html").read_text())
    assert text(page.by_id("checkins")) == "Check-ins due 1 ops@example.com : nps (last 2026-10-20)"


def test_data_health_lists_source_runs_and_failed_checks(report):
    page = Page(report[1])
    health = text(page.by_id("health"))
    assert "crm error 0 0.20 crm.deals: connection refused" in health
    assert "crm.deals not_null 1 null 1 value is null" in health
    assert "2 checks run, 1 failed" in health
    assert "okr-pipeline run --date 2026-11-10" in health


def test_user_text_is_escaped_everywhere(report):
    html = report[1]
    assert HOSTILE not in html and "<b>eve</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = Page(html)
    assert page.scripts == 1
    assert text(page.by_id("kr-2026-Q4-signups")).count(HOSTILE) == 1  # shown as text
    owners = [text(e) for e in page.elements if e["tag"] == "option"]
    assert "<b>eve</b>" in owners


def test_each_key_result_has_a_trend_chart_from_its_history(report):
    page = Page(report[1])
    mrr = page.by_id("kr-2026-Q4-mrr")
    charts = [e for e in page.elements if e["tag"] == "polyline"]
    assert len(charts) == 2 * 4 - 1  # a value line per KR (3 days) + pace lines but stay_above
    assert "value by day" in text(mrr)
    assert len(page.by_class("forecast")) >= 1


def test_a_given_date_and_an_empty_warehouse(tmp_path):
    engine, project = scored_warehouse(tmp_path, days=DAYS[:1])
    page = Page(write_report(engine, project, DAYS[0], tmp_path / "r.html").read_text())
    assert "day 39 of 92" in text(page.by_class("company-score")[0])  # Nov 8
    empty = warehouse.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(ReportError, match="no scores yet"):
        write_report(empty, project, None, tmp_path / "x.html")


# ---------------------------------------------------------------- charts and reasons, pure


def test_pace_points_run_from_the_baseline_through_checkpoints_to_the_target():
    start, end = date(2026, 10, 1), date(2026, 12, 31)
    assert pace_points("increase", 100, 200, start, end, [(date(2026, 10, 31), 120)]) == (
        (date(2026, 9, 30), 100.0),
        (date(2026, 10, 31), 120.0),
        (end, 200.0),
    )
    # milestones and rollups pace from 0 to their target; thresholds have no pace
    assert pace_points("rollup", 0, 1, start, end) == ((date(2026, 9, 30), 0.0), (end, 1.0))
    assert pace_points("stay_above", None, 99.5, start, end) == ()
    assert pace_points("increase", None, 200, start, end) == ()  # no baseline yet


def test_trend_chart_scales_values_into_the_plot():
    trend = Trend(
        start=date(2026, 10, 1),
        end=date(2026, 12, 31),
        as_of=date(2026, 11, 10),
        history=((date(2026, 11, 8), 150.0), (date(2026, 11, 10), 150.0)),
        pace=((date(2026, 9, 30), 100.0), (date(2026, 12, 31), 200.0)),
        target=200.0,
        forecast=180.0,
    )
    svg = str(trend_chart(trend, label="<mrr>"))
    assert svg.startswith('<svg class="trend" viewBox="0 0 320 128"')
    assert "<title>&lt;mrr&gt;</title>" in svg
    # y ticks 100, 150, 200 over the plot's 8 .. 110; x from Sep 30 over 92 days, 40 .. 310
    assert '<polyline class="pace" points="40.0,110.0 310.0,8.0"/>' in svg
    # Nov 8 is 39 days after Sep 30: 40 + 270 * 39 / 92 = 154.5, Nov 10: 270 * 41 / 92 + 40
    # = 160.3; 150 is mid-height: 8 + 102 / 2 = 59.0
    assert '<polyline class="value" points="154.5,59.0 160.3,59.0"/>' in svg
    # forecast from the last point to (Dec 31, 180): 8 + 102 * (1 - 80 / 100) = 28.4
    assert 'x2="310.0" y2="28.4"' in svg
    assert ">Oct</text>" in svg and ">Dec</text>" in svg


def test_nice_ticks_and_numbers():
    assert nice_ticks(100, 200) == [100, 150, 200]
    assert nice_ticks(0, 13) == [0, 5, 10, 15]
    assert nice_ticks(5, 5) == [5, 5.2, 5.4, 5.6]  # a flat series still gets a scale
    assert [format_number(v) for v in (1_250_000, 150_000, 99.5, 0.4333, 12, None)] == [
        "1.25M", "150k", "99.5", "0.433", "12", "–",
    ]  # fmt: skip


def test_risk_reasons_of_a_stale_off_track_key_result():
    row = {
        "status": "off_track", "type": "decrease", "progress": 0.1, "expected": 0.6,
        "current_value": 90, "forecast_value": 80.0, "forecast_progress": 0.4,
        "data_status": "stale", "data_message": "newest value is 20 days old",
        "last_observed_ts": date(2026, 10, 21),
    }  # fmt: skip
    assert risk_reasons(row, date(2026, 12, 31), "100 → 50") == [
        "50 pts behind pace: progress 10%, expected 60% by now",  # 0.6 - 0.1
        "forecast 80 by Dec 31 (40% of the goal)",
        "stale data: newest value is 20 days old; scored on values up to 2026-10-21",
    ]


def test_the_report_sizes_to_about_a_kilobyte_per_chart(report):
    sizes = [len(m) for m in re.findall(r"<svg.*?</svg>", report[1], flags=re.S)]
    assert len(sizes) == 4 and max(sizes) < 2500


def test_the_report_command_prints_the_written_path(tmp_path, capsys):
    from okr_pipeline.cli import main

    scored_warehouse(tmp_path)
    out = tmp_path / "site" / "okr.html"
    args = ["--project-dir", str(tmp_path), "--warehouse", f"sqlite:///{tmp_path / 'wh.db'}"]
    assert main(["report", *args, "--date", "2026-11-09", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "Monday 09 November 2026" in out.read_text()
    empty = ["--warehouse", f"sqlite:///{tmp_path / 'empty.db'}"]
    assert main(["report", "--project-dir", str(tmp_path), *empty]) == 1
    assert "no scores yet" in capsys.readouterr().err
