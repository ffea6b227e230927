"""Load a project directory (SPEC section 1) into typed models, or report every problem in it."""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ValidationError

from okr_pipeline.config.models import (
    Cycle,
    DecreaseKeyResult,
    IncreaseKeyResult,
    MeasuredKeyResult,
    MilestonesKeyResult,
    Objective,
    OkrFile,
    ProjectSettings,
    RollupKeyResult,
    SourceFile,
    SqlSource,
)
from okr_pipeline.config.problems import (
    ConfigError,
    ConfigProblem,
    describe_location,
    problems_from_validation,
)

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PROJECT_FILE = "okr_project.yaml"
CHECKIN_COLUMNS = ("kr_id", "date", "value", "confidence", "note")


@dataclass(frozen=True)
class Checkin:
    """One manual check-in row: a value for a manual KR, and confidence and a note for any KR."""

    kr_id: str
    date: date
    value: float | None
    confidence: float | None
    note: str | None


@dataclass(frozen=True)
class CycleOkrs:
    """Every objective of one cycle, merged from the files that share its id."""

    cycle: Cycle
    themes: tuple[str, ...]
    objectives: tuple[Objective, ...]
    files: dict[str, str] = field(default_factory=dict)  # objective id -> file it came from


@dataclass(frozen=True)
class Project:
    root: Path
    settings: ProjectSettings
    sources: dict  # source name -> Source model
    source_files: dict[str, str]
    cycles: tuple[CycleOkrs, ...]
    checkins: tuple[Checkin, ...]
    secrets: frozenset[str]  # values that must never be shown: env values, URL passwords

    def metric_units(self) -> dict[str, str | None]:
        return {
            f"{name}.{metric.name}": metric.unit
            for name, source in self.sources.items()
            for metric in source.metrics
        }

    def resolve(self, path: str) -> Path:
        """A path from YAML, relative to the project directory."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.root / candidate


def load_project(root: Path | str) -> Project:
    """Load and cross-check every file; raise ConfigError listing every problem found."""
    root = Path(root)
    problems: list[ConfigProblem] = []
    secrets: set[str] = set()
    if not root.is_dir():
        raise ConfigError([ConfigProblem(str(root), "", "", "project directory not found")])

    settings = ProjectSettings()
    settings_path = root / PROJECT_FILE
    if settings_path.exists():
        raw = _read_yaml(settings_path, PROJECT_FILE, problems, secrets)
        parsed = _validate(ProjectSettings, raw, PROJECT_FILE, problems)
        settings = parsed or settings

    sources, source_files = _load_sources(root, problems, secrets)
    cycles = _load_okrs(root, sources, problems)
    kr_ids = {kr.id for cycle in cycles for o in cycle.objectives for kr in o.key_results}
    checkins = _load_checkins(root, kr_ids, problems)

    if problems:
        raise ConfigError(sorted(set(problems)))
    for source in sources.values():
        if isinstance(source, SqlSource):
            password = urlsplit(source.url).password
            if password:
                secrets.add(unquote(password))
    return Project(
        root=root,
        settings=settings,
        sources=sources,
        source_files=source_files,
        cycles=tuple(cycles),
        checkins=tuple(checkins),
        secrets=frozenset(secret for secret in secrets if len(secret) >= 4),
    )


# ---------------------------------------------------------------- YAML and ${ENV}


def _read_yaml(path: Path, file: str, problems: list, secrets: set[str]) -> Any:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        problems.append(
            ConfigProblem(file, "", "", f"YAML syntax error at {where}: {error.problem}")
        )
        return None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(ConfigProblem(file, "", "", f"cannot read YAML: {error}"))
        return None
    if raw is None:
        problems.append(ConfigProblem(file, "", "", "file is empty"))
        return None
    if not isinstance(raw, dict):
        problems.append(ConfigProblem(file, "", "", "expected a mapping of fields at the top"))
        return None
    return _substitute_env(raw, raw, (), file, problems, secrets)


def _substitute_env(node: Any, raw: Any, loc: tuple, file: str, problems: list, secrets: set):
    """Replace `${NAME}` in every string with the environment variable; never with ''."""
    if isinstance(node, dict):
        return {
            k: _substitute_env(v, raw, (*loc, k), file, problems, secrets) for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            _substitute_env(v, raw, (*loc, i), file, problems, secrets) for i, v in enumerate(node)
        ]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match) -> str:
        name = match[1]
        value = os.environ.get(name)
        if value is None:
            item, where = describe_location(raw, loc)
            problems.append(
                ConfigProblem(file, item, where, f"environment variable {name} is not set")
            )
            return match[0]
        secrets.add(value)
        return value

    return ENV_REFERENCE.sub(replace, node)


def _validate(model: type[BaseModel], raw: Any, file: str, problems: list, **kwargs):
    if raw is None:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, file, raw, **kwargs))
        return None


def _yaml_files(root: Path, folder: str) -> list[Path]:
    directory = root / folder
    return (
        sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []
    )


# ---------------------------------------------------------------- metric sources


def _load_sources(root: Path, problems: list, secrets: set) -> tuple[dict, dict[str, str]]:
    sources: dict = {}
    files: dict[str, str] = {}
    for path in _yaml_files(root, "metric_sources"):
        file = path.relative_to(root).as_posix()
        raw = _read_yaml(path, file, problems, secrets)
        if raw is None:
            continue
        name = raw.get("name")
        root_item = f"source {name}" if isinstance(name, str) else ""
        wrapped = _validate(
            SourceFile, {"source": raw}, file, problems, drop=1, root_item=root_item
        )
        if wrapped is None:
            continue
        source = wrapped.source
        if source.name in sources:
            problems.append(
                ConfigProblem(
                    file, root_item, "name", f"duplicate source name, also in {files[source.name]}"
                )
            )
            continue
        seen: set[str] = set()
        for metric in source.metrics:
            if metric.name in seen:
                problems.append(
                    ConfigProblem(
                        file, f"{root_item} › metric {metric.name}", "name", "duplicate metric name"
                    )
                )
            seen.add(metric.name)
        sources[source.name] = source
        files[source.name] = file
    return sources, files


# ---------------------------------------------------------------- objectives and key results


def _load_okrs(root: Path, sources: dict, problems: list) -> list[CycleOkrs]:
    metric_ids = {f"{name}.{m.name}" for name, source in sources.items() for m in source.metrics}
    by_cycle: dict[str, list[tuple[str, OkrFile]]] = defaultdict(list)
    for path in _yaml_files(root, "okrs"):
        file = path.relative_to(root).as_posix()
        parsed = _validate(OkrFile, _read_yaml(path, file, problems, set()), file, problems)
        if parsed is not None:
            by_cycle[parsed.cycle.id].append((file, parsed))
    if not by_cycle and not any(p.file.startswith("okrs/") for p in problems):
        problems.append(ConfigProblem("okrs/", "", "", "no OKR files found (okrs/*.yaml)"))

    cycles = []
    for cycle_id, documents in by_cycle.items():
        first_file, first = documents[0]
        for file, document in documents[1:]:
            if document.cycle != first.cycle:
                problems.append(
                    ConfigProblem(
                        file, "cycle", "", f"differs from cycle {cycle_id} in {first_file}"
                    )
                )
        okrs = CycleOkrs(
            cycle=first.cycle,
            themes=tuple(dict.fromkeys(t for _, d in documents for t in d.themes)),
            objectives=tuple(o for _, d in documents for o in d.objectives),
            files={o.id: file for file, d in documents for o in d.objectives},
        )
        problems.extend(_cross_check_cycle(okrs, documents, metric_ids))
        cycles.append(okrs)
    return cycles


def _cross_check_cycle(okrs: CycleOkrs, documents: list, metric_ids: set[str]) -> list:
    """References between objectives and key results of one cycle, checked before any run."""
    problems = []
    cycle = okrs.cycle
    objectives: dict[str, Objective] = {}
    kr_ids: dict[str, str] = {}
    for file, document in documents:
        for objective in document.objectives:
            item = f"objective {objective.id}"
            if objective.id in objectives:
                problems.append(
                    ConfigProblem(file, item, "id", f"duplicate objective id in cycle {cycle.id}")
                )
            objectives[objective.id] = objective
            for kr in objective.key_results:
                if kr.id in kr_ids:
                    problems.append(
                        ConfigProblem(
                            file, f"{item} › key result {kr.id}", "id",
                            f"duplicate key result id in cycle {cycle.id}",
                        )
                    )  # fmt: skip
                kr_ids[kr.id] = objective.id

    children = defaultdict(list)
    for objective in okrs.objectives:
        if objective.parent is not None:
            children[objective.parent].append(objective.id)
    for objective in okrs.objectives:
        file = okrs.files[objective.id]
        item = f"objective {objective.id}"
        if objective.parent is not None and objective.parent not in objectives:
            problems.append(
                ConfigProblem(file, item, "parent", f"unknown objective {objective.parent!r}")
            )
        if objective.parent == objective.id:
            problems.append(
                ConfigProblem(file, item, "parent", "an objective cannot be its own parent")
            )
        if objective.theme is not None and objective.theme not in okrs.themes:
            problems.append(
                ConfigProblem(file, item, "theme", f"unknown theme {objective.theme!r}; "
                              f"themes of cycle {cycle.id}: {list(okrs.themes)}")
            )  # fmt: skip
        if objective.progress_from in ("key_results", "both") and not objective.key_results:
            if objective.progress_from == "key_results" or not children[objective.id]:
                problems.append(ConfigProblem(file, item, "key_results", "no key results to score"))
        if objective.progress_from in ("children", "both") and not children[objective.id]:
            if objective.progress_from == "children":
                problems.append(
                    ConfigProblem(
                        file, item, "progress_from", "no child objectives name this one as parent"
                    )
                )
        for kr in objective.key_results:
            problems.extend(
                _cross_check_kr(kr, cycle, file, f"{item} › key result {kr.id}", metric_ids, kr_ids)
            )
    problems.extend(_alignment_cycles(okrs))
    problems.extend(_rollup_cycles(okrs))
    return problems


def _cross_check_kr(kr, cycle: Cycle, file: str, item: str, metric_ids: set, kr_ids: dict) -> list:
    problems = []
    if isinstance(kr, MeasuredKeyResult) and kr.metric != "manual" and kr.metric not in metric_ids:
        problems.append(ConfigProblem(file, item, "metric", f"unknown metric {kr.metric!r}"))
    if isinstance(kr, IncreaseKeyResult | DecreaseKeyResult):
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
    if isinstance(kr, MilestonesKeyResult):
        for milestone in kr.milestones:
            condition = milestone.condition()
            if condition and condition[0] not in metric_ids:
                problems.append(
                    ConfigProblem(file, f"{item} › milestone {milestone.name}", "done_when",
                                  f"unknown metric {condition[0]!r}")
                )  # fmt: skip
    if isinstance(kr, RollupKeyResult):
        for child in kr.children:
            if child not in kr_ids:
                problems.append(
                    ConfigProblem(
                        file, item, "children", f"unknown key result {child!r} in cycle {cycle.id}"
                    )
                )
    return problems


def _first_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle in a directed graph, as the path of ids around it, or None."""
    state: dict[str, int] = {}
    for start in sorted(edges):
        path: list[str] = []
        stack = [(start, iter(edges.get(start, [])))]
        if state.get(start):
            continue
        state[start] = 1
        path.append(start)
        while stack:
            node, successors = stack[-1]
            step = next(successors, None)
            if step is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(step) == 1:
                return [*path[path.index(step) :], step]
            elif not state.get(step):
                state[step] = 1
                path.append(step)
                stack.append((step, iter(edges.get(step, []))))
    return None


