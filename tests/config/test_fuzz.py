"""Random mutations of a valid project never end in anything but a Project or a ConfigError.

A mutation is what a hurried edit does to a file: a key deleted, a value of another type, a
junk key, two values swapped, the text cut short or garbled. Whatever comes out, the loader
must answer with problems that each name a file, never with another exception.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okr_pipeline.config import ConfigError, Project, lint, load_project

from .conftest import EVENTS_TOKEN
from .project_files import VALID_FILES, write_files

YAML_FILES = sorted(name for name in VALID_FILES if name.endswith(".yaml"))
JUNK_VALUES = [
    None, 0, -1, 1.5, 10**30, True, "", "x", "${OKR_FUZZ_UNSET}", "2026-02-30", "manual",
    "app_db.signups", "trailing_0d", [], {}, [1, "a"], {"a": 1}, {"type": "rollup"},
    [{"id": "x"}], float("nan"),
]  # fmt: skip
JUNK_TEXT = ["\t", ":", "- ", "[", "}", "\n  ", "&a ", "*a", "!!int ", "#", '"', "${", "\x00"]


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OKR_TEST_EVENTS_TOKEN", EVENTS_TOKEN)
        yield write_files(tmp_path_factory.mktemp("fuzz"), VALID_FILES)


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a YAML tree, the root included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def get(tree: Any, path: tuple) -> Any:
    for step in path:
        tree = tree[step]
    return tree


def put(tree: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    get(tree, path[:-1])[path[-1]] = value
    return tree


def junk(data: st.DataObject) -> Any:
    """A fresh copy: later mutations must not change the shared list of junk values."""
    return copy.deepcopy(data.draw(st.sampled_from(JUNK_VALUES), label="value"))


def mutate_tree(tree: Any, data: st.DataObject) -> Any:
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        places = list(paths(tree))
        place = data.draw(st.sampled_from(places), label="place")
        action = data.draw(st.sampled_from(["delete", "retype", "junk_key", "swap"]))
        parent = get(tree, place[:-1]) if place else None
        if action == "delete" and place:
            del parent[place[-1]]
        elif action == "retype":
            tree = put(tree, place, junk(data))
        elif action == "junk_key" and isinstance(get(tree, place), dict):
            key = data.draw(st.sampled_from(["junk", "id", "type", "kind", "metrics", 7]))
            get(tree, place)[key] = junk(data)
        elif action == "swap":
            other = data.draw(st.sampled_from(places), label="other")
            disjoint = place[: len(other)] != other and other[: len(place)] != place
            if disjoint:
                first, second = get(tree, place), get(tree, other)
                tree = put(tree, place, second)
                tree = put(tree, other, first)
    return tree


def mutate_text(text: str, data: st.DataObject) -> str | bytes:
    action = data.draw(st.sampled_from(["truncate", "insert", "bytes"]))
    at = data.draw(st.integers(0, len(text)), label="position")
    if action == "truncate":
        return text[:at]
    if action == "insert":
        return text[:at] + data.draw(st.sampled_from(JUNK_TEXT), label="junk") + text[at:]
    return text[:at].encode() + b"\xff\xfe" + text[at:].encode()


@settings(
    max_examples=int(os.environ.get("OKR_FUZZ_EXAMPLES", "400")),  # raise it for a deep run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutations_give_a_project_or_config_error(base_dir: Path, data: st.DataObject) -> None:
    os.environ.pop("OKR_FUZZ_UNSET", None)
    file = data.draw(st.sampled_from([*YAML_FILES, "checkins/2026-q4.csv"]), label="file")
    original = VALID_FILES[file]
    if file.endswith(".yaml") and data.draw(st.booleans(), label="structural"):
        tree = mutate_tree(yaml.safe_load(original), data)
        content: str | bytes = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    else:
        content = mutate_text(original, data)
    write_files(base_dir, {file: content})
    try:
        try:
            project = load_project(base_dir)
        except ConfigError as error:
            assert error.problems, "a ConfigError without problems"
            for problem in error.problems:
                assert problem.file, f"problem without a file: {problem}"
                assert str(problem).startswith(problem.file)
        else:
            assert isinstance(project, Project)
            assert all(warning.file for warning in lint(project))
    finally:
        write_files(base_dir, {file: original})
