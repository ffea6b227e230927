"""Webhook notifications after a run (`notify:` in okr_project.yaml): what needs attention.

The message compares the run's `kr_scores` with those of the previous as-of date stored:
a key result whose status moved later in `STATUS_SEVERITY`, one whose `data_status` was `ok`
and no longer is, and one whose check-in fell due. Each webhook gets one JSON POST with a
Slack-compatible `text` and the same facts as structured fields; a webhook only hears about
the kinds in its `on:` list, and nothing is posted when there is nothing to say. A webhook
that fails is a returned problem, never an exception: a chat outage must not fail the
nightly run.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pandas as pd
import sqlalchemy as sa

from okr_pipeline import warehouse
from okr_pipeline.config import Project
from okr_pipeline.secrets import redact
from okr_pipeline.sources.transport import OutOfTime, TransportError, bounded_session, exchange

STATUS_SEVERITY = (
    "achieved", "on_track", "not_started", "no_data", "at_risk", "off_track", "missed",
)  # fmt: skip
"""Better first: a status later in this order is worse."""
TIMEOUT_SECONDS = 10  # the whole post, connect to the last byte read of the reply
REPLY_BYTES = 4096  # a webhook's reply is read only this far
FIELDS = ["cycle_id", "kr_id", "objective_id", "title", "owner", "team"]


def previous_as_of(engine: sa.Engine, as_of: date) -> date | None:
    table = warehouse.kr_scores
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.max(table.c.as_of)).where(table.c.as_of < as_of)
        ).scalar()


def _plain(value):
    """A JSON-ready scalar: None for NaN, Python numbers for numpy ones."""
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def changes(current: pd.DataFrame, previous: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """(status got worse, data left ok) for key results scored on both dates."""
    both = current.merge(
        previous[["cycle_id", "kr_id", "status", "data_status"]],
        on=["cycle_id", "kr_id"],
        suffixes=("", "_before"),
    ).sort_values(["cycle_id", "kr_id"])
    severity = {status: rank for rank, status in enumerate(STATUS_SEVERITY)}
    now = both["status"].map(severity)
    before = both["status_before"].map(severity)
    worse = both[now.notna() & before.notna() & (now > before)]
    broken = both[(both["data_status_before"] == "ok") & (both["data_status"] != "ok")]

    status_changes = [
        {
            **{name: _plain(row[name]) for name in FIELDS},
            "from": row["status_before"],
            "to": row["status"],
            "score": _plain(row["score"]),
            "expected": _plain(row["expected"]),
        }
        for _, row in worse.iterrows()
    ]
    data_problems = [
        {
            **{name: _plain(row[name]) for name in FIELDS},
            "from": row["data_status_before"],
            "to": row["data_status"],
            "message": _plain(row["data_message"]),
        }
        for _, row in broken.iterrows()
    ]
    return status_changes, data_problems


def _same(before: pd.Series, now: pd.Series) -> pd.Series:
    """Equal, a null being equal to a null (no check-in before, none now)."""
    return (before == now) | (before.isna() & now.isna())


def checkin_reminders(current: pd.DataFrame, previous: pd.DataFrame) -> list[dict]:
    """Key results due for a check-in, once per due period: a period starts when one falls
    due and lasts until its next check-in, so a key result still due the day after, with
    the same newest check-in, is not reminded of it again."""
    both = current.merge(
        previous[["cycle_id", "kr_id", "checkin_due", "last_checkin_date"]],
        on=["cycle_id", "kr_id"],
        how="left",
        suffixes=("", "_before"),
    ).sort_values(["cycle_id", "kr_id"])
    was_due = both["checkin_due_before"].astype("boolean").fillna(False).astype(bool)
    reminded = was_due & _same(both["last_checkin_date_before"], both["last_checkin_date"])
    due = both[both["checkin_due"].astype("boolean").fillna(False).astype(bool) & ~reminded]
    return [
        {
            **{name: _plain(row[name]) for name in FIELDS},
            "last_checkin_date": None
            if pd.isna(row["last_checkin_date"])
            else str(row["last_checkin_date"]),
        }
        for _, row in due.iterrows()
    ]


def _slack(text: str) -> str:
    """Slack reads &, < and > as markup: a title must show as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


