"""References between files and items, checked before any run: metrics named by key results,
parents and themes of objectives, rollup children, and the alignment tree they make.

A reference is only reported unknown when every file it could point into was read: a broken
file is reported once, not again through each reference into it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from okr_pipeline.config.models import (
    Cycle,
    DecreaseKeyResult,
    IncreaseKeyResult,
    MeasuredKeyResult,
    MilestonesKeyResult,
    Objective,
    OkrFile,
    RollupKeyResult,
)
from okr_pipeline.config.problems import ConfigProblem, did_you_mean

MAX_ALIGNMENT_DEPTH = 20  # levels of objectives, the top one counted as 1

if TYPE_CHECKING:
    from okr_pipeline.config.loader import CycleOkrs


@dataclass
class MetricCatalog:
    """The metric ids a key result may name, and the sources whose files could not be read."""

    known: set[str] = field(default_factory=set)
    broken_sources: set[str] = field(default_factory=set)
    unnamed_broken_source: bool = False

    def is_unknown(self, metric_id: str) -> bool:
        if metric_id in self.known or self.unnamed_broken_source:
            return False
        return metric_id.split(".", 1)[0] not in self.broken_sources


def cycle_differences(cycle_id: str, documents: list[tuple[str, OkrFile]]) -> list:
    """Files of one cycle id must agree on its dates and settings, field by field."""
    first_file, first = documents[0]
    problems = []
    for file, document in documents[1:]:
        for name in Cycle.model_fields:
            theirs, mine = getattr(first.cycle, name), getattr(document.cycle, name)
            if mine != theirs:
                problems.append(
                    ConfigProblem(file, "cycle", name, f"{mine} differs from {theirs} in "
                                  f"{first_file}, the same cycle {cycle_id}")
                )  # fmt: skip
    return problems


def cross_check_cycle(
    okrs: CycleOkrs, documents: list, catalog: MetricCatalog, complete: bool
) -> list[ConfigProblem]:
    """References between objectives and key results of one cycle, checked before any run.

    An unknown parent or theme and a cycle in alignment are errors, not lint warnings: the
    roll-up of scores along the alignment tree cannot be computed with them.
    """
    problems = []
    cycle = okrs.cycle
    objective_files: dict[str, str] = {}
    kr_homes: dict[str, tuple[str, str]] = {}  # key result id -> (objective id, file)
    for file, document in documents:
        for objective in document.objectives:
            item = f"objective {objective.id}"
            if objective.id in objective_files:
                other = objective_files[objective.id]
                also = f", also in {other}" if other != file else ""
                problems.append(
                    ConfigProblem(
                        file, item, "id", f"duplicate objective id in cycle {cycle.id}{also}"
                    )
                )
            objective_files.setdefault(objective.id, file)
            for kr in objective.key_results:
                if kr.id in kr_homes:
                    home, home_file = kr_homes[kr.id]
                    where = f" ({home_file})" if home_file != file else ""
                    problems.append(
                        ConfigProblem(file, f"{item} › key result {kr.id}", "id",
                                      f"duplicate key result id in cycle {cycle.id}, "
                                      f"also in objective {home}{where}")
                    )  # fmt: skip
                kr_homes.setdefault(kr.id, (objective.id, file))

    children = defaultdict(list)
    for objective in okrs.objectives:
        if objective.parent is not None:
            children[objective.parent].append(objective.id)
    for file, document in documents:
        for objective in document.objectives:
            problems.extend(
                _cross_check_objective(objective, okrs, file, objective_files, children, complete)
            )
            for kr in objective.key_results:
                item = f"objective {objective.id} › key result {kr.id}"
                problems.extend(_cross_check_kr(kr, cycle, file, item, catalog, kr_homes, complete))
    problems.extend(_alignment_cycles(okrs))
    problems.extend(_alignment_too_deep(okrs))
    problems.extend(_rollup_cycles(okrs, documents))
    return problems


def _cross_check_objective(
    objective: Objective,
    okrs: CycleOkrs,
    file: str,
    objective_files: dict,
    children: dict,
    complete: bool,
) -> list[ConfigProblem]:
    problems = []
    cycle_id = okrs.cycle.id
    item = f"objective {objective.id}"
    parent = objective.parent
    if parent == objective.id:
        problems.append(
            ConfigProblem(file, item, "parent", "an objective cannot be its own parent")
        )
    elif complete and parent is not None and parent not in objective_files:
        problems.append(
            ConfigProblem(file, item, "parent", f"unknown objective {parent!r} in cycle {cycle_id}"
                          + did_you_mean(parent, objective_files))
        )  # fmt: skip
    if complete and objective.theme is not None and objective.theme not in okrs.themes:
        declared = (
            f"cycle {cycle_id} has themes: {', '.join(okrs.themes)}"
            if okrs.themes
            else f"cycle {cycle_id} declares no themes"
        )
        problems.append(
            ConfigProblem(file, item, "theme", f"unknown theme {objective.theme!r}; {declared}")
        )
    has_children = bool(children[objective.id]) or not complete
    if objective.progress_from == "key_results" and not objective.key_results:
        problems.append(ConfigProblem(file, item, "key_results", "no key results to score"))
    if objective.progress_from == "children" and not has_children:
        problems.append(
            ConfigProblem(
                file, item, "progress_from", "no child objectives name this one as parent"
            )
        )
    if objective.progress_from == "both" and not objective.key_results and not has_children:
        problems.append(
            ConfigProblem(file, item, "progress_from", "no key results and no child objectives")
        )
    return problems


def _cross_check_kr(
    kr,
    cycle: Cycle,
    file: str,
    item: str,
    catalog: MetricCatalog,
    kr_homes: dict,
    complete: bool,
) -> list[ConfigProblem]:
    problems = []
    if (
        isinstance(kr, MeasuredKeyResult)
        and kr.metric != "manual"
        and catalog.is_unknown(kr.metric)
    ):
        problems.append(
            ConfigProblem(file, item, "metric", f"unknown metric {kr.metric!r}"
                          + did_you_mean(kr.metric, catalog.known))
        )  # fmt: skip
    if isinstance(kr, IncreaseKeyResult | DecreaseKeyResult):
        problems.extend(_check_direction(kr, cycle, file, item))
    if isinstance(kr, MilestonesKeyResult):
        for milestone in kr.milestones:
            condition = milestone.condition()
            if condition and catalog.is_unknown(condition[0]):
                problems.append(
                    ConfigProblem(file, f"{item} › milestone {milestone.name}", "done_when",
                                  f"unknown metric {condition[0]!r}"
                                  + did_you_mean(condition[0], catalog.known))
                )  # fmt: skip
    if isinstance(kr, RollupKeyResult) and complete:
        for child in kr.children:
            if child not in kr_homes:
                problems.append(
                    ConfigProblem(file, item, "children",
                                  f"unknown key result {child!r} in cycle {cycle.id}"
                                  + did_you_mean(child, kr_homes))
                )  # fmt: skip
    return problems


def _check_direction(kr, cycle: Cycle, file: str, item: str) -> list[ConfigProblem]:
    """An increase must aim above its baseline, a decrease below; checkpoints inside the cycle."""
    problems = []
    if kr.baseline is not None and kr.baseline == kr.target:
        problems.append(
            ConfigProblem(file, item, "target", f"equals baseline ({kr.target:g}): "
                          "progress cannot be measured")
        )  # fmt: skip
    wrong_way = kr.baseline is not None and (
        (kr.type == "increase" and kr.target < kr.baseline)
        or (kr.type == "decrease" and kr.target > kr.baseline)
    )
    if wrong_way:
        direction = "above" if kr.type == "increase" else "below"
        problems.append(
            ConfigProblem(file, item, "target", f"an {kr.type} key result needs a target "
                          f"{direction} its baseline ({kr.baseline:g})")
        )  # fmt: skip
    for checkpoint in kr.checkpoints:
        if not cycle.start <= checkpoint.date <= cycle.end:
            problems.append(
                ConfigProblem(file, f"{item} › checkpoint {checkpoint.date}", "date",
                              f"outside cycle {cycle.id} ({cycle.start} .. {cycle.end})")
            )  # fmt: skip
    return problems


def _loops(edges: dict[str, list[str]]) -> list[list[str]]:
    """Every loop a depth-first walk meets, as the path of ids around it (first id repeated)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    loops = []
    for start in sorted(edges):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(edges.get(start, []))]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(step) == 1:
                loops.append([*path[path.index(step) :], step])
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                stack.append(iter(edges.get(step, [])))
    return loops