def _alignment_cycles(okrs: CycleOkrs) -> list[ConfigProblem]:
    edges = {o.id: [o.parent] for o in okrs.objectives if o.parent and o.parent != o.id}
    loop = _first_cycle(edges)
    if not loop:
        return []
    return [
        ConfigProblem(okrs.files[loop[0]], f"objective {loop[0]}", "parent",
                      "alignment cycle: " + " → ".join(loop))
    ]  # fmt: skip


def _rollup_cycles(okrs: CycleOkrs) -> list[ConfigProblem]:
    rollups = {
        kr.id: (objective.id, list(kr.children))
        for objective in okrs.objectives
        for kr in objective.key_results
        if isinstance(kr, RollupKeyResult)
    }
    loop = _first_cycle({kr_id: children for kr_id, (_, children) in rollups.items()})
    if not loop:
        return []
    objective_id = rollups[loop[0]][0]
    return [
        ConfigProblem(okrs.files[objective_id], f"objective {objective_id} › key result {loop[0]}",
                      "children", "rollup cycle: " + " → ".join(loop))
    ]  # fmt: skip


# ---------------------------------------------------------------- check-ins


def _number(text: str | None) -> float | None:
    return None if text is None or text.strip() == "" else float(text)


def _load_checkins(root: Path, kr_ids: set[str], problems: list) -> list[Checkin]:
    directory = root / "checkins"
    checkins = []
    for path in sorted(directory.glob("*.csv")) if directory.is_dir() else []:
        file = path.relative_to(root).as_posix()
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in CHECKIN_COLUMNS[:3] if c not in header]
            unknown = [c for c in header if c not in CHECKIN_COLUMNS]
            if missing or unknown:
                wrong = (
                    f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
                )
                problems.append(
                    ConfigProblem(
                        file, "header", "", f"{wrong}; expected kr_id,date,value[,confidence,note]"
                    )
                )
                continue
            for line, row in enumerate(reader, start=2):
                checkin = _parse_checkin(row, file, f"line {line}", kr_ids, problems)
                if checkin is not None:
                    checkins.append(checkin)
    return checkins


def _parse_checkin(row: dict, file: str, item: str, kr_ids: set, problems: list) -> Checkin | None:
    found = len(problems)
    kr_id = (row.get("kr_id") or "").strip()
    if kr_id not in kr_ids:
        problems.append(ConfigProblem(file, item, "kr_id", f"unknown key result {kr_id!r}"))
    try:
        day = date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        problems.append(ConfigProblem(file, item, "date", f"not a date: {row.get('date')!r}"))
    values = {}
    for column in ("value", "confidence"):
        try:
            values[column] = _number(row.get(column))
        except ValueError:
            problems.append(ConfigProblem(file, item, column, f"not a number: {row.get(column)!r}"))
    confidence = values.get("confidence")
    if confidence is not None and not 0 <= confidence <= 1:
        problems.append(ConfigProblem(file, item, "confidence", "must be between 0 and 1"))
    if len(problems) > found:
        return None
    note = (row.get("note") or "").strip() or None
    return Checkin(kr_id, day, values["value"], confidence, note)
