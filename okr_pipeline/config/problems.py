"""Config problems as users read them: `file: item: field: message`, never a traceback."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from okr_pipeline.config.stored_text import too_long
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


def closest(name: object, known: Iterable[str]) -> str | None:
    """The known name a near miss most likely meant, or None."""
    if not isinstance(name, str):
        return None
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """A hint for a near miss, e.g. ` (did you mean 'billing.mrr'?)`, or ''."""
    meant = closest(name, known)
    return f" (did you mean {meant!r}?)" if meant else ""


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
    r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$": (
        'expected an asset key such as "analytics/fct_orders": letters, digits, _, . and -, '
        "its parts joined by /"
    ),
}
PLAIN_MESSAGES = {
    "missing": "field required",
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
    error: ValidationError,
    model: type[BaseModel],
    file: str,
    raw: Any,
    drop: int = 0,
    root_item: str = "",
) -> list[ConfigProblem]:
    """Turn pydantic's errors about `model` into problems; `drop` skips wrapper keys at the
    start of a loc.

    A misspelled field is reported once, with the name it most likely meant; that field is
    not reported missing as well.
    """
    problems = []
    entries = error.errors()
    meant = {
        (*entry["loc"][:-1], closest(entry["loc"][-1], field_names(model, entry["loc"][:-1])))
        for entry in entries
        if entry["type"] == "extra_forbidden"
    }
    for entry in entries:
        if entry["type"] == "missing" and tuple(entry["loc"]) in meant:
            continue
        loc = tuple(entry["loc"][drop:])
        item, field = describe_location(raw, loc, root_item)
        misspelled = None
        if entry["type"] in ("union_tag_not_found", "union_tag_invalid"):
            tag = (entry.get("ctx") or {}).get("discriminator", "").strip("'")
            if entry["type"] == "union_tag_not_found":
                misspelled = _misspelled_tag(entry.get("input"), tag, model, entry["loc"])
            field = ".".join(part for part in (field, misspelled or tag) if part)
        if entry["type"] == "union_tag_not_found":
            message = (
                f"unknown field {misspelled!r} (did you mean {tag!r}?)"
                if misspelled
                else "field required"
            )
        elif entry["type"] == "extra_forbidden":
            name = entry["loc"][-1]
            known = field_names(model, entry["loc"][:-1])
            message = f"unknown field {str(name)!r}" + did_you_mean(name, known)
        else:
            message = _message(entry)
        problems.append(ConfigProblem(file, item, field, message))
    return problems


def _misspelled_tag(written: Any, tag: str, model: type[BaseModel], loc: tuple) -> str | None:
    """The key of `written` that most likely meant the missing `tag` (`tpe` for `type`): a
    key no member of the union knows, close to the tag. pydantic stops at the missing tag,
    so the misspelling is not reported as an unknown field otherwise."""
    if not isinstance(written, dict) or not tag:
        return None
    known = field_names(model, tuple(loc))
    unknown = [key for key in written if isinstance(key, str) and key not in known]
    return next((key for key in unknown if closest(key, {tag}) == tag), None)


def field_names(model: type[BaseModel], loc: tuple) -> set[str]:
    """The field names (as written in YAML: aliases) of the model found at `loc` inside
    `model`, following pydantic's locations: a field name, a list index, a mapping key, and
    the tag of the member of a discriminated union that was tried."""
    candidates: list[Any] = [model]
    for step in loc:
        candidates = _step(candidates, step)
    return {
        field.alias or name
        for candidate in candidates
        if _is_model(candidate)
        for name, field in candidate.model_fields.items()
    }


def _step(candidates: list[Any], step: object) -> list[Any]:
    tagged = [c for c in candidates if _is_model(c) and step in _tags(c)]
    if len(candidates) > 1 and tagged:
        return tagged
    found: list[Any] = []
    for candidate in candidates:
        if _is_model(candidate):
            fields = {field.alias or name: field for name, field in candidate.model_fields.items()}
            if step in fields:
                found += _members(fields[step].annotation)
        elif get_origin(candidate) is list and isinstance(step, int):
            found += _members(get_args(candidate)[0])
        elif get_origin(candidate) is dict:
            found += _members(get_args(candidate)[1])
    return found


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: Annotated and Optional unwrapped, unions split."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [m for a in get_args(annotation) if a is not NoneType for m in _members(a)]
    return [annotation]


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _tags(model: type[BaseModel]) -> set[object]:
    """The values of a model's Literal fields: how a discriminated union names it."""
    return {
        value
        for field in model.model_fields.values()
        if get_origin(field.annotation) is Literal
        for value in get_args(field.annotation)
    }