def _alignment_cycles(okrs: CycleOkrs) -> list[ConfigProblem]:
    edges = {o.id: [o.parent] for o in okrs.objectives if o.parent and o.parent != o.id}
    return [
        ConfigProblem(okrs.files[loop[0]], f"objective {loop[0]}", "parent",
                      "alignment cycle: " + " → ".join(loop))
        for loop in _loops(edges)
    ]  # fmt: skip


def _alignment_too_deep(okrs: CycleOkrs) -> list[ConfigProblem]:
    """A chain of parents longer than anyone reads is a mistake, and every roll-up, report
    and tree along it would walk it: reported once, at the deepest objective of each chain."""
    parents = {o.id: o.parent for o in okrs.objectives if o.parent and o.parent != o.id}
    levels, tops = _alignment_levels(parents)
    too_deep = {
        objective_id for objective_id, level in levels.items() if level > MAX_ALIGNMENT_DEPTH
    }
    with_too_deep_child = {parents[objective_id] for objective_id in too_deep}
    return [
        ConfigProblem(okrs.files[deepest], f"objective {deepest}", "parent",
                      f"aligned {levels[deepest]} levels deep, from {deepest} up to "
                      f"{tops[deepest]}; keep alignment within {MAX_ALIGNMENT_DEPTH} levels")
        for deepest in sorted(too_deep - with_too_deep_child)
    ]  # fmt: skip


