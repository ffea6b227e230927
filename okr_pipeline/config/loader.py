"""Load a project directory into typed models, or report every problem in it.

Every mistake in a file becomes a ConfigProblem; nothing a user writes raises anything but
ConfigError. This module reads each kind of file in turn and assembles the Project; reading
YAML, secrets in files, references between files and check-ins each have their own module.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from okr_pipeline.config.checkins import Checkin, load_checkins
from okr_pipeline.config.file_secrets import (
    credentials,
    secrets_written_in_file,
    shown_secrets,
)
from okr_pipeline.config.models import (
    ID,
    CsvSource,
    Cycle,
    Objective,
    OkrFile,
    ProjectSettings,
    SourceFile,
)
from okr_pipeline.config.problems import (
    ConfigError,
    ConfigProblem,
    problems_from_validation,
    sorted_problems,
)
from okr_pipeline.config.reading import expand, outside_project, read_yaml, yaml_files
from okr_pipeline.config.references import MetricCatalog, cross_check_cycle, cycle_differences
from okr_pipeline.config.stored_text import ID_LENGTH

PROJECT_FILE = "okr_project.yaml"


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
    # values that must never be shown: env values, URL passwords, tokens, secret headers,
    # the base64 of basic auth
    secrets: frozenset[str]
    # found while reading: secrets in files, check-ins a run would ignore
    load_warnings: tuple[ConfigProblem, ...] = ()

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


PROJECT_FILES = ("okr_project.yaml", "metric_sources/*.y*ml", "okrs/*.y*ml", "checkins/*.csv")


def load_project(root: Path | str) -> Project:
    """Load and cross-check every file; raise ConfigError listing every problem found.

    Parsed once per content of the files and environment (`${NAME}` substitution), however
    often it is asked for: a run asks from the command line, the definitions and each step,
    and the YAML of 10,000 key results takes seconds to parse."""
    root = Path(root)
    return _load_project(root, root.resolve(), _project_stamp(root))


def _project_stamp(root: Path) -> tuple:
    """What a load depends on: every config file's content (hashed; far cheaper than parsing
    the YAML) and the environment."""
    files = sorted(path for pattern in PROJECT_FILES for path in root.glob(pattern))
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest(), tuple(sorted(os.environ.items()))


@lru_cache(maxsize=4)
def _load_project(root: Path, resolved: Path, stamp: tuple) -> Project:
    """The load itself; `resolved` and `stamp` only key the cache (a relative root means
    another project in another working directory)."""
    if not root.is_dir():
        raise ConfigError([ConfigProblem(str(root), "", "", "project directory not found")])
    problems: list[ConfigProblem] = []
    secrets: set[str] = set()

    settings = ProjectSettings()
    if (root / PROJECT_FILE).is_file():
        settings = _load_settings(root / PROJECT_FILE, problems, secrets) or settings
    warnings: list[ConfigProblem] = []
    sources, source_files, catalog = _load_sources(root, problems, warnings, secrets)
    cycles, complete = _load_okrs(root, catalog, problems, secrets)
    checkins = load_checkins(root, cycles, complete, problems, warnings)

    if problems:
        shown = shown_secrets(secrets)
        raise ConfigError(sorted_problems([problem.redacted(shown) for problem in problems]))
    secrets |= credentials(sources, settings)
    return Project(
        root=root,
        settings=settings,
        sources=sources,
        source_files=source_files,
        cycles=tuple(cycles),
        checkins=tuple(checkins),
        secrets=shown_secrets(secrets),
        load_warnings=tuple(warnings),
    )


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
        found = problems_from_validation(error, model, file, raw, drop=drop, root_item=root_item)
        problems.extend(p for p in found if (p.item, p.field) not in unset)
        return None


def _load_settings(path: Path, problems: list, secrets: set[str]) -> ProjectSettings | None:
    raw = read_yaml(path, PROJECT_FILE, problems, allow_empty=True)
    expanded = expand(raw, PROJECT_FILE, "", problems, secrets) if raw is not None else None
    if expanded is None:
        return None
    tree, unset = expanded
    return _validate(ProjectSettings, tree, PROJECT_FILE, problems, raw, unset)


def _load_sources(
    root: Path, problems: list, warnings: list, secrets: set
) -> tuple[dict, dict, MetricCatalog]:
    sources: dict = {}
    files: dict[str, str] = {}
    catalog = MetricCatalog()
    for path in yaml_files(root, "metric_sources"):
        file = path.relative_to(root).as_posix()
        raw = read_yaml(path, file, problems)
        name = raw.get("name") if raw is not None else None
        root_item = f"source {name}" if isinstance(name, str) and name.strip() else ""
        source = None
        expanded = expand(raw, file, root_item, problems, secrets) if raw is not None else None
        if expanded is not None:
            tree, unset = expanded
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
        warnings.extend(secrets_written_in_file(raw, file, root_item))
        if isinstance(source, CsvSource) and not Path(source.path).is_absolute():
            outside = outside_project(root, root / source.path)
            if outside:
                problems.append(ConfigProblem(file, root_item, "path", outside))
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


def _load_okrs(
    root: Path, catalog: MetricCatalog, problems: list, secrets: set[str]
) -> tuple[list[CycleOkrs], bool]:
    """The cycles, and whether every OKR file could be read (else a key result may be missing)."""
    paths = yaml_files(root, "okrs")
    if not paths:
        problems.append(ConfigProblem("okrs/", "", "", "no OKR files found (okrs/*.yaml)"))
    by_cycle: dict[str, list[tuple[str, OkrFile]]] = defaultdict(list)
    broken_cycles: set[str] = set()
    unknown_broken_cycle = False
    for path in paths:
        file = path.relative_to(root).as_posix()
        raw = read_yaml(path, file, problems)
        parsed = None
        expanded = expand(raw, file, "", problems, secrets) if raw is not None else None
        if expanded is not None:
            tree, unset = expanded
            parsed = _validate(OkrFile, tree, file, problems, raw, unset)
        if parsed is not None:
            by_cycle[parsed.cycle.id].append((file, parsed))
            continue
        cycle = raw.get("cycle") if raw is not None else None
        cycle_id = cycle.get("id") if isinstance(cycle, dict) else None
        if isinstance(cycle_id, str) and re.match(ID, cycle_id) and len(cycle_id) <= ID_LENGTH:
            broken_cycles.add(cycle_id)
        else:
            unknown_broken_cycle = True

    cycles = []
    for cycle_id, documents in by_cycle.items():
        problems.extend(cycle_differences(cycle_id, documents))
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
        problems.extend(cross_check_cycle(okrs, documents, catalog, complete))
        cycles.append(okrs)
    return cycles, not broken_cycles and not unknown_broken_cycle
