"""Reading a project's files: bytes to text, YAML to a tree, `${ENV}` substituted.

Every mistake becomes a ConfigProblem naming the file; nothing here raises on what a user
wrote.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from okr_pipeline.config.problems import ConfigProblem, describe_location

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# `${NAME}` is rewritten to this same-length form before parsing, because `{` ends a plain
# scalar inside a YAML flow mapping: `auth: {type: bearer, token: ${TOKEN}}` must parse.
ENV_PLACEHOLDER = re.compile(r"\$<([A-Za-z_][A-Za-z0-9_]*)>")


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


def read_text(path: Path, file: str, problems: list[ConfigProblem]) -> str | None:
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


def read_yaml(
    path: Path, file: str, problems: list[ConfigProblem], allow_empty: bool = False
) -> dict | None:
    """The top mapping of a YAML file as written (before ${ENV}), or None after a problem."""
    text = read_text(path, file, problems)
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


def expand_env(
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


def yaml_files(root: Path, folder: str) -> list[Path]:
    """The YAML files of a folder, hidden files (editor backups, `._x.yaml`) left out."""
    directory = root / folder
    if not directory.is_dir():
        return []
    paths = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(path for path in paths if path.is_file() and not path.name.startswith("."))
