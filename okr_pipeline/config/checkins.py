"""Manual check-ins (checkins/*.csv): a value for a manual key result, and confidence and a
note for any key result.

One key result has at most one check-in a day: with two, which one counts would depend on
the order the files are read in. A check-in that cannot count (dated outside every cycle of
its key result, or a value for a key result that is not manual) is a warning.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from okr_pipeline.config.models import (
    ISO_DATE,
    Cycle,
    KeyResultBase,
    MeasuredKeyResult,
    MilestonesKeyResult,
)
from okr_pipeline.config.problems import ConfigProblem, did_you_mean
from okr_pipeline.config.reading import outside_project, read_text
from okr_pipeline.config.stored_text import ID_LENGTH, TEXT_LENGTH, text_problem

if TYPE_CHECKING:
    from okr_pipeline.config.loader import CycleOkrs

CHECKIN_COLUMNS = ("kr_id", "date", "value", "confidence", "note")
CHECKIN_HEADER = "kr_id,date,value[,confidence,note]"


@dataclass(frozen=True)
class Checkin:
    """One manual check-in row: a value for a manual KR, and confidence and a note for any KR."""

    kr_id: str
    date: date
    value: float | None
    confidence: float | None
    note: str | None


@dataclass(frozen=True)
class _Row:
    """A check-in and where it was written."""

    file: str
    line: int
    checkin: Checkin


def load_checkins(
    root: Path, cycles: list[CycleOkrs], complete: bool, problems: list, warnings: list
) -> list[Checkin]:
    """Check-in rows of checkins/*.csv. `complete` False (an OKR file could not be read)
    skips the checks against key results, which may live in that file."""
    homes: dict[str, list[tuple[Cycle, KeyResultBase]]] = defaultdict(list)
    for okrs in cycles:
        for objective in okrs.objectives:
            for kr in objective.key_results:
                homes[kr.id].append((okrs.cycle, kr))
    kr_ids = set(homes) if complete else None
    directory = root / "checkins"
    paths = sorted(directory.glob("*.csv")) if directory.is_dir() else []
    rows: list[_Row] = []
    for path in paths:
        if not path.is_file() or path.name.startswith("."):
            continue
        file = path.relative_to(root).as_posix()
        outside = outside_project(root, path)
        if outside:
            problems.append(ConfigProblem(file, "", "", outside))
            continue
        text = read_text(path, file, problems)
        if text is not None:
            rows.extend(_read_checkins(text, file, kr_ids, problems))
    problems.extend(_duplicates(rows))
    if complete:
        warnings.extend(_unused(rows, homes))
    return [row.checkin for row in rows]


def _duplicates(rows: list[_Row]) -> list[ConfigProblem]:
    first: dict[tuple[str, date], _Row] = {}
    problems = []
    for row in rows:
        key = (row.checkin.kr_id, row.checkin.date)
        if key not in first:
            first[key] = row
            continue
        other = first[key]
        where = f"line {other.line}" + (f" of {other.file}" if other.file != row.file else "")
        problems.append(
            ConfigProblem(row.file, f"line {row.line}", "",
                          f"duplicate check-in of {key[0]} on {key[1]}, also on {where}")
        )  # fmt: skip
    return problems


def _unused(rows: list[_Row], homes: dict[str, list[tuple[Cycle, KeyResultBase]]]) -> list:
    """Warnings for what a run would silently ignore."""
    warnings = []
    for row in rows:
        checkin, item = row.checkin, f"line {row.line}"
        cycles = [cycle for cycle, _ in homes[checkin.kr_id]]
        if not any(cycle.start <= checkin.date <= cycle.end for cycle in cycles):
            spans = "; ".join(f"{c.id}: {c.start} .. {c.end}" for c in cycles)
            warnings.append(
                ConfigProblem(row.file, item, "date", f"{checkin.date} is outside every cycle "
                              f"of key result {checkin.kr_id} ({spans})", "warning")
            )  # fmt: skip
        scored_from = [_scored_from(kr) for _, kr in homes[checkin.kr_id]]
        if checkin.value is not None and "manual" not in scored_from:
            warnings.append(
                ConfigProblem(row.file, item, "value", f"not used: key result {checkin.kr_id} "
                              f"is scored from {scored_from[0]}; only a manual key result "
                              "takes its value from check-ins", "warning")
            )  # fmt: skip
    return warnings


def _scored_from(kr: KeyResultBase) -> str:
    if isinstance(kr, MeasuredKeyResult):
        return "manual" if kr.metric == "manual" else f"metric {kr.metric}"
    if isinstance(kr, MilestonesKeyResult):
        return "its milestones"
    return "its child key results"


def _read_checkins(text: str, file: str, kr_ids: set[str] | None, problems: list) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        header = [cell.strip() for cell in next(reader, [])]
        wrong = _header_problem(header)
        if wrong:
            problems.append(ConfigProblem(file, "header", "", wrong))
            return []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            item = f"line {reader.line_num}"
            if len(row) != len(header):
                problems.append(
                    ConfigProblem(file, item, "", f"{len(row)} fields, expected {len(header)} "
                                  f"({','.join(header)})")
                )  # fmt: skip
                continue
            checkin = _parse_checkin(dict(zip(header, row, strict=True)), file, item, kr_ids)
            if isinstance(checkin, Checkin):
                rows.append(_Row(file, reader.line_num, checkin))
            else:
                problems.extend(checkin)
    except csv.Error as error:
        problems.append(ConfigProblem(file, f"line {reader.line_num}", "", f"invalid CSV: {error}"))
    return rows


def _header_problem(header: list[str]) -> str:
    if not header:
        return f"file is empty; expected the header {CHECKIN_HEADER}"
    parts = []
    missing = [column for column in CHECKIN_COLUMNS[:3] if column not in header]
    unknown = [column for column in header if column not in CHECKIN_COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    for word, columns in (("missing", missing), ("unknown", unknown), ("repeated", repeated)):
        if columns:
            plural = "s" if len(columns) > 1 else ""
            parts.append(f"{word} column{plural} {', '.join(map(repr, columns))}")
    return f"{'; '.join(parts)}; expected {CHECKIN_HEADER}" if parts else ""


def _parse_checkin(
    row: dict[str, str], file: str, item: str, kr_ids: set[str] | None
) -> Checkin | list[ConfigProblem]:
    """A check-in, or the problems of its row."""
    problems = []
    kr_id = row["kr_id"].strip()
    kr_id_problem = text_problem(kr_id, ID_LENGTH)
    if not kr_id:
        problems.append(ConfigProblem(file, item, "kr_id", "must not be empty"))
    elif kr_id_problem:
        problems.append(ConfigProblem(file, item, "kr_id", kr_id_problem))
    elif kr_ids is not None and kr_id not in kr_ids:
        problems.append(
            ConfigProblem(file, item, "kr_id", f"unknown key result {kr_id!r}"
                          + did_you_mean(kr_id, kr_ids))
        )  # fmt: skip
    text = row["date"].strip()
    day = None
    if ISO_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            problems.append(ConfigProblem(file, item, "date", f"{text} is not a date: {error}"))
    else:
        problems.append(
            ConfigProblem(file, item, "date", f"expected a date as YYYY-MM-DD, not {text!r}")
        )
    numbers: dict[str, float | None] = {}
    for column in ("value", "confidence"):
        cell = (row.get(column) or "").strip()
        try:
            numbers[column] = _finite_number(cell)
        except ValueError:
            problems.append(ConfigProblem(file, item, column, f"expected a number, not {cell!r}"))
    confidence = numbers.get("confidence")
    if confidence is not None and not 0 <= confidence <= 1:
        problems.append(ConfigProblem(file, item, "confidence", "must be between 0 and 1"))
    note = (row.get("note") or "").strip()
    note_problem = text_problem(note, TEXT_LENGTH)
    if note_problem:
        problems.append(ConfigProblem(file, item, "note", note_problem))
    if problems or day is None:
        return problems
    return Checkin(kr_id, day, numbers["value"], confidence, note or None)


def _finite_number(cell: str) -> float | None:
    """An empty cell is no value; `nan` and `inf` are not numbers a check-in can hold."""
    if not cell:
        return None
    number = float(cell)
    if not math.isfinite(number):
        raise ValueError(cell)
    return number
