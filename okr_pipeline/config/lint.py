"""The OKR-method lint of `check`: advice that does not stop a run (warnings).

An unknown parent or theme and a cycle in alignment are not here: they make the roll-up of
scores impossible, so load_project reports them as errors.
"""

from __future__ import annotations

from okr_pipeline.config.loader import CycleOkrs, Project
from okr_pipeline.config.models import MeasuredKeyResult, MilestonesKeyResult, Objective
from okr_pipeline.config.problems import ConfigProblem, sorted_problems

MAX_OBJECTIVES_PER_TEAM = 5
MAX_KEY_RESULTS_PER_OBJECTIVE = 5


def lint(project: Project) -> list[ConfigProblem]:
    """Warnings for the pitfalls of DOMAIN.md: diluted focus, no strategy, nobody accountable;
    and secrets written into files, found while loading.

    Sorted and deduplicated like the errors of load_project.
    """
    warnings = list(project.load_warnings)
    checked_in = {checkin.kr_id for checkin in project.checkins if checkin.value is not None}
    for okrs in project.cycles:
        warnings.extend(_too_many_objectives(okrs))
        for objective in okrs.objectives:
            warnings.extend(_objective_warnings(objective, okrs.files[objective.id], checked_in))
    return sorted_problems(warnings)


def _too_many_objectives(okrs: CycleOkrs) -> list[ConfigProblem]:
    """Reported in the file of the team's first objective, the one a reader finds first."""
    by_team: dict[str | None, list[Objective]] = {}
    for objective in okrs.objectives:
        by_team.setdefault(objective.team, []).append(objective)
    return [
        _warn(okrs.files[objectives[0].id], f"team {team or '(none)'}", "objectives",
              f"{len(objectives)} objectives in cycle {okrs.cycle.id}; "
              f"keep to {MAX_OBJECTIVES_PER_TEAM} or fewer to stay focused")
        for team, objectives in by_team.items()
        if len(objectives) > MAX_OBJECTIVES_PER_TEAM
    ]  # fmt: skip


def _objective_warnings(objective: Objective, file: str, checked_in: set[str]) -> list:
    """A key result without its own owner is owned by its objective's owner."""
    warnings = []
    item = f"objective {objective.id}"
    if len(objective.key_results) > MAX_KEY_RESULTS_PER_OBJECTIVE:
        warnings.append(
            _warn(file, item, "key_results", f"{len(objective.key_results)} key results; "
                  f"keep to {MAX_KEY_RESULTS_PER_OBJECTIVE} or fewer")
        )  # fmt: skip
    if not objective.owner:
        warnings.append(_warn(file, item, "owner", "no owner: nobody is accountable"))
    if objective.parent is None and objective.theme is None:
        warnings.append(_warn(file, item, "parent", "aligned to nothing: give a parent or a theme"))
    for kr in objective.key_results:
        kr_item = f"{item} › key result {kr.id}"
        if not kr.owner and not objective.owner:
            warnings.append(_warn(file, kr_item, "owner", "no owner: nobody is accountable"))
        manual = isinstance(kr, MeasuredKeyResult) and kr.metric == "manual"
        if manual and kr.id not in checked_in:
            warnings.append(
                _warn(file, kr_item, "metric",
                      "no measurable target: manual key result with no check-in value")
            )  # fmt: skip
        unmeasured = isinstance(kr, MilestonesKeyResult) and all(
            milestone.done_when is None for milestone in kr.milestones
        )
        if unmeasured:
            warnings.append(
                _warn(file, kr_item, "milestones",
                      "no measurable target: no milestone has `done_when`")
            )  # fmt: skip
    return warnings


def _warn(file: str, item: str, field: str, message: str) -> ConfigProblem:
    return ConfigProblem(file, item, field, message, severity="warning")
