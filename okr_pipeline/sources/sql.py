"""`kind: sql`: the metric's query runs in the source database, with :start and :end bound.

Aggregation stays in the database (the query returns one row per day), and parameters are
always bound, never formatted into the SQL text. One engine serves every metric of a fetch;
once the server cannot be reached, the remaining metrics fail at once with the same reason
instead of each waiting through its own retries.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from okr_pipeline.config.models import SqlMetric
from okr_pipeline.sources.base import (
    Connector,
    FetchWindow,
    SourceError,
    SourceFetch,
    TransientSourceError,
)

# SQLAlchemy's text() does not see `:start::date` as a parameter (a colon follows the
# name); PostgreSQL accepts a space before `::`, so one is added.
CAST_AFTER_PARAMETER = re.compile(r"(?<![:\w]):(start|end)(?=::)")
SQLITE_STEPS_PER_CHECK = 10_000  # SQLite VM steps between two looks at the deadline


def engine_for(
    url: str, project_root: Path, timeout_seconds: float, timezone: str = "UTC"
) -> sa.Engine:
    """An engine with a connect and statement timeout on every backend we test.

    PostgreSQL sessions run in the project's timezone, so `date(created_at)` of a
    `timestamptz` is the local day and a bound date is local midnight.
    """
    parsed = make_url(url)
    seconds = max(1, round(timeout_seconds))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not path.is_absolute():
                path = Path(project_root) / path
            if not path.is_file():
                # SQLite would create an empty database there and report "no such table".
                raise SourceError(f"database file not found: {database}")
            parsed = parsed.set(database=str(path))
        return sa.create_engine(parsed, connect_args={"timeout": seconds})
    connect_args: dict = {}
    if backend == "postgresql":
        statement_ms = max(1, round(timeout_seconds * 1000))
        connect_args = {
            "connect_timeout": seconds,
            "options": f"-c statement_timeout={statement_ms} -c TimeZone={timezone}",
        }
    elif backend in ("mysql", "mariadb"):
        # The server stops the statement at the limit (set per session after connecting);
        # the read timeout is a backstop for a server that stops answering altogether.
        connect_args = {"connect_timeout": seconds, "read_timeout": seconds + 5}
    return sa.create_engine(parsed, connect_args=connect_args)


def _timed_out(error: sa.exc.DBAPIError) -> bool:
    """A statement stopped at its time limit, on each backend we set one for."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "57014":  # PostgreSQL: query_canceled
        return True
    code = orig.args[0] if orig is not None and orig.args else None
    if code in (1969, 3024):  # MariaDB max_statement_time, MySQL max_execution_time
        return True
    return isinstance(orig, sqlite3.OperationalError) and str(orig) == "interrupted"


def _first_line(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error.orig).__name__


class SqlConnector(Connector):
    def __init__(self, source, project):
        super().__init__(source, project)
        self._engine: sa.Engine | None = None
        self._unreachable: str | None = None

    def fetch(self, window: FetchWindow) -> SourceFetch:
        try:
            return super().fetch(window)
        finally:
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._unreachable = None, None

    def fetch_metric(self, metric: SqlMetric, window: FetchWindow) -> pd.DataFrame:
        if self._unreachable is not None:
            raise SourceError(self._unreachable)
        connection = self._connect()
        query = CAST_AFTER_PARAMETER.sub(r":\1 ", metric.query)
        bounds: dict[str, date | str] = {"start": window.start, "end": window.end}
        if connection.dialect.name == "sqlite":
            bounds = {name: day.isoformat() for name, day in bounds.items()}
        try:
            with connection:
                self._limit_statement_time(connection)
                result = connection.execute(sa.text(query), bounds)
                # object columns keep a NULL (None) apart from a NaN the database returned
                rows = result.fetchall()
                return pd.DataFrame(rows, columns=list(result.keys()), dtype=object)
        except sa.exc.DBAPIError as error:
            if error.connection_invalidated:
                raise TransientSourceError(f"connection lost: {_first_line(error)}") from None
            if _timed_out(error):
                seconds = self.source.timeout_seconds
                raise SourceError(f"query timed out after {seconds:g} s") from None
            raise SourceError(f"query failed: {_first_line(error)}") from None
        except sa.exc.SQLAlchemyError as error:
            raise SourceError(f"query failed: {type(error).__name__}: {error}") from None

    def _connect(self) -> sa.Connection:
        """A connection; a failure here is retried, and after the last retry it is final."""
        try:
            if self._engine is None:
                self._engine = engine_for(
                    self.source.url,
                    self.project.root,
                    self.source.timeout_seconds,
                    self.project.settings.timezone,
                )
            return self._engine.connect()
        except sa.exc.DBAPIError as error:
            self._unreachable = f"cannot connect: {_first_line(error)}"
            raise TransientSourceError(self._unreachable) from None
        except (sa.exc.SQLAlchemyError, ImportError) as error:
            # An unknown dialect or a driver that is not installed: no retry helps.
            self._unreachable = f"cannot use this database URL: {error}"
            raise SourceError(self._unreachable) from None

    def _limit_statement_time(self, connection: sa.Connection) -> None:
        """Statement timeouts the connect arguments cannot set (PostgreSQL's are there)."""
        seconds = self.source.timeout_seconds
        dialect = connection.dialect
        if dialect.name == "sqlite":
            deadline = time.monotonic() + seconds
            connection.connection.dbapi_connection.set_progress_handler(
                lambda: time.monotonic() > deadline, SQLITE_STEPS_PER_CHECK
            )
        elif dialect.name in ("mysql", "mariadb"):
            if getattr(dialect, "is_mariadb", False):
                connection.exec_driver_sql(f"SET SESSION max_statement_time = {seconds:g}")
            else:
                connection.exec_driver_sql(f"SET SESSION max_execution_time = {seconds * 1000:.0f}")
