"""Files a project names are the project's own: a relative CSV source `path` and every
check-in file must lie inside the project directory once symlinks are followed. Absolute
paths are the user's explicit choice and stay allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, load_project

BILLING = "metric_sources/billing.yaml"
OUTSIDE = "resolves outside the project directory"


def set_billing_path(root: Path, path: str) -> None:
    source = root / BILLING
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("path: data/billing.csv", f"path: {path}"), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [str(problem) for problem in raised.value.problems]


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A directory beside the project, with a CSV file in it."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    (directory / "billing.csv").write_text("day,mrr\n2026-10-01,100\n", encoding="utf-8")
    return directory


def test_a_csv_path_climbing_out_of_the_project_is_a_problem(project_dir: Path) -> None:
    set_billing_path(project_dir, "../elsewhere/billing.csv")
    assert problems_of(project_dir) == [f"{BILLING}: source billing: path: {OUTSIDE}"]


def test_a_csv_path_through_a_symlink_out_of_the_project_is_a_problem(
    project_dir: Path, elsewhere: Path
) -> None:
    (project_dir / "data").symlink_to(elsewhere, target_is_directory=True)
    assert problems_of(project_dir) == [f"{BILLING}: source billing: path: {OUTSIDE}"]


def test_a_csv_path_with_dot_dot_that_stays_inside_loads(project_dir: Path) -> None:
    set_billing_path(project_dir, "data/../data/billing.csv")
    assert load_project(project_dir).sources["billing"].path == "data/../data/billing.csv"


def test_a_symlink_inside_the_project_is_followed_and_allowed(project_dir: Path) -> None:
    (project_dir / "exports").mkdir()
    (project_dir / "data").symlink_to(project_dir / "exports", target_is_directory=True)
    assert load_project(project_dir).sources["billing"].path == "data/billing.csv"


def test_an_absolute_csv_path_stays_allowed(project_dir: Path, elsewhere: Path) -> None:
    set_billing_path(project_dir, str(elsewhere / "billing.csv"))
    assert load_project(project_dir).sources["billing"].path == str(elsewhere / "billing.csv")


def test_a_csv_path_in_a_symlink_loop_is_a_problem(project_dir: Path) -> None:
    (project_dir / "data").mkdir()
    (project_dir / "data" / "billing.csv").symlink_to("billing.csv")
    assert problems_of(project_dir) == [
        f"{BILLING}: source billing: path: cannot be resolved: a symbolic link loops"
    ]


def test_a_csv_path_with_a_nul_character_is_a_problem(project_dir: Path) -> None:
    set_billing_path(project_dir, '"data/bill\\0ing.csv"')
    assert problems_of(project_dir) == [
        f"{BILLING}: source billing: path: is not a path: it holds a NUL character"
    ]


def test_a_checkin_file_linked_out_of_the_project_is_a_problem(
    project_dir: Path, elsewhere: Path
) -> None:
    (elsewhere / "notes.csv").write_text("kr_id,date,value\nnps,2026-10-08,43\n", encoding="utf-8")
    (project_dir / "checkins" / "shared.csv").symlink_to(elsewhere / "notes.csv")
    assert problems_of(project_dir) == [f"checkins/shared.csv: {OUTSIDE}"]


def test_a_checkins_folder_linked_out_of_the_project_is_a_problem_per_file(
    project_dir: Path, elsewhere: Path
) -> None:
    checkins = project_dir / "checkins"
    (checkins / "2026-q4.csv").rename(elsewhere / "2026-q4.csv")
    checkins.rmdir()
    checkins.symlink_to(elsewhere, target_is_directory=True)
    # elsewhere/ also holds billing.csv: now a file of checkins/ too.
    assert problems_of(project_dir) == [
        f"checkins/2026-q4.csv: {OUTSIDE}",
        f"checkins/billing.csv: {OUTSIDE}",
    ]
