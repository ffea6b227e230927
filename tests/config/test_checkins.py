"""Check-ins that would count twice are errors; check-ins a run would ignore are warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, lint, load_project

CHECKINS = "checkins/2026-q4.csv"
HEADER = "kr_id,date,value,confidence,note\n"


def write_checkins(root: Path, rows: str, file: str = CHECKINS) -> None:
    (root / file).write_text(HEADER + rows, encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [str(problem) for problem in raised.value.problems]


def checkin_warnings(root: Path) -> list[str]:
    """The warnings about check-in files (lint also warns of a manual KR with no value)."""
    return [str(w) for w in lint(load_project(root)) if w.file.startswith("checkins/")]


def test_two_checkins_of_one_kr_on_one_day_name_both_lines(project_dir: Path) -> None:
    write_checkins(
        project_dir,
        "nps,2026-10-07,42,0.8,survey\nnps,2026-10-14,44,,\nnps,2026-10-07,41,,typo\n",
    )
    assert problems_of(project_dir) == [
        f"{CHECKINS}: line 4: duplicate check-in of nps on 2026-10-07, also on line 2"
    ]


def test_a_duplicate_in_another_file_names_that_file(project_dir: Path) -> None:
    write_checkins(project_dir, "nps,2026-10-07,42,0.8,survey\n")
    write_checkins(
        project_dir, "status-page,2026-10-10,1,,\nnps,2026-10-07,40,,\n", "checkins/z.csv"
    )
    # Files are read in name order: checkins/2026-q4.csv first.
    assert problems_of(project_dir) == [
        "checkins/z.csv: line 3: duplicate check-in of nps on 2026-10-07, "
        f"also on line 2 of {CHECKINS}"
    ]


def test_the_same_day_for_two_krs_is_no_duplicate(project_dir: Path) -> None:
    write_checkins(project_dir, "nps,2026-10-07,42,,\nstatus-page,2026-10-07,1,,\n")
    assert [(c.kr_id, c.value) for c in load_project(project_dir).checkins] == [
        ("nps", 42.0),
        ("status-page", 1.0),
    ]


def test_a_checkin_outside_every_cycle_of_its_kr_is_a_warning(project_dir: Path) -> None:
    # The cycle is 2026-10-01 .. 2026-12-31: both ends count, the days beyond do not.
    write_checkins(
        project_dir,
        "nps,2026-09-30,40,,\nnps,2026-10-01,41,,\nnps,2026-12-31,43,,\nnps,2027-01-01,44,,\n",
    )
    outside = "is outside every cycle of key result nps (2026-Q4: 2026-10-01 .. 2026-12-31)"
    assert checkin_warnings(project_dir) == [
        f"{CHECKINS}: line 2: date: 2026-09-30 {outside}",
        f"{CHECKINS}: line 5: date: 2027-01-01 {outside}",
    ]


def test_a_checkin_inside_another_cycle_holding_the_kr_is_no_warning(project_dir: Path) -> None:
    (project_dir / "okrs" / "2027-q1.yaml").write_text(
        "cycle: {id: 2027-Q1, start: 2027-01-01, end: 2027-03-31}\n"
        "objectives:\n  - id: delight\n    title: Delight customers\n    owner: ana@example.com\n"
        "    parent: null\n    key_results:\n"
        "      - {id: nps, title: NPS above 45, metric: manual, type: stay_above, target: 45}\n",
        encoding="utf-8",
    )
    write_checkins(project_dir, "nps,2027-01-15,44,,\nnps,2027-04-01,46,,\n")
    assert checkin_warnings(project_dir) == [
        f"{CHECKINS}: line 3: date: 2027-04-01 is outside every cycle of key result nps "
        "(2026-Q4: 2026-10-01 .. 2026-12-31; 2027-Q1: 2027-01-01 .. 2027-03-31)"
    ]


def test_a_value_for_a_kr_that_is_not_manual_is_a_warning(project_dir: Path) -> None:
    write_checkins(
        project_dir,
        "mrr,2026-10-07,120000,0.7,on pace\nmrr,2026-10-14,,0.8,confidence only\n"
        "launch,2026-10-07,1,,\nrevenue,2026-10-07,0.5,,\nnps,2026-10-07,42,,\n",
    )
    only = "only a manual key result takes its value from check-ins"
    assert checkin_warnings(project_dir) == [
        f"{CHECKINS}: line 2: value: not used: key result mrr is scored from metric "
        f"billing.mrr; {only}",
        f"{CHECKINS}: line 4: value: not used: key result launch is scored from its "
        f"milestones; {only}",
        f"{CHECKINS}: line 5: value: not used: key result revenue is scored from its child "
        f"key results; {only}",
    ]
