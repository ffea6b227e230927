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

from okr_pipeline.formatting import format_number, format_score, is_number
from okr_pipeline.warehouse_errors import NO_SCORES, WarehouseError, not_scored, unreachable

STATUS_STYLES = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "missed": "bold red",
    "no_data": "dim",
    "not_started": "dim",
}
KR_COLUMNS = [
    "as_of", "cycle_id", "objective_id", "kr_id", "title", "owner", "team", "current_value",
    "target", "min", "max", "score", "expected", "status", "data_status", "data_message",
    "checkin_due",
]  # fmt: skip
OBJECTIVE_COLUMNS = [
    "cycle_id", "objective_id", "team", "score", "expected", "status", "status_reason",
]  # fmt: skip
FLAGS = {"checkin_due"}
# One row per key result for machines, with why its objective has its status.
MACHINE_COLUMNS = [*KR_COLUMNS, "objective_status", "objective_status_reason"]
# Reasons worth a line of the scoreboard: why an objective is not on track.
EXPLAINED = ("missed", "off_track", "at_risk", "no_data")
Row = dict[str, Any]


class NothingToShow(WarehouseError):
    """The filter matches no key result; the message lists what would."""


@dataclass
class Scores:
    """One as-of date of `kr_scores` and `objective_scores`, in primary-key order."""

    as_of: str
    krs: list[Row]
    objectives: list[Row]

    def only(self, team: str | None, owner: str | None) -> Scores:
        """The key results of a team and/or owner; NothingToShow, listing the teams or
        owners there are, when none matches."""
        krs = [
            kr
            for kr in self.krs
            if (not team or kr["team"] == team) and (not owner or kr["owner"] == owner)
        ]
        if not krs and (team or owner):
            wanted = " and ".join(
                f"{word} {name}" for word, name in (("team", team), ("owner", owner)) if name
            )
            known = [
                f"{word}s: {', '.join(sorted({kr[word] for kr in self.krs if kr[word]}))}"
                for word, name in (("team", team), ("owner", owner))
                if name
            ]
            raise NothingToShow(
                f"no key results of {wanted} as of {self.as_of}; {'; '.join(known)}"
            )
        return Scores(self.as_of, krs, self.objectives)

    def machine_rows(self) -> list[Row]:
        objectives = {(o["cycle_id"], o["objective_id"]): o for o in self.objectives}
        rows = []
        for kr in self.krs:
            objective = objectives.get((kr["cycle_id"], kr["objective_id"]), {})
            rows.append(
                {
                    **kr,
                    "objective_status": objective.get("status"),
                    "objective_status_reason": objective.get("status_reason"),
                }
            )
        return rows


def read_scores(url: str, as_of: date | None) -> Scores:
    """The scores of `as_of` (default: the latest scored); a WarehouseError when there are
    none, the warehouse cannot be read, or `as_of` was never scored."""
    connection = _connect(url)
    with closing(connection):
        try:
            _check_columns(connection, url)
        except Exception:  # each driver has its own error classes: no table, not a database
            _explain(url)
            raise
        first, last = _scored_range(connection)
        if last is None:
            raise WarehouseError(NO_SCORES)
        day = as_of.isoformat() if as_of else last
        # `day` is a date's ISO text, never user text: inlined, so one SQL fits every driver
        krs = _rows(connection, "kr_scores", KR_COLUMNS, day, "cycle_id, kr_id")
        objectives = _rows(
            connection, "objective_scores", OBJECTIVE_COLUMNS, day, "cycle_id, objective_id"
        )
    if not krs and not objectives:
        raise not_scored(day, first, last)
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
    for table, columns in (("kr_scores", KR_COLUMNS), ("objective_scores", OBJECTIVE_COLUMNS)):
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


def _scored_range(connection) -> tuple[str | None, str | None]:
    """The first and the last as-of date scored, as ISO text (None, None for none)."""
    with closing(connection.cursor()) as cursor:
        cursor.execute("SELECT min(as_of), max(as_of) FROM kr_scores")
        first, last = cursor.fetchone()
    return (None, None) if last is None else (str(first), str(last))


