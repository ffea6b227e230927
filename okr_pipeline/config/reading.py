"""Reading a project's files: bytes to text, YAML to a tree, `${ENV}` substituted.

Every mistake becomes a ConfigProblem naming the file; nothing here raises on what a user
wrote. What a file can make the pipeline hold is bounded here, before anything walks it: the
bytes of a file, the nesting of its tree, and its size once YAML aliases and `${ENV}` values
are expanded (a few lines of aliases can stand for a billion values).
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
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100  # levels of mappings and lists
# Values and characters once aliases and ${ENV} are expanded: twice what the largest file
# written without aliases can hold, so only aliases (or huge variables) reach it.
MAX_EXPANDED_SIZE = 20_000_000
MAX_SUBSTITUTED_LENGTH = 100_000  # characters of one string once its ${ENV} are substituted


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
    """The text of a file, read up to a cap so that a huge file (or a link to /dev/zero)
    is a problem, not all of memory."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        problems.append(ConfigProblem(file, "", "", f"cannot read file: {error.strerror}"))
        return None
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        problems.append(ConfigProblem(file, "", "", f"larger than {limit} MB"))
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


def expand(
    raw: dict, file: str, root_item: str, problems: list, secrets: set[str]
) -> tuple[dict, set[tuple[str, str]]] | None:
    """The tree with `${NAME}` replaced by the environment variable, never by ''; or None
    when the tree is nested too deep, holds an alias to itself, or expands too large.

    Also returns the (item, field) places of unset variables, whose other complaints (a URL
    that does not look like one) would only repeat the same mistake. The shape is checked
    before the substitution walks the tree, so that walk meets no loop and no deep nesting.
    """
    problem = _shape_problem(raw, raw, file, root_item)
    if problem is None:
        tree, unset = _substitute_env(raw, file, root_item, problems, secrets)
        problem = _shape_problem(tree, raw, file, root_item)
        if problem is None:
            return tree, unset
    problems.append(problem)
    return None


class _Measure:
    """Size and depth of every mapping and list of a tree as if every alias were expanded,
    memoized over shared nodes so that counting a billion-fold tree takes as long as reading
    its file; or the path to an alias that contains itself (a tree that never ends)."""

    def __init__(self, root: dict | list):
        self.sizes: dict[int, int] = {}
        self.depths: dict[int, int] = {}
        self.loop: list | None = None
        self._walk(root)
        self.size = self.sizes.get(id(root), 0)
        self.depth = self.depths.get(id(root), 0)

    def _walk(self, root: dict | list) -> None:
        """Depth first without recursion: nesting through aliases has no bound of its own."""
        stack = [_Frame(root)]
        path: list = []  # the keys from the root to the top frame
        open_nodes = {id(root)}
        while stack:
            frame = stack[-1]
            entry = next(frame.entries, None)
            if entry is None:
                stack.pop()
                open_nodes.discard(id(frame.node))
                self.sizes[id(frame.node)] = frame.size
                self.depths[id(frame.node)] = frame.depth
                if stack:
                    stack[-1].add(frame.size, frame.depth)
                    path.pop()
                continue
            key, child = entry
            if not isinstance(child, dict | list):
                frame.add(_scalar_size(child), 0)
            elif id(child) in open_nodes:
                self.loop = [*path, key]
                return
            elif id(child) in self.sizes:
                frame.add(self.sizes[id(child)], self.depths[id(child)])
            else:
                path.append(key)
                open_nodes.add(id(child))
                stack.append(_Frame(child))

    def deepest_path(self, root: dict | list, levels: int) -> list:
        """The keys from the root down `levels` levels towards the deepest node."""
        path: list = []
        node = root
        while len(path) < levels:
            key, node = max(_containers(node), key=lambda entry: self.depths[id(entry[1])])
            path.append(key)
        return path

    def largest_path(self, root: dict | list) -> list:
        """The keys from the root down to the node that holds most of the whole size."""
        path: list = []
        node = root
        while containers := _containers(node):
            key, child = max(containers, key=lambda entry: self.sizes[id(entry[1])])
            if 2 * self.sizes[id(child)] <= self.size:
                break
            path.append(key)
            node = child
        return path


def _containers(node: dict | list) -> list[tuple[Any, dict | list]]:
    """The (key, child) entries of a node whose child is a mapping or a list."""
    entries = node.items() if isinstance(node, dict) else enumerate(node)
    return [(key, child) for key, child in entries if isinstance(child, dict | list)]


