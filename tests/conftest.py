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


SERVERS = {
    "postgresql": ("postgresql+psycopg://postgres@127.0.0.1:5432/", "test"),
    "mariadb": ("mysql+pymysql://root@127.0.0.1:3306/", "test"),
}


def _fresh_database(kind: str):
    """Create a uniquely named database on a running server; yield its URL; drop it after."""
    import uuid

    import sqlalchemy as sa

    root, admin_db = SERVERS[kind]
    name = f"okr_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(root + admin_db, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as error:
        admin.dispose()
        skip_or_fail(f"no {kind} server at {root}: {str(error.orig).splitlines()[0]}")
    try:
        yield root + name
    finally:
        with admin.connect() as connection:
            if kind == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.fixture
def postgres_url():
    yield from _fresh_database("postgresql")


@pytest.fixture
def mariadb_url():
    yield from _fresh_database("mariadb")
