"""The scoreboard people read in a terminal, and its JSON and CSV forms for machines."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from okr_pipeline.formatting import format_number

STATUS_STYLES = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "missed": "bold red",
    "no_data": "dim",
    "not_started": "dim",
}
MACHINE_COLUMNS = [
    "as_of", "cycle_id", "objective_id", "kr_id", "title", "owner", "team", "current_value",
    "target", "score", "expected", "status", "data_status", "data_message",
]  # fmt: skip


def filter_scores(krs: pd.DataFrame, team: str | None, owner: str | None) -> pd.DataFrame:
    if team:
        krs = krs[krs["team"] == team]
    if owner:
        krs = krs[krs["owner"] == owner]
    return krs


def _fraction(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.2f}"


def render(
    krs: pd.DataFrame, objectives: pd.DataFrame, filtered: bool = False, out: TextIO | None = None
) -> None:
    """Per cycle, each objective with its roll-up, then its key results; fits 80 columns.

    Colour only on a terminal (rich decides). With a team or owner filter, objectives with
    none of the shown key results are left out.
    """
    console = Console(file=out or sys.stdout)
    as_of = krs["as_of"].iloc[0] if len(krs) else None
    table = Table(
        title=f"OKR scoreboard as of {as_of}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("objective / key result", ratio=1, min_width=20, overflow="ellipsis")
    for name in ("current", "target", "score", "expected"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("data", no_wrap=True)
    ordered = objectives.sort_values(["cycle_id", "team", "objective_id"], na_position="first")
    cycle = None
    for objective in ordered.itertuples(index=False):
        own = krs[
            (krs["cycle_id"] == objective.cycle_id)
            & (krs["objective_id"] == objective.objective_id)
        ]
        if own.empty and filtered:
            continue
        if objective.cycle_id != cycle:
            cycle = objective.cycle_id
            table.add_row(Text(f"cycle {cycle}", style="bold underline"), end_section=False)
        table.add_row(
            Text(objective.objective_id, style="bold", no_wrap=True, overflow="ellipsis"),
            "", "", _fraction(objective.score), _fraction(objective.expected),
            Text(objective.status, style=STATUS_STYLES.get(objective.status, "")),
        )  # fmt: skip
        for kr in own.itertuples(index=False):
            data = "" if kr.data_status == "ok" else kr.data_status
            table.add_row(
                Text(f"  {kr.kr_id}", no_wrap=True, overflow="ellipsis"),
                format_number(kr.current_value), format_number(kr.target),
                _fraction(kr.score), _fraction(kr.expected),
                Text(kr.status, style=STATUS_STYLES.get(kr.status, "")),
                Text(data, style="red" if data else ""),
            )  # fmt: skip
    console.print(table)


def to_json(krs: pd.DataFrame) -> str:
    rows = krs[MACHINE_COLUMNS].astype(object).where(krs[MACHINE_COLUMNS].notna(), None)
    return json.dumps(rows.to_dict("records"), default=str, indent=2)


def to_csv(krs: pd.DataFrame) -> str:
    return krs[MACHINE_COLUMNS].to_csv(index=False)
