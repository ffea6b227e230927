"""Fixtures shared by every test folder: one Dagster instance, and small real projects."""

from __future__ import annotations

import os

import dagster as dg
import pytest


def services_required() -> bool:
    """Under CI (OKR_REQUIRE_SERVICES=1) a missing server fails a test instead of skipping it."""
    return os.environ.get("OKR_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (OKR_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dagster_instance():
    """One ephemeral instance for the whole session: a materialize then costs milliseconds."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance
