"""Fixtures shared by every test folder: one Dagster instance, and small real projects."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import dagster as dg
import pytest
import requests


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    """A throw-away Prometheus on a free loopback port, scraping itself every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        skip_or_fail("prometheus binary not installed (Debian: apt-get install prometheus)")
    home = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = home / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: self, static_configs: [{{targets: ['127.0.0.1:{port}']}}]}}\n"
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(home / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(
                    f"{url}/api/v1/query", params={"query": 'up{job="self"}'}, timeout=1
                ).json()
                if answer["data"]["result"]:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                log = (home / "prometheus.log").read_text()[-2000:]
                pytest.fail(f"prometheus did not scrape itself within 30 s:\n{log}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