class _Frame:
    """A mapping or list being measured: its entries still to visit and its count so far."""

    def __init__(self, node: dict | list):
        self.node = node
        self.entries = iter(node.items()) if isinstance(node, dict) else iter(enumerate(node))
        self.size = 1 + (sum(_scalar_size(key) for key in node) if isinstance(node, dict) else 0)
        self.depth = 1

    def add(self, size: int, depth: int) -> None:
        self.size += size
        self.depth = max(self.depth, depth + 1)


def _scalar_size(value: Any) -> int:
    return max(1, len(value)) if isinstance(value, str) else 1


def _shape_problem(tree: dict, raw: dict, file: str, root_item: str) -> ConfigProblem | None:
    """A loop, nesting too deep or a size too large in `tree`, placed by the names in `raw`."""
    measure = _Measure(tree)
    if measure.loop is not None:
        path, message = measure.loop, "an alias refers to a node that contains it"
    elif measure.depth > MAX_DEPTH:
        path, message = (
            measure.deepest_path(tree, MAX_DEPTH),
            f"nested deeper than {MAX_DEPTH} levels",
        )
    elif measure.size > MAX_EXPANDED_SIZE:
        path = measure.largest_path(tree)
        message = (
            f"too large: more than {MAX_EXPANDED_SIZE:,} values and characters once "
            "YAML aliases and ${ENV} values are expanded"
        )
    else:
        return None
    item, where = describe_location(raw, tuple(path), root_item)
    # The start of a long dotted path: enough to find the place, short enough to read.
    return ConfigProblem(file, item, ".".join(where.split(".")[:2]), message)


def _substitute_env(
    raw: dict, file: str, root_item: str, problems: list, secrets: set[str]
) -> tuple[dict, set[tuple[str, str]]]:
    """Every string with its `${NAME}`s replaced; a node shared through YAML anchors is
    expanded once, and so is each distinct string, so the result shares what the file shares."""
    unset: set[tuple[str, str]] = set()
    done: dict[int, Any] = {}
    substituted: dict[str, str] = {}

    def expand(node: Any, loc: tuple) -> Any:
        if isinstance(node, dict | list) and id(node) in done:
            return done[id(node)]
        if isinstance(node, dict):
            done[id(node)] = {key: expand(value, (*loc, key)) for key, value in node.items()}
            return done[id(node)]
        if isinstance(node, list):
            done[id(node)] = [expand(value, (*loc, index)) for index, value in enumerate(node)]
            return done[id(node)]
        if not isinstance(node, str) or not ENV_PLACEHOLDER.search(node):
            return node
        if node in substituted:
            return substituted[node]
        values = (os.environ.get(name) for name in ENV_PLACEHOLDER.findall(node))
        secrets.update(value for value in values if value is not None)
        found = _substitution(node)
        if isinstance(found, str):
            substituted[node] = found
            return found
        item, where = describe_location(raw, loc, root_item)
        unset.add((item, where))
        problems.extend(ConfigProblem(file, item, where, message) for message in found)
        return node

    return expand(raw, ()), unset


def _substitution(text: str) -> str | list[str]:
    """The text with its variables substituted, or why it cannot be: variables not set, or
    a result too long (measured before it is built)."""
    names = ENV_PLACEHOLDER.findall(text)
    missing = [name for name in dict.fromkeys(names) if os.environ.get(name) is None]
    if missing:
        return [f"environment variable {name} is not set" for name in missing]
    length = len(ENV_PLACEHOLDER.sub("", text)) + sum(len(os.environ[name]) for name in names)
    if length > MAX_SUBSTITUTED_LENGTH:
        return [
            f"longer than {MAX_SUBSTITUTED_LENGTH:,} characters once its ${{ENV}} values are "
            f"substituted (this one has {length:,})"
        ]
    return ENV_PLACEHOLDER.sub(lambda match: os.environ[match[1]], text)


def yaml_files(root: Path, folder: str) -> list[Path]:
    """The YAML files of a folder, hidden files (editor backups, `._x.yaml`) left out."""
    directory = root / folder
    if not directory.is_dir():
        return []
    paths = [*directory.glob("*.yaml"), *directory.glob("*.yml")]
    return sorted(path for path in paths if path.is_file() and not path.name.startswith("."))


def outside_project(root: Path, path: Path) -> str | None:
    """Why a file the project names is not the project's own, or None: after following
    symlinks it must lie inside the project directory, so that a checkout cannot make a run
    read (and report on) files elsewhere on the machine."""
    try:
        resolved = path.resolve()
    except ValueError:
        return "is not a path: it holds a NUL character"
    except (OSError, RuntimeError):  # a symlink loop
        return "cannot be resolved: a symbolic link loops"
    return (
        None
        if resolved.is_relative_to(root.resolve())
        else "resolves outside the project directory"
    )
