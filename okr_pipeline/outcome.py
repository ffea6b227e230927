"""What `run` and `backfill` tell the user about a Dagster run: the root cause of a failure in
one line, the webhooks that failed, and how far a run got when Ctrl-C or SIGTERM stopped it.

Imported by every command, so it imports nothing heavy: Dagster only inside the functions
that read a run's result.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from okr_pipeline.secrets import redact
from okr_pipeline.text import inert
from okr_pipeline.warehouse_errors import failure_line

if TYPE_CHECKING:
    import dagster as dg

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
RUNS_LOGGER = "okr_pipeline.runs"  # `runs.publish_days` logs each day it published here


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM. A KeyboardInterrupt, so no `except Exception` swallows it."""


def _interrupt(_signum: int, _frame) -> None:
    raise Interrupted()


def stop_on_signals() -> None:
    """SIGTERM stops a command as Ctrl-C does. While Dagster runs a step it puts its own
    handler in place, which interrupts the step; its result then says so (`interruptible`)."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def exit_interrupted(stop: Interrupted) -> NoReturn:
    """Say how far the command got, and leave at once.

    `os._exit`, not a normal exit: a source thread still waiting on a server that never
    answers would hold a normal exit until its timeout. Nothing is lost by it: every day
    published is committed, and the day being published was rolled back by its transaction.
    """
    print(f"interrupted: {stop}" if str(stop) else "interrupted", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


class PublishedDays(logging.Handler):
    """Counts the days a run publishes (and moves a progress bar on), while it is entered."""

    def __init__(self, progress=None, task=None):
        super().__init__(logging.INFO)
        self.count = 0
        self.progress, self.task = progress, task

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=1, description=f"published {record.args[0]}")

    def __enter__(self) -> PublishedDays:
        published = logging.getLogger(RUNS_LOGGER)
        published.addHandler(self)
        published.setLevel(logging.INFO)
        published.propagate = False  # progress, not log lines
        return self

    def __exit__(self, *_exc) -> None:
        published = logging.getLogger(RUNS_LOGGER)
        published.removeHandler(self)
        published.propagate = True


def _stopped(published: PublishedDays, total: int) -> Interrupted:
    return Interrupted(
        f"stopped after {published.count} of {total} day(s); the days published are complete"
    )


def interruptible(
    execute: Callable[[], dg.ExecuteInProcessResult], published: PublishedDays, total: int
) -> dg.ExecuteInProcessResult:
    """The result of a run, or Interrupted saying how many of `total` days were published
    when a signal stopped it (inside a step, Dagster records the stop as the step's failure)."""
    from dagster._core.execution.plan.objects import ErrorSource

    try:
        result = execute()
    except Interrupted:
        raise _stopped(published, total) from None
    if any(
        event.is_step_failure and event.step_failure_data.error_source == ErrorSource.INTERRUPT
        for event in result.all_events
    ):
        raise _stopped(published, total)
    return result


def failure(result: dg.ExecuteInProcessResult, secrets: set[str]) -> str:
    """`step <key> failed: <root cause>`: the exception under Dagster's own wrapper, with what
    to do where it is known, redacted and in one line."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            kind, _, message = error.message.strip().partition(": ")
            if error.cls_name == "WarehouseError":  # already the whole story
                return inert(redact(f"step {event.step_key} failed: {message}", secrets))
            return f"step {event.step_key} failed: {failure_line(kind, message, secrets)}"
    return "the run failed before any step ran: see the Dagster instance's run log"


def notify_problems(result: dg.ExecuteInProcessResult) -> list[str]:
    """The webhooks that failed, as the score step recorded them in its metadata."""
    for materialization in result.asset_materializations_for_node("score_okrs"):
        problems = materialization.metadata.get("notify_problems")
        if problems is not None:
            return [inert(str(problem)) for problem in problems.data]
    return []


def report_page(result: dg.ExecuteInProcessResult) -> str | None:
    """The report page the run published (its dated page), from the report's metadata."""
    for materialization in result.asset_materializations_for_node("okr_report"):
        path = materialization.metadata.get("path")
        if path is not None:
            return str(path.value)
    return None
