"""`kind: sql`: the metric's query runs in the source database, with :start and :end bound.

Aggregation stays in the database (the query returns one row per day), and parameters are
always bound, never formatted into the SQL text.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from okr_pipeline.config.models import SqlMetric
from okr_pipeline.sources.base import Connector, FetchWindow, SourceError, TransientSourceError


def engine_for(url: str, project_root, timeout_seconds: float) -> sa.Engine:
    """An engine with a connect and statement timeout on every backend we test."""
    parsed = make_url(url)
    seconds = max(1, int(timeout_seconds))
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("/"):
            parsed = parsed.set(database=str(project_root / database))
        return sa.create_engine(parsed, connect_args={"timeout": seconds})
    connect_args: dict = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {
            "connect_timeout": seconds,
            "options": f"-c statement_timeout={seconds * 1000}",
        }
    elif parsed.get_backend_name() in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": seconds, "read_timeout": seconds}
    return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def _first_line(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error.orig).__name__


class SqlConnector(Connector):
    def fetch_metric(self, metric: SqlMetric, window: FetchWindow) -> pd.DataFrame:
        engine = engine_for(self.source.url, self.project.root, self.source.timeout_seconds)
        bounds: dict[str, date | str] = {"start": window.start, "end": window.end}
        if engine.dialect.name == "sqlite":
            bounds = {name: day.isoformat() for name, day in bounds.items()}
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(metric.query), bounds)
                return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        except sa.exc.OperationalError as error:
            if error.connection_invalidated or "connect" in _first_line(error).lower():
                raise TransientSourceError(f"cannot connect: {_first_line(error)}") from None
            raise SourceError(f"query failed: {_first_line(error)}") from None
        except sa.exc.DBAPIError as error:
            raise SourceError(f"query failed: {_first_line(error)}") from None
        except sa.exc.SQLAlchemyError as error:
            raise SourceError(f"query failed: {type(error).__name__}: {error}") from None
        finally:
            engine.dispose()
