"""Numbers as people read them, the same in the terminal scoreboard and the HTML report."""

from __future__ import annotations

import math


def is_number(value: float | None) -> bool:
    """A finite number. None, NaN and +-Infinity (which an older version stored) are no
    value, shown as an en dash and left out of charts."""
    return value is not None and math.isfinite(value)


def format_number(value: float | None) -> str:
    """Short, readable numbers: 1.2M, 150k, 99.5, 0.42; an en dash for no value."""
    if not is_number(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.3g}k"
    if magnitude >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def format_score(value: float | None) -> str:
    """A score or an expected pace with two decimals, rounded half up as scores and each
    objective's status_reason are (0.575 -> 0.58, where `:.2f` gives 0.57); an en dash for
    no value. An objective's roll-up score is stored unrounded."""
    if not is_number(value):
        return "–"
    return f"{math.floor(value * 100 + 0.5 + 1e-9) / 100:.2f}"
