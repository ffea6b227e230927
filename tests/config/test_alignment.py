"""The alignment tree has a depth limit: a chain of parents deeper than 20 objectives is a
problem of `check`, reported once per chain at its deepest objective."""

from __future__ import annotations

from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, load_project

CHAIN = "okrs/2027-q1-chain.yaml"


def objective(number: int, parent: str | None) -> str:
    aligned = f"parent: {parent}" if parent else "theme: growth"
    return (
        f"  - id: o{number}\n    title: Objective {number}\n    owner: ana@example.com\n"
        f"    {aligned}\n    key_results:\n"
        f"      - {{id: k{number}, title: KR {number}, metric: manual, type: boolean}}\n"
    )


def write_cycle(root: Path, objectives: list[tuple[int, str | None]]) -> None:
    """A cycle of its own, beside the valid project's, holding these (number, parent)s."""
    text = "cycle: {id: 2027-Q1, start: 2027-01-01, end: 2027-03-31}\nthemes: [growth]\n"
    text += "objectives:\n" + "".join(objective(number, parent) for number, parent in objectives)
    (root / CHAIN).write_text(text, encoding="utf-8")


def chain(length: int) -> list[tuple[int, str | None]]:
    """o0 at the top, each next objective aligned to the one before."""
    return [(0, None)] + [(number, f"o{number - 1}") for number in range(1, length)]


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [str(problem) for problem in raised.value.problems]


def test_a_chain_of_400_objectives_is_one_problem_at_its_deepest(project_dir: Path) -> None:
    write_cycle(project_dir, chain(400))
    # o0 is level 1, so o399 is level 400.
    assert problems_of(project_dir) == [
        f"{CHAIN}: objective o399: parent: aligned 400 levels deep, from o399 up to o0; "
        "keep alignment within 20 levels"
    ]


def test_20_levels_load_and_21_do_not(project_dir: Path) -> None:
    write_cycle(project_dir, chain(20))
    cycle = next(c for c in load_project(project_dir).cycles if c.cycle.id == "2027-Q1")
    assert len(cycle.objectives) == 20

    write_cycle(project_dir, chain(21))
    assert problems_of(project_dir) == [
        f"{CHAIN}: objective o20: parent: aligned 21 levels deep, from o20 up to o0; "
        "keep alignment within 20 levels"
    ]


def test_each_branch_too_deep_is_named(project_dir: Path) -> None:
    # o0 .. o21 is a chain of 22; o100 hangs below o20 (level 22), o101 below o5 (level 7).
    write_cycle(project_dir, [*chain(22), (100, "o20"), (101, "o5")])
    assert problems_of(project_dir) == [
        f"{CHAIN}: objective o21: parent: aligned 22 levels deep, from o21 up to o0; "
        "keep alignment within 20 levels",
        f"{CHAIN}: objective o100: parent: aligned 22 levels deep, from o100 up to o0; "
        "keep alignment within 20 levels",
    ]


def test_a_long_chain_below_an_alignment_cycle_is_only_the_cycle(project_dir: Path) -> None:
    # o0 and o1 name each other; o2 .. o29 hang below o1, with no top to count from.
    objectives = [(0, "o1"), (1, "o0")] + [(number, f"o{number - 1}") for number in range(2, 30)]
    write_cycle(project_dir, objectives)
    assert problems_of(project_dir) == [
        f"{CHAIN}: objective o0: parent: alignment cycle: o0 → o1 → o0"
    ]
