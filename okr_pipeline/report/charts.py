"""Inline SVG trend charts of a key result: pure functions from numbers to markup.

A chart holds only numbers and labels made from numbers and dates, so it is safe to place
in the page unescaped; colours and line styles come from the page's stylesheet (classes
`grid`, `band`, `target`, `pace`, `value`, `last`, `forecast`, `today`, `axis`), which keeps
each chart to about a kilobyte and lets the print stylesheet restyle every chart at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from okr_pipeline.formatting import format_number, is_number

WIDTH, HEIGHT = 320, 128
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 8, 18
LINEAR_TYPES = ("increase", "decrease")
PROGRESS_TYPES = ("milestones", "rollup")

Point = tuple[date, float]


@dataclass(frozen=True)
class Trend:
    """What one KR's chart shows; values are in the KR's own unit."""

    start: date
    end: date
    as_of: date
    history: tuple[Point, ...]
    pace: tuple[Point, ...] = ()
    target: float | None = None
    band: tuple[float, float] | None = None
    forecast: float | None = None


def pace_points(
    kr_type: str,
    baseline: float | None,
    target: float | None,
    start: date,
    end: date,
    checkpoints: Iterable[Point] = (),
) -> tuple[Point, ...]:
    """The expected value over the cycle (docs/scoring.md, expected pace): straight from
    (start - 1 day, baseline) to (end, target), through each checkpoint; on any day this equals
    expected * (target - baseline) + baseline. Milestones and rollups pace from 0 to their
    target; stay_* and boolean KRs have no pace line (a threshold is drawn instead)."""
    if kr_type in PROGRESS_TYPES:
        baseline = 0.0
    elif kr_type not in LINEAR_TYPES:
        return ()
    if not (is_number(baseline) and is_number(target)):
        return ()
    inside = sorted((day, value) for day, value in checkpoints if start <= day < end)
    return ((start - timedelta(1), float(baseline)), *inside, (end, float(target)))


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering low..high."""
    if high <= low:
        high = low + (abs(low) * 0.1 or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.5 and len(ticks) < count + 2:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def month_ticks(start: date, end: date, most: int = 6) -> list[date]:
    """First days of months inside the cycle, thinned to at most `most` labels."""
    months = []
    day = date(start.year, start.month, 1)
    while day <= end:
        if day >= start:
            months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    if not months:
        months = [start]
    stride = math.ceil(len(months) / most)
    return months[::stride]


def _polyline(points: Sequence[tuple[float, float]], css: str) -> str:
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline class="{css}" points="{coordinates}"/>'


def trend_chart(trend: Trend, label: str = "") -> Markup:
    """An SVG of the KR's value by as-of date against its pace, target and forecast."""
    x_low = trend.start - timedelta(1)
    span = max((trend.end - x_low).days, 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    values = [value for _, value in trend.history]
    values += [value for _, value in trend.pace]
    values += [v for v in (trend.target, trend.forecast) if is_number(v)]
    values += list(trend.band or ())
    ticks = nice_ticks(min(values), max(values)) if values else [0.0, 1.0]
    y_low, y_high = ticks[0], ticks[-1]

    def x(day: date) -> float:
        return LEFT + plot_w * (day - x_low).days / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - y_low) / ((y_high - y_low) or 1))

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    if label:
        parts.append(f"<title>{escape(label)}</title>")
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{y(tick) + 3:.1f}" text-anchor="end">'
            f"{escape(format_number(tick))}</text>"
        )
    for month in month_ticks(trend.start, trend.end):
        parts.append(f'<text class="axis" x="{x(month):.1f}" y="{HEIGHT - 5}">{month:%b}</text>')
    if trend.band:
        low, high = sorted(trend.band)
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{y(high):.1f}" width="{plot_w}" '
            f'height="{max(y(low) - y(high), 1):.1f}"/>'
        )
    if is_number(trend.target):
        parts.append(
            f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(trend.target):.1f}" y2="{y(trend.target):.1f}"/>'
        )
    if trend.pace:
        parts.append(_polyline([(x(d), y(v)) for d, v in trend.pace], "pace"))
    if trend.start <= trend.as_of <= trend.end:
        parts.append(
            f'<line class="today" x1="{x(trend.as_of):.1f}" x2="{x(trend.as_of):.1f}" '
            f'y1="{TOP}" y2="{TOP + plot_h}"/>'
        )
    if trend.history:
        last_day, last_value = trend.history[-1]
        if is_number(trend.forecast) and last_day < trend.end:
            parts.append(
                f'<line class="forecast" x1="{x(last_day):.1f}" y1="{y(last_value):.1f}" '
                f'x2="{x(trend.end):.1f}" y2="{y(trend.forecast):.1f}"/>'
            )
        if len(trend.history) > 1:
            parts.append(_polyline([(x(d), y(v)) for d, v in trend.history], "value"))
        parts.append(
            f'<circle class="last" cx="{x(last_day):.1f}" cy="{y(last_value):.1f}" r="3"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
