"""The one place secrets are scrubbed from text shown to anyone (messages, logs, tables).

A secret leaks in whatever encoding it was sent in, so each one is redacted in every form a
request carries it: as written, percent-encoded (spaces as `%20` or `+`, hex in either
case), and, for basic auth, the base64 of `user:password` (see `basic_credentials`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def basic_credentials(username: str, password: str) -> str:
    """What `Authorization: Basic` carries: a secret of its own, to redact like the password."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def encodings(secret: str) -> set[str]:
    """Every form of a secret a URL, a query string or a header may hold."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms |= {_HEX_ESCAPE.sub(lambda match: match[0].lower(), form) for form in forms}
    return {form for form in forms if form}


@lru_cache(maxsize=64)
def _patterns(secrets: frozenset[str]) -> tuple[str, ...]:
    """All forms of all secrets, longest first, so no part of a longer one survives."""
    forms = {form for secret in secrets for form in encodings(secret)}
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every form of every secret in a text by ***."""
    for form in _patterns(frozenset(secrets)):
        text = text.replace(form, "***")
    return text