def _rows(connection, table: str, columns: list[str], day: str, order: str) -> list[Row]:
    with closing(connection.cursor()) as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE as_of = '{day}' ORDER BY {order}"
        )
        rows = cursor.fetchall()
    return [
        {name: _plain(name, value) for name, value in zip(columns, row, strict=True)}
        for row in rows
    ]


def _plain(column: str, value):
    """The same value from every backend: the date as ISO text, a flag as a bool (SQLite
    stores 0 and 1)."""
    if column == "as_of":
        return str(value)
    if column in FLAGS and value is not None:
        return bool(value)
    return value


def _target(kr: Row) -> str:
    """The target, or a stay_between's band (it has no target): 76–82."""
    if is_number(kr["target"]) or not (is_number(kr["min"]) and is_number(kr["max"])):
        return format_number(kr["target"])
    return f"{format_number(kr['min'])}–{format_number(kr['max'])}"


def _score(row: Row) -> str:
    """A key result with no data has no score to show, whatever progress 0 stored."""
    return "–" if row["status"] == "no_data" else format_score(row["score"])


# Wide enough for any row: ids of 100 characters and a reason of 500.
UNBOUNDED_WIDTH = 1000


def render(scores: Scores, filtered: bool = False, out: TextIO | None = None) -> None:
    """Per cycle, each objective with its roll-up, then its key results; below the table,
    why each objective that is not on track has its status. On a terminal it fits the
    window (long ids end in …) in colour; anywhere else (a pipe, a CI log) every id and
    reason is printed whole, on one line.

    With a team or owner filter, objectives with none of the shown key results are left out.
    """
    stream = out or sys.stdout
    terminal = stream.isatty()
    console = Console(file=stream, width=None if terminal else UNBOUNDED_WIDTH)
    overflow = "ellipsis" if terminal else "ignore"

    def label(text: str, style: str = "") -> Text:
        return Text(text, style=style, no_wrap=True, overflow=overflow)

    table = Table(
        title=f"OKR scoreboard as of {scores.as_of}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("objective / key result", ratio=1 if terminal else None, min_width=20)
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
    shown = []
    for objective in ordered:
        own = krs_of.get((objective["cycle_id"], objective["objective_id"]), [])
        if not own and filtered:
            continue
        shown.append(objective)
        if objective["cycle_id"] != cycle:
            cycle = objective["cycle_id"]
            table.add_row(Text(f"cycle {cycle}", style="bold underline"), end_section=False)
        table.add_row(
            label(objective["objective_id"], "bold"),
            "", "", format_score(objective["score"]), format_score(objective["expected"]),
            _status(objective["status"]),
        )  # fmt: skip
        for kr in own:
            data = "" if kr["data_status"] == "ok" else kr["data_status"]
            table.add_row(
                label(f"  {kr['kr_id']}"),
                format_number(kr["current_value"]), _target(kr),
                _score(kr), format_score(kr["expected"]), _status(kr["status"]),
                Text(data, style="red" if data else ""),
            )  # fmt: skip
    console.print(table)
    reasons = [
        (o["objective_id"], o["status_reason"])
        for o in ordered
        if o["status"] in EXPLAINED and o["status_reason"] and o in shown
    ]
    for objective_id, reason in reasons:
        console.print(Text.assemble(("why ", "dim"), (objective_id, "bold"), f": {reason}"),
                      overflow="fold" if terminal else "ignore", crop=terminal)  # fmt: skip


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def _finite(value):
    """None for NaN and infinities: JSON has no word for them, and a spreadsheet misreads them."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_json(scores: Scores) -> str:
    """Strict JSON (RFC 8259): a non-finite number is null, never NaN or Infinity."""
    rows = [{name: _finite(value) for name, value in row.items()} for row in scores.machine_rows()]
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
    writer.writerows(
        {name: _csv_cell(value) for name, value in row.items()} for row in scores.machine_rows()
    )
    return out.getvalue()
