"""The one place secrets are scrubbed from text shown to anyone (messages, logs, tables)."""

from __future__ import annotations

from collections.abc import Iterable


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in a text by ***, longest first so no part of one survives."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
