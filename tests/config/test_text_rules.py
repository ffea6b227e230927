"""Text a project writes is stored as written, so `check` bounds it: ids, names, owners,
teams, themes and units up to 100 characters, titles, descriptions and notes up to 500, and
no control characters (PostgreSQL cannot store NUL; an escape sequence reaches a terminal).
Whatever a problem quotes back is inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from okr_pipeline.config import load_project

from .project_files import edit, problems_of, run_check

Q4 = "okrs/2026-q4.yaml"
PLATFORM = "okrs/2026-q4-platform.yaml"
CHECKINS = "checkins/2026-q4.csv"
GROW = "objective grow-self-serve"


def long_id(length: int) -> str:
    return "x" * length


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            [(Q4, "id: 2026-Q4,", f"id: {long_id(101)},"), (PLATFORM, "id: 2026-Q4,", "id: Q,")],
            [f"{Q4}: cycle: id: at most 100 characters (this one has 101)"],
            id="cycle-id",
        ),
        pytest.param(
            [(Q4, "id: grow-self-serve", f"id: {long_id(140)}")],
            [f"{Q4}: objective {long_id(140)}: id: at most 100 characters (this one has 140)"],
            id="objective-id",
        ),
        pytest.param(
            [(Q4, "id: active", f"id: {long_id(101)}")],
            [
                f"{Q4}: {GROW} › key result {long_id(101)}: id: "
                "at most 100 characters (this one has 101)"
            ],
            id="key-result-id",
        ),
        pytest.param(
            [("metric_sources/gh.yaml", "name: gh", f"name: {long_id(101)}")],
            # The milestone's gh.stars is unknown: no source is called gh any more.
            [
                f"metric_sources/gh.yaml: source {long_id(101)}: name: "
                "at most 100 characters (this one has 101)",
                f"{Q4}: {GROW} › key result launch › milestone live: done_when: "
                "unknown metric 'gh.stars'",
            ],
            id="source-name",
        ),
        pytest.param(
            [("metric_sources/app_db.yaml", "name: active_users", f"name: {long_id(101)}")],
            [
                f"metric_sources/app_db.yaml: source app_db › metric {long_id(101)}: name: "
                "at most 100 characters (this one has 101)"
            ],
            id="metric-name",
        ),
        pytest.param(
            [(Q4, "themes: [self-serve,", f"themes: [{long_id(101)}, self-serve,")],
            [f"{Q4}: themes.0: at most 100 characters (this one has 101)"],
            id="theme",
        ),
        pytest.param(
            [(Q4, "team: growth", f"team: {long_id(101)}")],
            [f"{Q4}: {GROW}: team: at most 100 characters (this one has 101)"],
            id="team",
        ),
        pytest.param(
            [(Q4, "owner: ana@example.com", f"owner: {long_id(90)}@example.com")],
            # 90 + len("@example.com") = 102
            [f"{Q4}: {GROW}: owner: at most 100 characters (this one has 102)"],
            id="owner",
        ),
        pytest.param(
            [(Q4, "team: growth\n", f"team: growth\n    stakeholders: [cfo, {long_id(101)}]\n")],
            [f"{Q4}: {GROW}: stakeholders.1: at most 100 characters (this one has 101)"],
            id="stakeholder",
        ),
        pytest.param(
            [("metric_sources/billing.yaml", "unit: EUR", f"unit: {long_id(101)}")],
            [
                "metric_sources/billing.yaml: source billing › metric mrr: unit: "
                "at most 100 characters (this one has 101)"
            ],
            id="unit",
        ),
        pytest.param(
            [(Q4, "title: Grow self-serve revenue", f"title: {long_id(501)}")],
            [f"{Q4}: {GROW}: title: at most 500 characters (this one has 501)"],
            id="title",
        ),
        pytest.param(
            [
                (
                    "metric_sources/billing.yaml",
                    "unit: EUR",
                    f"unit: EUR\n    description: {'d' * 600}",
                )
            ],
            [
                "metric_sources/billing.yaml: source billing › metric mrr: description: "
                "at most 500 characters (this one has 600)"
            ],
            id="description",
        ),
        pytest.param(
            [(CHECKINS, "survey of 120 customers", "n" * 501)],
            [f"{CHECKINS}: line 2: note: at most 500 characters (this one has 501)"],
            id="checkin-note",
        ),
    ],
)
def test_text_longer_than_its_limit_is_a_problem(
    project_dir: Path, edits: list[tuple[str, str, str]], expected: list[str]
) -> None:
    for file, old, new in edits:
        edit(project_dir, file, old, new)
    assert problems_of(project_dir) == expected


def test_text_at_its_limit_is_kept_as_written(project_dir: Path) -> None:
    owner = long_id(88) + "@example.com"  # 88 + 12 = 100
    edit(project_dir, Q4, "owner: ana@example.com", f"owner: {owner}")
    edit(project_dir, Q4, "title: Grow self-serve revenue", f"title: {'t' * 500}")
    edit(project_dir, Q4, "id: grow-self-serve", f"id: {long_id(100)}")
    edit(project_dir, CHECKINS, "survey of 120 customers", "n" * 500)
    project = load_project(project_dir)
    objective = project.cycles[0].objectives[2]
    assert (objective.id, objective.owner, objective.title) == (long_id(100), owner, "t" * 500)
    assert project.checkins[0].note == "n" * 500


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            Q4,
            "title: Grow self-serve revenue",
            r'title: "Grow \e[31mself-serve"',
            f"{Q4}: {GROW}: title: contains a control character (U+001B)",
            id="escape-in-a-title",
        ),
        pytest.param(
            Q4,
            "owner: ana@example.com",
            r'owner: "ana\0@example.com"',
            f"{Q4}: {GROW}: owner: contains a control character (U+0000)",
            id="nul-in-an-owner",
        ),
        pytest.param(
            "metric_sources/billing.yaml",
            "unit: EUR",
            r'unit: "EUR\x85"',
            "metric_sources/billing.yaml: source billing › metric mrr: unit: "
            "contains a control character (U+0085)",
            id="c1-in-a-unit",
        ),
        pytest.param(
            Q4,
            "team: growth",
            r'team: "grow\x7fth"',
            f"{Q4}: {GROW}: team: contains a control character (U+007F)",
            id="del-in-a-team",
        ),
        pytest.param(
            Q4,
            "title: Grow self-serve revenue",
            r'title: "Grow\tself-serve"',
            f"{Q4}: {GROW}: title: contains a control character (U+0009)",
            id="tab-in-a-title",
        ),
        pytest.param(
            Q4,
            "children: [mrr, launch]",
            r'children: [mrr, "launch\e"]',
            f"{Q4}: {GROW} › key result revenue: children.1: contains a control character (U+001B)",
            id="escape-in-a-reference",
        ),
        pytest.param(
            CHECKINS,
            "survey of 120 customers",
            "survey\x1b[2J of 120",
            f"{CHECKINS}: line 2: note: contains a control character (U+001B)",
            id="escape-in-a-checkin-note",
        ),
        pytest.param(
            CHECKINS,
            "nps,2026-10-07",
            "nps\x00,2026-10-07",
            f"{CHECKINS}: line 2: kr_id: contains a control character (U+0000)",
            id="nul-in-a-checkin-kr-id",
        ),
    ],
)
def test_a_control_character_is_a_problem_naming_the_field(
    project_dir: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(project_dir, file, old, new)
    assert problems_of(project_dir) == [expected]


def test_a_description_may_hold_line_breaks_and_tabs(project_dir: Path) -> None:
    edit(
        project_dir,
        "metric_sources/billing.yaml",
        "unit: EUR",
        "unit: EUR\n    description: |\n      Monthly recurring revenue,\n      \tin euros.",
    )
    metric = load_project(project_dir).sources["billing"].metrics[0]
    assert metric.description == "Monthly recurring revenue,\n\tin euros.\n"


def test_check_never_prints_a_control_character(project_dir: Path) -> None:
    """An id with an escape sequence is quoted back in the item name: without it, as text."""
    edit(project_dir, Q4, "id: mrr", r'id: "mrr\e]0;owned\a"')
    edit(project_dir, Q4, "themes: [self-serve,", r'themes: ["self\e[8m-serve",')
    result = run_check(project_dir)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{Q4}: themes.0: contains a control character (U+001B)",
        f"{Q4}: {GROW} › key result mrr]0;owned: id: "
        "use letters, digits, _, . and -, starting with a letter or digit",
        "2 error(s); nothing was run.",
    ]
    assert not any(character < " " for character in result.stderr.replace("\n", ""))
