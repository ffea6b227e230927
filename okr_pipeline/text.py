"""Text from outside (API errors, payload cells, config ids, notes) made inert.

Whatever a source or a file says may reach a terminal, a table or a page. Control
characters (C0, DEL, C1, NUL) could clear a screen, retitle a window or break a PostgreSQL
insert, so they are removed where the text is captured, and a message is capped there too,
so every later reader gets the same clean, short text.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 500
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def inert(text: str, limit: int | None = MESSAGE_LIMIT) -> str:
    """One line of printable text: breaks and tabs become a space, other control
    characters go, and past `limit` characters the text ends with an ellipsis."""
    text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", text))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text
