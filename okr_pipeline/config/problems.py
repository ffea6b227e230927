"""Config problems as users read them: `file: item: field: message`, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError


@dataclass(frozen=True, order=True)
class ConfigProblem:
    file: str
    item: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.item, self.field, self.message) if part)


class ConfigError(Exception):
    """Raised with every problem found, so a user fixes them all in one pass."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# The lists of a file whose entries are named by a key, and the word a user knows them by.
NAMED_LISTS = {
    "objectives": ("objective", "id"),
    "key_results": ("key result", "id"),
    "metrics": ("metric", "name"),
    "milestones": ("milestone", "name"),
    "checkpoints": ("checkpoint", "date"),
    "notify": ("notify", "url"),
}
# Names pydantic puts into a location for the member of a discriminated union it tried.
UNION_TAGS = {
    "sql", "csv", "rest", "prometheus", "github", "jira", "targetprocess",
    "increase", "decrease", "stay_above", "stay_below", "stay_between", "boolean",
    "milestones", "rollup", "bearer", "basic", "header", "query", "none", "page_number",
    "offset", "cursor", "next_url", "link_header",
}  # fmt: skip


def describe_location(raw: Any, loc: tuple, root_item: str = "") -> tuple[str, str]:
    """Split a location in a YAML tree into (item, field).

    `objectives.0.key_results.2.target` becomes ("objective grow › key result mrr", "target"),
    naming list entries by their id or name as the user wrote them.
    """
    items = [root_item] if root_item else []
    fields: list[str] = []
    node = raw
    position = 0
    while position < len(loc):
        key = loc[position]
        is_list_entry = (
            key in NAMED_LISTS and position + 1 < len(loc) and isinstance(loc[position + 1], int)
        )
        if is_list_entry and not fields:
            index = loc[position + 1]
            word, name_key = NAMED_LISTS[key]
            entries = node.get(key) if isinstance(node, dict) else None
            entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
            name = entry.get(name_key) if isinstance(entry, dict) else None
            items.append(f"{word} {name}" if name is not None else f"{word} #{index + 1}")
            node = entry
            position += 2
            continue
        if isinstance(key, str) and key in UNION_TAGS and isinstance(node, dict):
            if node.get("type") == key or node.get("kind") == key:
                position += 1
                continue
        if not items and not fields and key == "cycle":
            items.append("cycle")
        else:
            fields.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
        position += 1
    return " › ".join(items), ".".join(fields)


def _message(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "union_tag_invalid":
        context = error.get("ctx", {})
        return (
            f"unknown {context.get('discriminator', 'tag').strip(chr(39))} "
            f"{context.get('tag')!r}; expected one of {context.get('expected_tags')}"
        )
    text = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    return text[:1].lower() + text[1:]


def problems_from_validation(
    error: ValidationError, file: str, raw: Any, drop: int = 0, root_item: str = ""
) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems; `drop` skips wrapper keys at the start of a loc."""
    problems = []
    for entry in error.errors():
        loc = tuple(entry["loc"][drop:])
        field_missing_tag = entry["type"] == "union_tag_not_found"
        item, field = describe_location(raw, loc, root_item)
        if field_missing_tag:
            tag = entry.get("ctx", {}).get("discriminator", "").strip("'")
            field = ".".join(part for part in (field, tag) if part)
            problems.append(ConfigProblem(file, item, field, "field required"))
            continue
        problems.append(ConfigProblem(file, item, field, _message(entry)))
    return problems
