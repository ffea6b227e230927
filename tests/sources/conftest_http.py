"""Helpers of the HTTP source tests: a project written as YAML, a window, a fetch.

Every test goes through `load_project`, so the YAML a user would write is what is tested.
"""

from __future__ import annotations

import socket
import textwrap
from datetime import date
from pathlib import Path

from okr_pipeline.config import load_project
from okr_pipeline.sources import FetchWindow, SourceFetch, connector_for

TODAY = date(2026, 11, 20)
OKRS = """\
cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}
themes: [t]
objectives:
  - id: o
    title: O
    owner: a@example.com
    theme: t
    key_results:
      - {id: k, title: K, owner: a@example.com, metric: manual, type: increase, target: 1}
"""


def write_project(root: Path, *sources: str, settings: str | None = None) -> Path:
    """A project directory with the given metric source files (YAML text, dedented)."""
    (root / "metric_sources").mkdir(parents=True, exist_ok=True)
    (root / "okrs").mkdir(exist_ok=True)
    (root / "okrs" / "2026-q4.yaml").write_text(OKRS)
    for number, text in enumerate(sources):
        (root / "metric_sources" / f"source_{number}.yaml").write_text(textwrap.dedent(text))
    if settings is not None:
        (root / "okr_project.yaml").write_text(textwrap.dedent(settings))
    return root


def window(start: date, end: date, as_of: date | None = None, today: date = TODAY) -> FetchWindow:
    """Days start..end-1; the as-of date defaults to the last day of the window."""
    return FetchWindow(
        start=start, end=end, as_of=as_of or date.fromordinal(end.toordinal() - 1), today=today
    )


def fetch(root: Path, source: str, fetch_window: FetchWindow) -> SourceFetch:
    project = load_project(root)
    return connector_for(project.sources[source], project).fetch(fetch_window)


def values(result: SourceFetch, metric: str) -> dict[str, float]:
    """{ISO day: value} of one metric of a fetch; fails with the error when it has one."""
    (found,) = [m for m in result.metrics if m.metric_id.endswith(f".{metric}")]
    assert found.series is not None, found.error or found.skipped
    return {
        ts.date().isoformat(): value
        for ts, value in zip(found.series["ts"], found.series["value"], strict=True)
    }


def error(result: SourceFetch, metric: str) -> str:
    (found,) = [m for m in result.metrics if m.metric_id.endswith(f".{metric}")]
    assert found.error is not None, f"expected an error, got {found.series}"
    return found.error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
