"""What a user is told when the warehouse cannot be used: one line, never a traceback.

Kept free of SQLAlchemy and pandas: `status` reads a SQLite warehouse with the stdlib only
(see `scoreboard`) and must say what went wrong as plainly as every other command.
"""

from __future__ import annotations

import re

from okr_pipeline.secrets import redact
from okr_pipeline.text import inert

# `scheme://user:password@` as SQLAlchemy reads it: the password runs to the last `@`.
_PASSWORD = re.compile(r"^(?P<start>[^:/]+://[^:/@]*):(?P<password>.*)@(?P<rest>[^@]*)$")
_ERRNO = re.compile(r"\(\[Errno -?\d+\] (?P<reason>[^)]*)\)")


NO_SCORES = "the warehouse has no scores yet: run `okr-pipeline run` first"


class WarehouseError(Exception):
    """The warehouse cannot be used as asked; the message is the whole story, in one line."""


def not_scored(day: object, first: object, last: object) -> WarehouseError:
    """A date the warehouse holds no scores of, with the dates it does."""
    return WarehouseError(f"no scores as of {day}; scored dates: {first} .. {last}")


def password_of(url: str) -> str | None:
    match = _PASSWORD.match(url)
    return match["password"] if match and match["password"] else None


def shown_url(url: str) -> str:
    """The URL as a message may show it: the password replaced by ***."""
    match = _PASSWORD.match(url)
    if not match or not match["password"]:
        return inert(url)
    return inert(f"{match['start']}:***@{match['rest']}")


def driver_reason(message: str) -> str:
    """The useful part of a driver's connection error, lower-cased like a clause.

    psycopg says `connection failed: connection to server at "h", port 1 failed: Connection
    refused`, PyMySQL `Can't connect to MySQL server on 'h' ([Errno 111] Connection refused)`
    and PostgreSQL `FATAL:  role "x" does not exist`: each ends up as the reason alone.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    reason = lines[0] if lines else "unknown error"
    reason = reason.rsplit(" failed: ", 1)[-1]
    reason = reason.removeprefix("FATAL:").strip()
    errno = _ERRNO.search(reason)
    if errno:
        reason = errno["reason"]
    if reason[:1].isupper() and not reason[1:2].isupper():
        reason = reason[0].lower() + reason[1:]
    return reason


def unreachable(url: str, message: str) -> WarehouseError:
    """`cannot connect to warehouse <url>: <reason>`, password-free."""
    secrets = {password_of(url)} - {None}
    return WarehouseError(
        redact(
            inert(f"cannot connect to warehouse {shown_url(url)}: {driver_reason(message)}"),
            secrets,
        )
    )


# What to do about the failures a run meets in the warehouse, found in the driver's words.
ADVICE = (
    (
        re.compile(r"database or disk is full|no space left|could not extend file|is full", re.I),
        "the warehouse's disk is full: free space there (or raise its quota) and run again",
    ),
    (
        re.compile(r"readonly database|read-only|read only", re.I),
        "the warehouse is read-only: give this user write access, or point --warehouse "
        "at a writable one",
    ),
    (
        re.compile(r"no such column|column .* does not exist|unknown column", re.I),
        "the warehouse lacks a column: run `okr-pipeline run` to upgrade it",
    ),
    (
        re.compile(r"database is locked|lock wait timeout|deadlock", re.I),
        "another process holds the warehouse: run again once it is done",
    ),
)


def failure_line(kind: str, message: str, secrets: set[str]) -> str:
    """`<kind>: <message>; <what to do>`: one inert, redacted line for a root cause."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = f"{kind}: {lines[0]}" if lines else kind
    advice = next((advice for pattern, advice in ADVICE if pattern.search(message)), None)
    return inert(redact(f"{text}; {advice}" if advice else text, secrets))