def _alignment_levels(parents: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """The level of each objective in the alignment tree (1 for one aligned to no objective)
    and the top of its chain; objectives on a loop, or below one, have none (loops are
    reported apart). Walks up without recursion: a chain may be thousands long."""
    levels: dict[str, int] = {}
    tops: dict[str, str] = {}
    looping: set[str] = set()
    for start in parents:
        path: dict[str, None] = {}  # the walk so far, in order, for fast membership
        node = start
        while node in parents and node not in levels and node not in looping:
            if node in path:
                break
            path[node] = None
            node = parents[node]
        if node in looping or node in path:
            looping.update(path)
            continue
        level, top = (levels[node], tops[node]) if node in levels else (1, node)
        for objective_id in reversed(path):
            level += 1
            levels[objective_id], tops[objective_id] = level, top
    return levels, tops


def _rollup_cycles(okrs: CycleOkrs, documents: list) -> list[ConfigProblem]:
    rollups: dict[str, tuple[str, str, list[str]]] = {}
    for file, document in documents:
        for objective in document.objectives:
            for kr in objective.key_results:
                if isinstance(kr, RollupKeyResult):
                    rollups.setdefault(kr.id, (file, objective.id, list(kr.children)))
    problems = []
    for loop in _loops({kr_id: children for kr_id, (_, _, children) in rollups.items()}):
        file, objective_id, _ = rollups[loop[0]]
        problems.append(
            ConfigProblem(file, f"objective {objective_id} › key result {loop[0]}", "children",
                          "rollup cycle: " + " → ".join(loop))
        )  # fmt: skip
    return problems
