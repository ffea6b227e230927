"""The report the nightly run publishes: `<report.dir>/<as_of>.html` and `latest.html`.

Each page is written to a temporary file beside it and renamed over the old one, so a
teammate (or a static file server) never reads half a page. `latest.html` follows the
newest scored date only: backfilling an old range leaves it on tonight's page. Dated pages
older than `keep_days` before the as-of date are removed.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project
from okr_pipeline.report import build_context, render

DATED_PAGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.html$")
LATEST = "latest.html"
MAX_RISK_ROWS = 50  # of the Markdown table in the Dagster UI; the page lists them all


@dataclass(frozen=True)
class PublishedReport:
    path: Path  # the dated page
    latest: bool  # latest.html now shows this date
    counts: dict[str, int]  # key results by status
    at_risk: list[tuple[str, str, str]]  # (key result, status, why), worst first
    removed: list[Path]  # dated pages past keep_days


PAGE_MODE = 0o644
"""Readable by everyone: the folder is meant to be served, and a web server usually runs as
another user (the temporary file would otherwise keep mkstemp's 0600)."""


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, PAGE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def report_dir(project: Project) -> Path:
    return project.resolve(project.settings.report.dir)


def publish_report(engine: sa.Engine, project: Project, as_of: date) -> PublishedReport:
    """Write the dated page of `as_of`, move `latest.html` to it when it is the newest
    scored date, and remove dated pages older than `keep_days`."""
    directory = report_dir(project)
    context = build_context(engine, project, as_of)
    page = render(context)
    path = directory / f"{as_of.isoformat()}.html"
    write_atomically(path, page)
    newest = warehouse.latest_as_of(engine)
    latest = newest is None or as_of >= newest
    if latest:
        write_atomically(directory / LATEST, page)
    at_risk = [
        (f"{kr.row['kr_id']} ({kr.row['cycle_id']})", kr.row["status"], "; ".join(kr.reasons))
        for kr in context["risks"]
    ]
    removed = _remove_old_pages(directory, as_of - timedelta(project.settings.report.keep_days))
    return PublishedReport(path, latest, dict(context["counts"]), at_risk, removed)


def _remove_old_pages(directory: Path, before: date) -> list[Path]:
    removed = []
    for page in sorted(directory.glob("*.html")):
        match = DATED_PAGE.match(page.name)
        if match and date.fromisoformat(match[1]) < before:
            page.unlink(missing_ok=True)
            removed.append(page)
    return removed


def risk_table(at_risk: list[tuple[str, str, str]]) -> str:
    """The at-risk key results and why, as a Markdown table for the Dagster UI."""
    if not at_risk:
        return "Nothing is at risk."

    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|")

    lines = ["| key result | status | why |", "| --- | --- | --- |"]
    lines += [f"| {cell(kr)} | {status} | {cell(why)} |" for kr, status, why in at_risk]
    if len(lines) > MAX_RISK_ROWS + 2:
        lines = lines[: MAX_RISK_ROWS + 2] + [f"\n…and {len(at_risk) - MAX_RISK_ROWS} more"]
    return "\n".join(lines)
