"""Load a project directory (SPEC section 1) into typed models, or report every problem in it.

Every mistake in a file becomes a ConfigProblem; nothing a user writes raises anything but
ConfigError. Cross-file references (metrics, parents, themes, rollup children, check-in key
results) are only reported unknown when every file they could live in was read: a broken
file is reported once, not again through each reference into it.
"""

from __future__ import annotations

import csv
import io
import math
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
    ID,
    ISO_DATE,
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
)
from okr_pipeline.config.problems import (
    ConfigError,
    ConfigProblem,
    describe_location,
    did_you_mean,
    problems_from_validation,
    sorted_problems,
)

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# `${NAME}` is rewritten to this same-length form before parsing, because `{` ends a plain
# scalar inside a YAML flow mapping: `auth: {type: bearer, token: ${TOKEN}}` must parse.
ENV_PLACEHOLDER = re.compile(r"\$<([A-Za-z_][A-Za-z0-9_]*)>")
SECRET_FIELDS = ("token", "password", "value")  # of a source or of its `auth`
PROJECT_FILE = "okr_project.yaml"
CHECKIN_COLUMNS = ("kr_id", "date", "value", "confidence", "note")
CHECKIN_HEADER = "kr_id,date,value[,confidence,note]"
MIN_SECRET_LENGTH = 4  # shorter values (a port, a flag) would redact every digit of a message


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
    load_warnings: tuple[ConfigProblem, ...] = ()  # found while reading: secrets in files

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
    if not root.is_dir():
        raise ConfigError([ConfigProblem(str(root), "", "", "project directory not found")])
    problems: list[ConfigProblem] = []
    secrets: set[str] = set()

    settings = ProjectSettings()
    if (root / PROJECT_FILE).is_file():
        settings = _load_settings(root / PROJECT_FILE, problems, secrets) or settings
    warnings: list[ConfigProblem] = []
    sources, source_files, catalog = _load_sources(root, problems, warnings, secrets)
    cycles, kr_ids = _load_okrs(root, catalog, problems, secrets)
    checkins = _load_checkins(root, kr_ids, problems)

    if problems:
        shown = {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}
        raise ConfigError(sorted_problems([problem.redacted(shown) for problem in problems]))
    secrets |= _literal_secrets(sources, settings)
    return Project(
        root=root,
        settings=settings,
        sources=sources,
        source_files=source_files,
        cycles=tuple(cycles),
        checkins=tuple(checkins),
        secrets=frozenset(secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH),
        load_warnings=tuple(warnings),
    )


# ---------------------------------------------------------------- reading files


