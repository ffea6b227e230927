"""Config problems as users read them: `file: item: field: message`, never a traceback."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import ValidationError

from okr_pipeline.secrets import redact
from okr_pipeline.text import inert


@dataclass(frozen=True, order=True)
class ConfigProblem:
    file: str
    item: str
    field: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __post_init__(self) -> None:
        """Every part is shown to a user as it is: ids and values quoted from a file lose
        their control characters here, whoever made the problem."""
        for name in ("file", "item", "field", "message"):
            object.__setattr__(self, name, inert(getattr(self, name)))

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.item, self.field, self.message) if part)

    def redacted(self, secrets: Iterable[str]) -> ConfigProblem:
        """The same problem with any secret value it quotes replaced by ***."""
        return replace(self, message=redact(self.message, secrets))


class ConfigError(Exception):
    """Raised with every problem found, so a user fixes them all in one pass."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


_DIGITS = re.compile(r"(\d+)")


def _natural(text: str) -> tuple:
    """`line 9` before `line 10`: numbers inside a text compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


def sorted_problems(problems: Iterable[ConfigProblem]) -> list[ConfigProblem]:
    """Deduplicated, in a stable order (file, item, field, message), so output diffs cleanly."""
    return sorted(
        set(problems),
        key=lambda p: (
            _natural(p.file),
            _natural(p.item),
            _natural(p.field),
            p.message,
            p.severity,
        ),
    )


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """A hint for a near miss, e.g. ` (did you mean 'billing.mrr'?)`, or ''."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def too_long(limit: int, length: int) -> str:
    return f"at most {limit} characters (this one has {length})"


# The lists of a file whose entries are named by a key, and the word a user knows them by.
# Notifications are named by position only: their URL usually holds a secret.
NAMED_LISTS = {
    "objectives": ("objective", "id"),
    "key_results": ("key result", "id"),
    "metrics": ("metric", "name"),
    "milestones": ("milestone", "name"),
    "checkpoints": ("checkpoint", "date"),
    "notify": ("notify", None),
}
# Names pydantic puts into a location for the member of a discriminated union it tried.
UNION_TAGS = {
    "sql", "csv", "rest", "prometheus", "github", "jira", "targetprocess",
    "increase", "decrease", "stay_above", "stay_below", "stay_between", "boolean",
    "milestones", "rollup", "bearer", "basic", "header", "query", "none", "page_number",
    "offset", "cursor", "next_url", "link_header",
}  # fmt: skip


def _entry_name(entry: Any, word: str, name_key: str | None, index: int) -> str:
    name = entry.get(name_key) if name_key and isinstance(entry, dict) else None
    readable = isinstance(name, str | int) and not isinstance(name, bool) and str(name).strip()
    return f"{word} {name}" if readable else f"{word} #{index + 1}"


def describe_location(raw: Any, loc: tuple, root_item: str = "") -> tuple[str, str]:
    """Split a location in a YAML tree into (item, field).

    `objectives.0.key_results.2.target` becomes ("objective grow › key result mrr", "target"),
    naming list entries by their id or name as the user wrote them (by position when the
    name is missing or not a plain value).
    """
    items = [root_item] if root_item else []
    fields: list[str] = []
    node = raw
    position = 0
    while position < len(loc):
        key = loc[position]
        is_list_entry = (
            isinstance(key, str)
            and key in NAMED_LISTS
            and position + 1 < len(loc)
            and isinstance(loc[position + 1], int)
        )
        if is_list_entry and not fields:
            index = loc[position + 1]
            word, name_key = NAMED_LISTS[key]
            entries = node.get(key) if isinstance(node, dict) else None
            entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
            items.append(_entry_name(entry, word, name_key, index))
            node = entry
            position += 2
            continue
        is_union_tag = (
            isinstance(key, str)
            and key in UNION_TAGS
            and isinstance(node, dict)
            and key in (node.get("type"), node.get("kind"))
        )
        if is_union_tag:
            position += 1
            continue
        if not items and not fields and key == "cycle":
            items.append("cycle")
        else:
            fields.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
        position += 1
    return " › ".join(items), ".".join(fields)


# Patterns of the models, in words.
PATTERN_WORDS = {
    r"^[a-z0-9_]+$": "use only lowercase letters, digits and _",
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$": (
        "use letters, digits, _, . and -, starting with a letter or digit"
    ),
    r"^(manual|[a-z0-9_]+\.[a-z0-9_]+)$": 'expected "<source>.<metric>" or "manual"',
    r"^[\w.-]+/[\w.-]+$": 'expected "<owner>/<repository>"',
}
PLAIN_MESSAGES = {
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "invalid_key": "keys must be strings",
}


def _message(error: dict) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in PLAIN_MESSAGES:
        return PLAIN_MESSAGES[kind]
    if kind == "union_tag_invalid":
        return (
            f"unknown {context.get('discriminator', 'tag').strip(chr(39))} "
            f"{context.get('tag')!r}; expected one of: "
            f"{str(context.get('expected_tags', '')).replace(chr(39), '')}"
        )
    if kind == "string_pattern_mismatch" and context.get("pattern") in PATTERN_WORDS:
        return PATTERN_WORDS[context["pattern"]]
    if kind in ("too_short", "string_too_short") and context.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_long" and isinstance(error.get("input"), str):
        return too_long(context["max_length"], len(error["input"]))
    text = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    text = text.replace("Input should be ", "must be ", 1)
    return text[:1].lower() + text[1:]


def problems_from_validation(
    error: ValidationError, file: str, raw: Any, drop: int = 0, root_item: str = ""
) -> list[ConfigProblem]:
    """Turn pydantic's errors into problems; `drop` skips wrapper keys at the start of a loc."""
    problems = []
    for entry in error.errors():
        loc = tuple(entry["loc"][drop:])
        item, field = describe_location(raw, loc, root_item)
        if entry["type"] in ("union_tag_not_found", "union_tag_invalid"):
            tag = (entry.get("ctx") or {}).get("discriminator", "").strip("'")
            field = ".".join(part for part in (field, tag) if part)
        message = "field required" if entry["type"] == "union_tag_not_found" else _message(entry)
        problems.append(ConfigProblem(file, item, field, message))
    return problems
