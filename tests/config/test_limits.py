"""What one file can make the pipeline hold is bounded: its bytes, its nesting, and its size
once YAML aliases and ${ENV} values are expanded. Each limit is a problem of `check`, named
by file, item and field, found before anything walks the tree."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, load_project

from .project_files import run_check

EVENTS = "metric_sources/events.yaml"
SIGNUPS_REQUEST = '    request: {path: /events, params: {type: signup, since: "{start}"}}\n'
TOO_LARGE = (
    "too large: more than 20,000,000 values and characters once YAML aliases and ${ENV} "
    "values are expanded"
)


def with_json_body(root: Path, body: str) -> None:
    """Give the events source's `signups` metric a POST request with this `json:` body,
    written as a block under the key `json:`."""
    path = root / EVENTS
    text = path.read_text(encoding="utf-8")
    assert text.count(SIGNUPS_REQUEST) == 1
    request = "    request:\n      path: /events\n      method: POST\n      json:\n" + body
    path.write_text(text.replace(SIGNUPS_REQUEST, request), encoding="utf-8")


def billion_laughs(indent: int) -> str:
    """l0 holds 10 strings, each next level 10 aliases of the one before: l8 stands for
    10**9 strings of 3 characters, 3,000,000,000 in all, written in 9 lines."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 9)]
    return "".join(" " * indent + line + "\n" for line in lines)


def nested_lists(levels: int) -> str:
    return "[" * levels + "]" * levels


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [str(problem) for problem in raised.value.problems]


def test_check_rejects_an_alias_bomb_in_a_json_body_at_once(project_dir: Path) -> None:
    with_json_body(project_dir, billion_laughs(indent=8))

    started = time.monotonic()
    result = run_check(project_dir)
    seconds = time.monotonic() - started

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{EVENTS}: source events › metric signups: request.json: {TOO_LARGE}",
        "1 error(s); nothing was run.",
    ]
    assert seconds < 5  # a fresh process; the count itself takes milliseconds


def test_check_rejects_a_json_body_nested_900_levels(project_dir: Path) -> None:
    with_json_body(project_dir, f"        a: {nested_lists(900)}\n")

    result = run_check(project_dir)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{EVENTS}: source events › metric signups: request.json: nested deeper than 100 levels",
        "1 error(s); nothing was run.",
    ]


def test_nesting_of_100_levels_loads_and_101_does_not(project_dir: Path) -> None:
    # Levels down to the body: the file's mapping 1, metrics 2, the metric 3, request 4,
    # json 5; then 95 lists make 100 levels and 96 make 101.
    with_json_body(project_dir, f"        a: {nested_lists(95)}\n")
    body = load_project(project_dir).sources["events"].metrics[1].request.json_body
    depth = 0
    node = body["a"]
    while node:
        depth, node = depth + 1, node[0]
    assert depth == 94  # the innermost of the 95 lists is empty

    text = (project_dir / EVENTS).read_text(encoding="utf-8")
    (project_dir / EVENTS).write_text(
        text.replace(nested_lists(95), nested_lists(96)), encoding="utf-8"
    )
    assert problems_of(project_dir) == [
        f"{EVENTS}: source events › metric signups: request.json: nested deeper than 100 levels"
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "okr_project.yaml",
            "timezone: Europe/Oslo",
            f"timezone: {nested_lists(900)}",
            "okr_project.yaml: timezone.0: nested deeper than 100 levels",
            id="project-file",
        ),
        pytest.param(
            "okrs/2026-q4.yaml",
            "title: Grow the company",
            f"title: {nested_lists(900)}",
            "okrs/2026-q4.yaml: objective company-growth: title.0: nested deeper than 100 levels",
            id="okr-file",
        ),
        pytest.param(
            "metric_sources/gh.yaml",
            "repo: acme/app",
            f"repo: {{a: {nested_lists(900)}}}",
            "metric_sources/gh.yaml: source gh: repo.a: nested deeper than 100 levels",
            id="source-file",
        ),
    ],
)
def test_deep_nesting_is_a_problem_in_every_kind_of_file(
    project_dir: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = project_dir / file
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert problems_of(project_dir) == [expected]


def test_nesting_through_aliases_is_counted_too(project_dir: Path) -> None:
    """YAML's own parser stops at 1000 written levels; aliases nest without that bound."""
    chain = "n0: &n0 [x]\n" + "".join(f"n{n}: &n{n} [*n{n - 1}]\n" for n in range(1, 1500))
    (project_dir / "okr_project.yaml").write_text(chain + "timezone: *n1499\n", encoding="utf-8")
    # n1499 is the first key at the greatest depth, 1501 levels below the file's mapping.
    assert problems_of(project_dir) == ["okr_project.yaml: n1499.0: nested deeper than 100 levels"]


def test_an_alias_inside_its_own_anchor_is_a_problem(project_dir: Path) -> None:
    """PyYAML builds such a list as a list that contains itself: a tree without an end."""
    (project_dir / "okr_project.yaml").write_text("timezone: &t [UTC, *t]\n", encoding="utf-8")
    assert problems_of(project_dir) == [
        "okr_project.yaml: timezone.1: an alias refers to a node that contains it"
    ]


def test_the_alias_bomb_is_rejected_in_the_project_file(project_dir: Path) -> None:
    (project_dir / "okr_project.yaml").write_text(
        billion_laughs(indent=0) + "timezone: *l8\n", encoding="utf-8"
    )
    # l8 and timezone each stand for 3,000,000,000 characters: neither holds more than half.
    assert problems_of(project_dir) == [f"okr_project.yaml: {TOO_LARGE}"]


def test_a_substituted_string_has_a_length_limit(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_LONG", "x" * 60_000)
    path = project_dir / EVENTS
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("https://api.example.com/v2", "https://${OKR_TEST_LONG}${OKR_TEST_LONG}"),
        encoding="utf-8",
    )
    # len("https://") + 2 * 60,000 = 120,008
    assert problems_of(project_dir) == [
        f"{EVENTS}: source events: base_url: longer than 100,000 characters once its ${{ENV}} "
        "values are substituted (this one has 120,008)"
    ]


def test_env_values_repeated_through_aliases_count_towards_the_size(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_LONG", "x" * 60_000)
    with_json_body(
        project_dir,
        '        s: &s "${OKR_TEST_LONG}"\n'
        f"        l1: &l1 [{', '.join(['*s'] * 10)}]\n"
        f"        l2: &l2 [{', '.join(['*l1'] * 10)}]\n"
        f"        l3: [{', '.join(['*l2'] * 10)}]\n",
    )
    # As written, 1,111 strings of 16 characters ("${OKR_TEST_LONG}"): small. Substituted,
    # l3 alone holds 1,000 * 60,000 = 60,000,000 characters, over 20,000,000.
    assert problems_of(project_dir) == [
        f"{EVENTS}: source events › metric signups: request.json: {TOO_LARGE}"
    ]


def test_a_file_over_10_mb_is_not_read(project_dir: Path) -> None:
    padding = "#" * 1023 + "\n"
    (project_dir / "okr_project.yaml").write_text(
        "timezone: UTC\n" + padding * 10 * 1024, encoding="utf-8"
    )
    # 14 + 10 * 1024 * 1024 bytes: over 10 MB by the first line.
    assert problems_of(project_dir) == ["okr_project.yaml: larger than 10 MB"]