class _YamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML with YAML 1.2 scalars and no silent duplicates.

    `on`, `yes` and `no` stay strings (YAML 1.1 makes `on:` of a notification the boolean
    True); dates stay text so that the models parse them with a clear message (PyYAML raises a
    bare ValueError on 2026-02-30); a key written twice is an error, not "last one wins".
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_YamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _read_text(path: Path, file: str, problems: list[ConfigProblem]) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.append(ConfigProblem(file, "", "", f"cannot read file: {error.strerror}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.append(
            ConfigProblem(
                file, "", "", f"not UTF-8 text: byte 0x{data[error.start]:02x} on line {line}"
            )
        )
        return None


def _read_yaml(
    path: Path, file: str, problems: list[ConfigProblem], allow_empty: bool = False
) -> dict | None:
    """The top mapping of a YAML file as written (before ${ENV}), or None after a problem."""
    text = _read_text(path, file, problems)
    if text is None:
        return None
    try:
        raw = yaml.load(ENV_REFERENCE.sub(r"$<\1>", text), Loader=_YamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = error.problem or error.context or "invalid YAML"
        problems.append(ConfigProblem(file, "", "", f"YAML syntax error{where}: {what}"))
        return None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        # Explicit tags (`!!int abc`, `!!timestamp 2026-13-01`) fail inside PyYAML's constructors.
        problems.append(ConfigProblem(file, "", "", f"invalid YAML: {error}"))
        return None
    if raw is None:
        if allow_empty:
            return {}
        problems.append(ConfigProblem(file, "", "", "file is empty"))
        return None
    if not isinstance(raw, dict):
        found = "a list" if isinstance(raw, list) else f"a single value ({type(raw).__name__})"
        problems.append(
            ConfigProblem(file, "", "", f"expected a mapping of fields at the top, found {found}")
        )
        return None
    return raw


def _expand_env(
    raw: dict, file: str, root_item: str, problems: list, secrets: set[str]
) -> tuple[dict, set[tuple[str, str]]]:
    """Replace `${NAME}` in every string with the environment variable; never with ''.

    Returns the expanded tree and the (item, field) places of unset variables, whose other
    complaints (a URL that does not look like one) would only repeat the same mistake. A node
    shared through YAML anchors is expanded once, so nested aliases cannot blow up.
    """
    unset: set[tuple[str, str]] = set()
    done: dict[int, Any] = {}

    def expand(node: Any, loc: tuple) -> Any:
        if isinstance(node, dict | list) and id(node) in done:
            return done[id(node)]
        if isinstance(node, dict):
            done[id(node)] = {key: expand(value, (*loc, key)) for key, value in node.items()}
            return done[id(node)]
        if isinstance(node, list):
            done[id(node)] = [expand(value, (*loc, index)) for index, value in enumerate(node)]
            return done[id(node)]
        if not isinstance(node, str):
            return node

        def replace(match: re.Match) -> str:
            value = os.environ.get(match[1])
            if value is None:
                item, where = describe_location(raw, loc, root_item)
                unset.add((item, where))
                problems.append(
                    ConfigProblem(file, item, where, f"environment variable {match[1]} is not set")
                )
                return match[0]
            secrets.add(value)
            return value

        return ENV_PLACEHOLDER.sub(replace, node)

    return expand(raw, ()), unset


def _validate(
    model: type[BaseModel],
    tree: Any,
    file: str,
    problems: list,
    raw: Any,
    unset: set[tuple[str, str]],
    drop: int = 0,
    root_item: str = "",
) -> Any:
    """The model, or None; items are named from `raw`, the tree as written."""
    try:
        return model.model_validate(tree)
    except ValidationError as error:
        found = problems_from_validation(error, file, raw, drop=drop, root_item=root_item)
        problems.extend(p for p in found if (p.item, p.field) not in unset)
        return None


def _yaml_files(root: Path, folder: str) -> list[Path]:
    """The YAML files of a folder, hidden files (editor backups, `._x.yaml`) left out."""
    directory = root / folder
    if not directory.is_dir():
        return []
    paths = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(path for path in paths if path.is_file() and not path.name.startswith("."))


def _load_settings(path: Path, problems: list, secrets: set[str]) -> ProjectSettings | None:
    raw = _read_yaml(path, PROJECT_FILE, problems, allow_empty=True)
    if raw is None:
        return None
    tree, unset = _expand_env(raw, PROJECT_FILE, "", problems, secrets)
    return _validate(ProjectSettings, tree, PROJECT_FILE, problems, raw, unset)


def _literal_secrets(sources: dict, settings: ProjectSettings) -> set[str]:
    """Secrets written into the files themselves: URL passwords, tokens, webhook URLs."""
    found: set[str] = set()
    for source in sources.values():
        for name in ("url", "base_url"):
            try:
                password = urlsplit(getattr(source, name, None) or "").password
            except ValueError:
                password = None
            if password:
                found.add(unquote(password))
        auth = getattr(source, "auth", None)
        for value in (
            getattr(source, "token", None),
            getattr(auth, "token", None),
            getattr(auth, "password", None),
            getattr(auth, "value", None),
        ):
            if value:
                found.add(value)
    found.update(notification.url for notification in settings.notify)
    return found


def _secrets_written_in_file(raw: dict, file: str, root_item: str) -> list[ConfigProblem]:
    """Secrets come only from the environment (SPEC 1): a token, password or URL password
    written into a file of the repository is a warning of `check`."""
    places = [("", raw), ("auth.", raw.get("auth"))]
    problems = []
    for prefix, node in places:
        if not isinstance(node, dict):
            continue
        for name in SECRET_FIELDS:
            if prefix == "" and name == "value":
                continue
            value = node.get(name)
            if isinstance(value, str) and value and not ENV_PLACEHOLDER.search(value):
                problems.append(
                    ConfigProblem(file, root_item, prefix + name,
                                  "write secrets as ${ENV_VAR}, never into the file", "warning")
                )  # fmt: skip
    for name in ("url", "base_url"):
        value = raw.get(name)
        if isinstance(value, str) and not ENV_PLACEHOLDER.search(value):
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                problems.append(
                    ConfigProblem(file, root_item, name,
                                  "holds a password: put the URL in an environment variable",
                                  "warning")
                )  # fmt: skip
    return problems


# ---------------------------------------------------------------- metric sources


@dataclass
class _MetricCatalog:
    """The metric ids a key result may name, and the sources whose files could not be read."""

    known: set[str] = field(default_factory=set)
    broken_sources: set[str] = field(default_factory=set)
    unnamed_broken_source: bool = False

    def is_unknown(self, metric_id: str) -> bool:
        if metric_id in self.known or self.unnamed_broken_source:
            return False
        return metric_id.split(".", 1)[0] not in self.broken_sources


def _load_sources(
    root: Path, problems: list, warnings: list, secrets: set
) -> tuple[dict, dict, _MetricCatalog]:
    sources: dict = {}
    files: dict[str, str] = {}
    catalog = _MetricCatalog()
    for path in _yaml_files(root, "metric_sources"):
        file = path.relative_to(root).as_posix()
        raw = _read_yaml(path, file, problems)
        name = raw.get("name") if raw is not None else None
        root_item = f"source {name}" if isinstance(name, str) and name.strip() else ""
        source = None
        if raw is not None:
            tree, unset = _expand_env(raw, file, root_item, problems, secrets)
            wrapped = _validate(
                SourceFile,
                {"source": tree},
                file,
                problems,
                raw,
                unset,
                drop=1,
                root_item=root_item,
            )
            source = wrapped.source if wrapped is not None else None
        if source is None:
            if isinstance(name, str):
                catalog.broken_sources.add(name)
            else:
                catalog.unnamed_broken_source = True
            continue
        catalog.known.update(source.metric_ids())
        warnings.extend(_secrets_written_in_file(raw, file, root_item))
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
    return sources, files, catalog


# ---------------------------------------------------------------- objectives and key results


def _load_okrs(
    root: Path, catalog: _MetricCatalog, problems: list, secrets: set[str]
) -> tuple[list[CycleOkrs], set[str] | None]:
    """The cycles, and every key result id (None when a broken file may hold more)."""
    paths = _yaml_files(root, "okrs")
    if not paths:
        problems.append(ConfigProblem("okrs/", "", "", "no OKR files found (okrs/*.yaml)"))
    by_cycle: dict[str, list[tuple[str, OkrFile]]] = defaultdict(list)
    broken_cycles: set[str] = set()
    unknown_broken_cycle = False
    for path in paths:
        file = path.relative_to(root).as_posix()
        raw = _read_yaml(path, file, problems)
        parsed = None
        if raw is not None:
            tree, unset = _expand_env(raw, file, "", problems, secrets)
            parsed = _validate(OkrFile, tree, file, problems, raw, unset)
        if parsed is not None:
            by_cycle[parsed.cycle.id].append((file, parsed))
            continue
        cycle = raw.get("cycle") if raw is not None else None
        cycle_id = cycle.get("id") if isinstance(cycle, dict) else None
        if isinstance(cycle_id, str) and re.match(ID, cycle_id):
            broken_cycles.add(cycle_id)
        else:
            unknown_broken_cycle = True

    cycles = []
    for cycle_id, documents in by_cycle.items():
        problems.extend(_cycle_differences(cycle_id, documents))
        first = documents[0][1]
        files: dict[str, str] = {}
        for file, document in documents:
            for objective in document.objectives:
                files.setdefault(objective.id, file)
        okrs = CycleOkrs(
            cycle=first.cycle,
            themes=tuple(dict.fromkeys(t for _, d in documents for t in d.themes)),
            objectives=tuple(o for _, d in documents for o in d.objectives),
            files=files,
        )
        complete = cycle_id not in broken_cycles and not unknown_broken_cycle
        problems.extend(_cross_check_cycle(okrs, documents, catalog, complete))
        cycles.append(okrs)
    complete_everywhere = not broken_cycles and not unknown_broken_cycle
    kr_ids = {kr.id for okrs in cycles for o in okrs.objectives for kr in o.key_results}
    return cycles, kr_ids if complete_everywhere else None


def _cycle_differences(cycle_id: str, documents: list[tuple[str, OkrFile]]) -> list:
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


def _cross_check_cycle(
    okrs: CycleOkrs, documents: list, catalog: _MetricCatalog, complete: bool
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
    catalog: _MetricCatalog,
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


# ---------------------------------------------------------------- check-ins


def _load_checkins(root: Path, kr_ids: set[str] | None, problems: list) -> list[Checkin]:
    """Check-in rows of checkins/*.csv; `kr_ids` None skips the unknown-key-result check."""
    directory = root / "checkins"
    paths = sorted(directory.glob("*.csv")) if directory.is_dir() else []
    checkins = []
    for path in paths:
        if not path.is_file() or path.name.startswith("."):
            continue
        file = path.relative_to(root).as_posix()
        text = _read_text(path, file, problems)
        if text is not None:
            checkins.extend(_read_checkins(text, file, kr_ids, problems))
    return checkins


def _read_checkins(text: str, file: str, kr_ids: set[str] | None, problems: list) -> list:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    checkins = []
    try:
        header = [cell.strip() for cell in next(reader, [])]
        wrong = _header_problem(header)
        if wrong:
            problems.append(ConfigProblem(file, "header", "", wrong))
            return []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            item = f"line {reader.line_num}"
            if len(row) != len(header):
                problems.append(
                    ConfigProblem(file, item, "", f"{len(row)} fields, expected {len(header)} "
                                  f"({','.join(header)})")
                )  # fmt: skip
                continue
            checkin = _parse_checkin(dict(zip(header, row, strict=True)), file, item, kr_ids)
            if isinstance(checkin, Checkin):
                checkins.append(checkin)
            else:
                problems.extend(checkin)
    except csv.Error as error:
        problems.append(ConfigProblem(file, f"line {reader.line_num}", "", f"invalid CSV: {error}"))
    return checkins


def _header_problem(header: list[str]) -> str:
    if not header:
        return f"file is empty; expected the header {CHECKIN_HEADER}"
    parts = []
    missing = [column for column in CHECKIN_COLUMNS[:3] if column not in header]
    unknown = [column for column in header if column not in CHECKIN_COLUMNS]
    repeated = sorted({column for column in header if header.count(column) > 1})
    for word, columns in (("missing", missing), ("unknown", unknown), ("repeated", repeated)):
        if columns:
            plural = "s" if len(columns) > 1 else ""
            parts.append(f"{word} column{plural} {', '.join(map(repr, columns))}")
    return f"{'; '.join(parts)}; expected {CHECKIN_HEADER}" if parts else ""


def _parse_checkin(
    row: dict[str, str], file: str, item: str, kr_ids: set[str] | None
) -> Checkin | list[ConfigProblem]:
    """A check-in, or the problems of its row."""
    problems = []
    kr_id = row["kr_id"].strip()
    if not kr_id:
        problems.append(ConfigProblem(file, item, "kr_id", "must not be empty"))
    elif kr_ids is not None and kr_id not in kr_ids:
        problems.append(
            ConfigProblem(file, item, "kr_id", f"unknown key result {kr_id!r}"
                          + did_you_mean(kr_id, kr_ids))
        )  # fmt: skip
    text = row["date"].strip()
    day = None
    if ISO_DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError as error:
            problems.append(ConfigProblem(file, item, "date", f"{text} is not a date: {error}"))
    else:
        problems.append(
            ConfigProblem(file, item, "date", f"expected a date as YYYY-MM-DD, not {text!r}")
        )
    numbers: dict[str, float | None] = {}
    for column in ("value", "confidence"):
        cell = (row.get(column) or "").strip()
        try:
            numbers[column] = _finite_number(cell)
        except ValueError:
            problems.append(ConfigProblem(file, item, column, f"expected a number, not {cell!r}"))
    confidence = numbers.get("confidence")
    if confidence is not None and not 0 <= confidence <= 1:
        problems.append(ConfigProblem(file, item, "confidence", "must be between 0 and 1"))
    if problems or day is None:
        return problems
    note = (row.get("note") or "").strip() or None
    return Checkin(kr_id, day, numbers["value"], confidence, note)


def _finite_number(cell: str) -> float | None:
    """An empty cell is no value; `nan` and `inf` are not numbers a check-in can hold."""
    if not cell:
        return None
    number = float(cell)
    if not math.isfinite(number):
        raise ValueError(cell)
    return number
