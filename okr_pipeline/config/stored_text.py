"""Text a project writes that the warehouse stores as written: ids, names, owners, teams,
themes and units up to ID_LENGTH characters; titles, descriptions and check-in notes up to
TEXT_LENGTH; no control characters (C0 with NUL, DEL, C1). PostgreSQL cannot store NUL, and
an escape sequence in a title would reach every terminal that prints it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ID_LENGTH = 100
TEXT_LENGTH = 500
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PROSE_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab, line feed allowed


def too_long(limit: int, length: int) -> str:
    return f"at most {limit} characters (this one has {length})"


def control_character_problem(text: str, pattern: re.Pattern = CONTROL_CHARACTER) -> str | None:
    """Why a text cannot be stored as written, naming its first control character; or None."""
    found = pattern.search(text)
    return f"contains a control character (U+{ord(found[0]):04X})" if found else None


def text_problem(text: str, limit: int) -> str | None:
    """Why one line of text (a CSV cell) cannot be stored as written, or None."""
    if len(text) > limit:
        return too_long(limit, len(text))
    return control_character_problem(text)


def _plain(text: str) -> str:
    problem = control_character_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def _prose(text: str) -> str:
    problem = control_character_problem(text, PROSE_CONTROL_CHARACTER)
    if problem:
        raise ValueError(problem)
    return text


# An id, a name, an owner, a team, a theme, a unit: one line of plain text.
Name = Annotated[str, StringConstraints(max_length=ID_LENGTH), AfterValidator(_plain)]
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=TEXT_LENGTH), AfterValidator(_plain)
]
# A description: may run over several lines.
Prose = Annotated[str, StringConstraints(max_length=TEXT_LENGTH), AfterValidator(_prose)]