KINDS = {
    "status_change": "status_changes",
    "data_problem": "data_problems",
    "checkin_due": "checkins_due",
}
"""Each kind of `on:` and the field of the message that holds it."""


# Each kind's heading and its line per key result in the message's text.
TEXT = {
    "status_changes": (
        "key result(s) got worse",
        lambda c: (
            f"{_slack(c['title'] or c['kr_id'])} ({_slack(c['team'] or 'no team')}): "
            f"{c['from']} → {c['to']}"
        ),
    ),
    "data_problems": (
        "key result(s) with a new data problem",
        lambda p: f"{_slack(p['title'] or p['kr_id'])}: {p['to']}: {_slack(p['message'] or '')}",
    ),
    "checkins_due": (
        "check-in(s) due",
        lambda c: (
            f"{_slack(c['title'] or c['kr_id'])} ({_slack(c['kr_id'])}): "
            f"{_slack(c['owner'] or 'no owner')}, "
            f"last check-in {c['last_checkin_date'] or 'none yet'}"
        ),
    ),
}


def message(as_of: date, previous: date | None, found: dict[str, list[dict]]) -> dict:
    """The JSON body: `text` for Slack and chat tools, and the same facts as fields (one
    field per kind in `found`, keyed by its field name)."""
    compared = f" (compared with {previous})" if previous else ""
    lines = [f"OKR update for {as_of}{compared}"]
    for field, (heading, line) in TEXT.items():
        items = found.get(field, [])
        if items:
            lines.append(f"{len(items)} {heading}:")
            lines += [f"• {line(item)}" for item in items]
    return {
        "text": "\n".join(lines),
        "as_of": as_of.isoformat(),
        "previous_as_of": previous.isoformat() if previous else None,
        **found,
    }


def _shown(url: str) -> str:
    """A webhook's address without its path and query, which usually hold its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/***"


def post(url: str, body: dict, secrets) -> str | None:
    """POST one message within TIMEOUT_SECONDS in all, reading at most REPLY_BYTES of the
    reply (only its status matters); a short, redacted problem on failure, None on success."""
    try:
        with bounded_session() as session:
            reply = exchange(
                session,
                "POST",
                url,
                seconds=TIMEOUT_SECONDS,
                max_bytes=REPLY_BYTES,
                json_body=body,
            )
        reason = f"HTTP {reply.status}" if reply.status >= 300 else None
    except OutOfTime:
        reason = f"no answer within {TIMEOUT_SECONDS:g} s"
    except TransportError as error:
        reason = str(error)
    if reason is None:
        return None
    path = urlsplit(url).path
    hidden = {*secrets, url, *([path] if len(path) > 1 else [])}
    return redact(f"webhook {_shown(url)} failed: {reason}", hidden)


def notify(project: Project, engine: sa.Engine, as_of: date) -> list[str]:
    """Post what needs attention on `as_of` to every webhook of `notify:`; return the
    problems. Changes need a previous date to compare with; check-ins due do not."""
    hooks = project.settings.notify
    if not hooks:
        return []
    current = warehouse.read_table(engine, warehouse.kr_scores, as_of)
    previous = previous_as_of(engine, as_of)
    before = (
        warehouse.read_table(engine, warehouse.kr_scores, previous)
        if previous
        else current.iloc[:0]
    )
    status_changes, data_problems = changes(current, before)
    every = {
        "status_changes": status_changes,
        "data_problems": data_problems,
        "checkins_due": checkin_reminders(current, before),
    }
    problems = []
    for hook in hooks:
        found = {KINDS[kind]: every[KINDS[kind]] for kind in hook.on}
        if not any(found.values()):
            continue
        problem = post(hook.url, message(as_of, previous, found), project.secrets)
        if problem:
            problems.append(problem)
    return problems
