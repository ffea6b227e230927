"""When scores refresh besides the nightly schedule: when the data they depend on lands.

A source that lists upstream assets in `deps:` (a dbt model, a dlt or Sling load) is fetched
again when one of them is materialized, and the tables and the report follow it. What is
refreshed is the as-of day the nightly run scores: the day that just ended, the partition
before the newest (the newest is today, which has not ended). A refresh replaces that day's
rows, as a rerun does. Dagster's default automation sensor evaluates these conditions.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg


def tonight() -> dg.AutomationCondition:
    """The partition of the day that just ended: of the newest two, the older. (The lookback
    counts back from the end of the newest day's window and keeps windows ending after it.)"""
    return (
        dg.AutomationCondition.in_latest_time_window(lookback_delta=timedelta(days=2))
        & ~dg.AutomationCondition.in_latest_time_window()
    )


def refresh_source() -> dg.AutomationCondition:
    """A source refetches tonight's day once an upstream asset it reads was updated."""
    return (
        tonight()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("refresh when its upstream data lands")


def refresh_downstream() -> dg.AutomationCondition:
    """The tables and the report rescore tonight's day after a source refreshed, once every
    source has data for it (a refresh before the nightly run waits for it)."""
    return (
        tonight()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("rescore after a source refreshed")
