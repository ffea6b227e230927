"""The OKR-method lint of SPEC section 6: advice that does not stop a run (warnings)."""

from __future__ import annotations

from collections import Counter

from okr_pipeline.config.loader import Project
from okr_pipeline.config.models import MeasuredKeyResult, MilestonesKeyResult
from okr_pipeline.config.problems import ConfigProblem

MAX_OBJECTIVES_PER_TEAM = 5
MAX_KEY_RESULTS_PER_OBJECTIVE = 5


def lint(project: Project) -> list[ConfigProblem]:
    """Warnings for the pitfalls of DOMAIN.md: diluted focus, no strategy, nobody accountable."""
    warnings = []
    checked_in = {checkin.kr_id for checkin in project.checkins if checkin.value is not None}
    for okrs in project.cycles:
        cycle_id = okrs.cycle.id
        per_team = Counter(objective.team for objective in okrs.objectives)
        for team, count in sorted(per_team.items(), key=lambda pair: str(pair[0])):
            if count > MAX_OBJECTIVES_PER_TEAM:
                warnings.append(
                    _warn(okrs.files[_first(okrs, team)], f"team {team or '(none)'}", "objectives",
                          f"{count} objectives in cycle {cycle_id}; "
                          f"keep to {MAX_OBJECTIVES_PER_TEAM} or fewer to stay focused")
                )  # fmt: skip
        for objective in okrs.objectives:
            file = okrs.files[objective.id]
            item = f"objective {objective.id}"
            if len(objective.key_results) > MAX_KEY_RESULTS_PER_OBJECTIVE:
                warnings.append(
                    _warn(file, item, "key_results",
                          f"{len(objective.key_results)} key results; "
                          f"keep to {MAX_KEY_RESULTS_PER_OBJECTIVE} or fewer")
                )  # fmt: skip
            if not objective.owner:
                warnings.append(_warn(file, item, "owner", "no owner: nobody is accountable"))
            if objective.parent is None and objective.theme is None:
                warnings.append(
                    _warn(file, item, "parent", "aligned to nothing: give a parent or a theme")
                )
            for kr in objective.key_results:
                kr_item = f"{item} › key result {kr.id}"
                if not kr.owner and not objective.owner:
                    warnings.append(
                        _warn(file, kr_item, "owner", "no owner: nobody is accountable")
                    )
                if isinstance(kr, MeasuredKeyResult) and kr.metric == "manual":
                    if kr.id not in checked_in:
                        warnings.append(
                            _warn(file, kr_item, "metric",
                                  "no measurable target: manual key result with no check-in value")
                        )  # fmt: skip
                if isinstance(kr, MilestonesKeyResult):
                    if all(m.done_when is None for m in kr.milestones):
                        warnings.append(
                            _warn(file, kr_item, "milestones",
                                  "no measurable target: no milestone has `done_when`")
                        )  # fmt: skip
    return warnings


def _first(okrs, team) -> str:
    return next(o.id for o in okrs.objectives if o.team == team)


def _warn(file: str, item: str, field: str, message: str) -> ConfigProblem:
    return ConfigProblem(file, item, field, message, severity="warning")
