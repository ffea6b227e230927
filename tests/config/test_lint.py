"""The OKR-method lint of `okr-pipeline check`: warnings that do not stop a run.

A parent or theme that does not exist and a cycle in alignment are listed with the lint
too, but they make the roll-up of scores impossible, so load_project reports them as errors
(see test_broken_files.py: unknown-parent, unknown-theme, alignment-cycle), never lint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, lint, load_project

Q4 = "okrs/2026-q4.yaml"
PLATFORM = "okrs/2026-q4-platform.yaml"


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def growth_objective(number: int) -> str:
    return (
        f"  - id: growth-{number}\n    title: Growth bet {number}\n    owner: ana@example.com\n"
        "    team: growth\n    parent: company-growth\n    key_results:\n"
        f"      - {{id: bet-{number}, title: Bet {number}, metric: billing.mrr, "
        "type: stay_above, target: 1}\n"
    )


def extra_kr(number: int) -> str:
    return (
        f"      - {{id: extra-{number}, title: Extra {number}, metric: app_db.signups, "
        "type: stay_above, target: 1}\n"
    )


def append(file: str, text: str):
    def change(root: Path) -> None:
        with (root / file).open("a", encoding="utf-8") as handle:
            handle.write(text)

    return change


def replace(file: str, old: str, new: str):
    return lambda root: edit(root, file, old, new)


CASES = [
    pytest.param(
        [append(Q4, "".join(growth_objective(n) for n in range(1, 6)))],
        # grow-self-serve and growth-1..5: 6 objectives of team growth.
        [
            f"{Q4}: team growth: objectives: 6 objectives in cycle 2026-Q4; "
            "keep to 5 or fewer to stay focused"
        ],
        id="more-than-5-objectives-per-team",
    ),
    pytest.param(
        [append(Q4, "".join(growth_objective(n) for n in range(1, 5)))],
        [],
        id="5-objectives-per-team-is-fine",
    ),
    pytest.param(
        [
            replace(
                Q4,
                "        children: [mrr, launch]\n",
                "        children: [mrr, launch]\n" + extra_kr(1),
            )
        ],
        [f"{Q4}: objective grow-self-serve: key_results: 6 key results; keep to 5 or fewer"],
        id="more-than-5-key-results-per-objective",
    ),
    pytest.param(
        [replace("checkins/2026-q4.csv", "nps,2026-10-07,42,", "nps,2026-10-07,,")],
        # A check-in with only a confidence does not measure anything.
        [
            f"{Q4}: objective grow-self-serve › key result nps: metric: "
            "no measurable target: manual key result with no check-in value"
        ],
        id="manual-kr-without-check-in-value",
    ),
    pytest.param(
        [replace(Q4, 'done_when: "gh.stars >= 100"', "done: false")],
        [
            f"{Q4}: objective grow-self-serve › key result launch: milestones: "
            "no measurable target: no milestone has `done_when`"
        ],
        id="milestones-without-done-when",
    ),
    pytest.param(
        [replace(PLATFORM, "    owner: bo@example.com\n", "")],
        # Its key results have no owner of their own either: nobody is accountable for them.
        [
            f"{PLATFORM}: objective reliable-platform: owner: no owner: nobody is accountable",
            f"{PLATFORM}: objective reliable-platform › key result open-tickets: owner: "
            "no owner: nobody is accountable",
            f"{PLATFORM}: objective reliable-platform › key result status-page: owner: "
            "no owner: nobody is accountable",
        ],
        id="objective-without-owner",
    ),
    pytest.param(
        [
            replace(PLATFORM, "    owner: bo@example.com\n", ""),
            replace(
                PLATFORM,
                "        type: stay_below\n",
                "        type: stay_below\n        owner: cy@example.com\n",
            ),
        ],
        [
            f"{PLATFORM}: objective reliable-platform: owner: no owner: nobody is accountable",
            f"{PLATFORM}: objective reliable-platform › key result status-page: owner: "
            "no owner: nobody is accountable",
        ],
        id="kr-without-owner-under-an-objective-without-owner",
    ),
    pytest.param(
        [replace(PLATFORM, "    theme: reliability\n", "")],
        [
            f"{PLATFORM}: objective reliable-platform: parent: "
            "aligned to nothing: give a parent or a theme"
        ],
        id="objective-aligned-to-nothing",
    ),
    pytest.param(
        [
            replace(
                PLATFORM,
                "    theme: reliability\n    key_results:\n",
                "    key_results:\n" + "".join(extra_kr(n) for n in range(1, 5)),
            ),
            replace(PLATFORM, "    owner: bo@example.com\n", ""),
        ],
        [
            f"{PLATFORM}: objective reliable-platform: key_results: 6 key results; "
            "keep to 5 or fewer",
            f"{PLATFORM}: objective reliable-platform: owner: no owner: nobody is accountable",
            f"{PLATFORM}: objective reliable-platform: parent: "
            "aligned to nothing: give a parent or a theme",
            *(
                f"{PLATFORM}: objective reliable-platform › key result {kr}: owner: "
                "no owner: nobody is accountable"
                for kr in (
                    "extra-1",
                    "extra-2",
                    "extra-3",
                    "extra-4",
                    "open-tickets",
                    "status-page",
                )
            ),
        ],
        id="several-warnings-sorted",
    ),
]


def test_clean_project_has_no_warnings(project_dir: Path) -> None:
    assert lint(load_project(project_dir)) == []


@pytest.mark.parametrize(("changes", "expected"), CASES)
def test_lint_warning(project_dir: Path, changes: list, expected: list[str]) -> None:
    for change in changes:
        change(project_dir)
    warnings = lint(load_project(project_dir))
    assert [str(warning) for warning in warnings] == expected
    assert {warning.severity for warning in warnings} <= {"warning"}


def test_unknown_theme_is_an_error_not_a_warning(project_dir: Path) -> None:
    edit(project_dir, PLATFORM, "theme: reliability", "theme: uptime")
    with pytest.raises(ConfigError) as raised:
        load_project(project_dir)
    assert [(p.severity, p.field) for p in raised.value.problems] == [("error", "theme")]
