"""The scoreboard people read in a terminal, and its JSON and CSV forms for machines.

`status` is run often, from hooks and scripts, so this module reads the warehouse through
the plain DB-API into plain rows: on a SQLite warehouse it imports neither SQLAlchemy nor
pandas (nor pydantic: it needs no project config), and starts in about a tenth of a second.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from okr_pipeline.formatting import format_number, is_number
from okr_pipeline.warehouse_errors import NO_SCORES, WarehouseError, unreachable

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


OBJECTIVE_COLUMNS = ["cycle_id", "objective_id", "team", "score", "expected", "status"]
Row = dict[str, Any]


@dataclass
class Scores:
    """One as-of date of `kr_scores` and `objective_scores`, in primary-key order."""

    as_of: str
    krs: list[Row]
    objectives: list[Row]

    def only(self, team: str | None, owner: str | None) -> Scores:
        krs = [
            kr
            for kr in self.krs
            if (not team or kr["team"] == team) and (not owner or kr["owner"] == owner)
        ]
        return Scores(self.as_of, krs, self.objectives)


def read_scores(url: str, as_of: date | None) -> Scores:
    """The scores of `as_of` (default: the latest scored); a WarehouseError when there are
    none, or the warehouse cannot be read."""
    connection = _connect(url)
    with closing(connection):
        try:
            _check_columns(connection, url)
        except Exception:  # each driver has its own error classes: no table, not a database
            _explain(url)
            raise
        day = as_of.isoformat() if as_of else _latest(connection)
        if day is None:
            raise WarehouseError(NO_SCORES)
        # `day` is a date's ISO text, never user text: inlined, so one SQL fits every driver
        krs = _rows(connection, "kr_scores", MACHINE_COLUMNS, day, "cycle_id, kr_id")
        objectives = _rows(
            connection, "objective_scores", OBJECTIVE_COLUMNS, day, "cycle_id, objective_id"
        )
    return Scores(day, krs, objectives)


def _connect(url: str):
    """A DB-API connection: the stdlib's sqlite3 for a SQLite file, read-only; any other
    warehouse through SQLAlchemy."""
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url.removeprefix("sqlite:///")).resolve()
        if not path.exists():
            raise WarehouseError(NO_SCORES)
        try:
            return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise unreachable(url, str(error)) from None
    from okr_pipeline import warehouse

    return warehouse.engine_for(url).raw_connection()


def _check_columns(connection, url: str) -> None:
    """A table lacking a column `status` shows is told as every command tells it. Columns it
    does not show are not its concern: it stays fast on SQLite, without the full schema."""
    for table, columns in (("kr_scores", MACHINE_COLUMNS), ("objective_scores", OBJECTIVE_COLUMNS)):
        with closing(connection.cursor()) as cursor:
            cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
            present = {description[0] for description in cursor.description}
        if not present.issuperset(columns):
            _explain(url)


def _explain(url: str) -> None:
    """Where the fast read fails, SQLAlchemy's opening (which checks every table and column)
    raises the one-line WarehouseError every other command gives for that warehouse."""
    from okr_pipeline import warehouse

    warehouse.open_for_reading(url).dispose()


def _latest(connection) -> str | None:
    with closing(connection.cursor()) as cursor:
        cursor.execute("SELECT max(as_of) FROM kr_scores")
        (latest,) = cursor.fetchone()
    return None if latest is None else str(latest)


def _rows(connection, table: str, columns: list[str], day: str, order: str) -> list[Row]:
    with closing(connection.cursor()) as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE as_of = '{day}' ORDER BY {order}"
        )
        rows = cursor.fetchall()
    return [
        {
            name: str(value) if name == "as_of" else value
            for name, value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


def _fraction(value) -> str:
    return f"{value:.2f}" if is_number(value) else "–"


def render(scores: Scores, filtered: bool = False, out: TextIO | None = None) -> None:
    """Per cycle, each objective with its roll-up, then its key results; fits 80 columns.

    Colour only on a terminal (rich decides). With a team or owner filter, objectives with
    none of the shown key results are left out.
    """
    console = Console(file=out or sys.stdout)
    table = Table(
        title=f"OKR scoreboard as of {scores.as_of}",
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
    krs_of: dict[tuple, list[Row]] = {}
    for kr in scores.krs:
        krs_of.setdefault((kr["cycle_id"], kr["objective_id"]), []).append(kr)
    ordered = sorted(
        scores.objectives,
        key=lambda o: (o["cycle_id"], o["team"] is not None, o["team"] or "", o["objective_id"]),
    )
    cycle = None
    for objective in ordered:
        own = krs_of.get((objective["cycle_id"], objective["objective_id"]), [])
        if not own and filtered:
            continue
        if objective["cycle_id"] != cycle:
            cycle = objective["cycle_id"]
            table.add_row(Text(f"cycle {cycle}", style="bold underline"), end_section=False)
        table.add_row(
            Text(objective["objective_id"], style="bold", no_wrap=True, overflow="ellipsis"),
            "", "", _fraction(objective["score"]), _fraction(objective["expected"]),
            _status(objective["status"]),
        )  # fmt: skip
        for kr in own:
            data = "" if kr["data_status"] == "ok" else kr["data_status"]
            table.add_row(
                Text(f"  {kr['kr_id']}", no_wrap=True, overflow="ellipsis"),
                format_number(kr["current_value"]), format_number(kr["target"]),
                _fraction(kr["score"]), _fraction(kr["expected"]), _status(kr["status"]),
                Text(data, style="red" if data else ""),
            )  # fmt: skip
    console.print(table)


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _finite(value):
    """None for NaN and infinities: JSON has no word for them, and a spreadsheet misreads them."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_json(scores: Scores) -> str:
    """Strict JSON (RFC 8259): a non-finite number is null, never NaN or Infinity."""
    rows = [{name: _finite(value) for name, value in kr.items()} for kr in scores.krs]
    return json.dumps(rows, indent=2, allow_nan=False)


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    """A text cell that would start a formula gets a leading single quote, as OWASP advises;
    numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return _finite(value)


def to_csv(scores: Scores) -> str:
    """RFC 4180 CSV: lines end in CRLF, so a cell holding a line break or a lone CR is quoted
    (with LF endings, Python's writer leaves a CR bare and readers split the row there)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, MACHINE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({name: _csv_cell(value) for name, value in kr.items()} for kr in scores.krs)
    return out.getvalue()
