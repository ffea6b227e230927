"""The warehouse tables of SPEC section 5, and the one transaction that publishes a run.

Everything a run writes (metric values, check results, source runs, KR and objective scores)
is written inside one transaction that first takes the warehouse lock row: a reader never
sees half a run, a killed run leaves the tables as they were, and two runs of the same date
started together are serialized (the later one's rows replace the earlier one's, whole).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

metadata = sa.MetaData()
ID = sa.String(200)
TEXT = sa.String(2000)

metric_values = sa.Table(
    "metric_values",
    metadata,
    sa.Column("metric_id", ID, primary_key=True),
    sa.Column("ts", sa.Date, primary_key=True),
    sa.Column("source", ID, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("loaded_at", sa.DateTime, nullable=False),
)
metric_checks = sa.Table(
    "metric_checks",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("metric_id", ID, primary_key=True),
    sa.Column("check", sa.String(40), primary_key=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("observed", TEXT),
    sa.Column("message", TEXT),
)
kr_scores = sa.Table(
    "kr_scores",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("cycle_id", sa.String(100), primary_key=True),
    sa.Column("kr_id", ID, primary_key=True),
    sa.Column("objective_id", ID, nullable=False),
    sa.Column("title", TEXT),
    sa.Column("owner", ID),
    sa.Column("team", ID),
    sa.Column("type", sa.String(20)),
    sa.Column("metric_id", ID),
    sa.Column("unit", sa.String(50)),
    *(
        sa.Column(name, sa.Float)
        for name in ("baseline", "target", "current_value", "attainment", "progress", "score")
    ),
    sa.Column("grade_band", sa.String(10)),
    sa.Column("expected", sa.Float),
    sa.Column("status", sa.String(20)),
    sa.Column("data_status", sa.String(20)),
    sa.Column("data_message", TEXT),
    sa.Column("last_observed_ts", sa.Date),
    sa.Column("forecast_value", sa.Float),
    sa.Column("forecast_progress", sa.Float),
    sa.Column("weight", sa.Float),
    sa.Column("confidence", sa.Float),
    sa.Column("checkin_note", TEXT),
)
objective_scores = sa.Table(
    "objective_scores",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("cycle_id", sa.String(100), primary_key=True),
    sa.Column("objective_id", ID, primary_key=True),
    sa.Column("parent_id", ID),
    sa.Column("title", TEXT),
    sa.Column("owner", ID),
    sa.Column("team", ID),
    sa.Column("theme", ID),
    sa.Column("kind", sa.String(20)),
    sa.Column("score", sa.Float),
    sa.Column("grade_band", sa.String(10)),
    sa.Column("expected", sa.Float),
    sa.Column("status", sa.String(20)),
    sa.Column("success", sa.Boolean),
    sa.Column("kr_count", sa.Integer),
)
source_runs = sa.Table(
    "source_runs",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("source", ID, primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("rows", sa.Integer),
    sa.Column("seconds", sa.Float),
    sa.Column("message", TEXT),
)
# One row, updated first in every publishing transaction: a portable write lock.
warehouse_lock = sa.Table(
    "okr_warehouse_lock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("runs", sa.Integer, nullable=False),
)


# Two runs on a new warehouse race to create it: the loser's CREATE TABLE or lock-row INSERT
# fails (duplicate key, table exists) once the winner made that object, so each failed attempt
# finds at least one more of them in place (one per table, where DDL is not transactional).
SCHEMA_ATTEMPTS = len(metadata.tables) + 2


def _create_schema(engine: sa.Engine) -> None:
    metadata.create_all(engine)
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(warehouse_lock)).scalar() == 0:
            connection.execute(warehouse_lock.insert().values(id=1, runs=0))


def create_engine(url: str) -> sa.Engine:
    """An engine on the warehouse, with its tables created if they do not exist yet."""
    parsed = sa.engine.make_url(url)
    connect_args = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": 60}
    engine = sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_transactions(engine)
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            _create_schema(engine)
            break
        except sa.exc.DBAPIError as error:
            lost_race = isinstance(error, sa.exc.IntegrityError) or "already exists" in str(error)
            if not lost_race or attempt == SCHEMA_ATTEMPTS - 1:
                raise
    return engine


def _sqlite_transactions(engine: sa.Engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so BEGIN IMMEDIATE takes the lock."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# ---------------------------------------------------------------- reading


def read_values(connection: sa.Connection, since: date | None = None) -> pd.DataFrame:
    """Stored metric series as (metric_id, ts, value), ts as midnight datetime64."""
    query = sa.select(metric_values.c.metric_id, metric_values.c.ts, metric_values.c.value)
    if since is not None:
        query = query.where(metric_values.c.ts >= since)
    frame = pd.DataFrame(connection.execute(query).fetchall(), columns=["metric_id", "ts", "value"])
    return frame.astype({"metric_id": "object", "value": "float64"}).assign(
        ts=pd.to_datetime(frame["ts"]).astype("datetime64[ns]")
    )


def read_table(engine: sa.Engine, table: sa.Table, as_of: date | None = None) -> pd.DataFrame:
    """A score table, for one as-of date or all of them, in primary-key order."""
    query = sa.select(table).order_by(*table.primary_key.columns)
    if as_of is not None and "as_of" in table.c:
        query = query.where(table.c.as_of == as_of)
    with engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    frame = pd.DataFrame(rows, columns=[column.name for column in table.columns])
    for column in table.columns:
        if isinstance(column.type, sa.String):  # None for null text, not NaN
            frame[column.name] = (
                frame[column.name].astype(object).where(frame[column.name].notna(), None)
            )
    return frame


def latest_as_of(engine: sa.Engine) -> date | None:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.max(kr_scores.c.as_of))).scalar()


# ---------------------------------------------------------------- writing


def _records(frame: pd.DataFrame, table: sa.Table) -> list[dict]:
    """Rows ready for executemany: NaN/NaT as None, datetimes as dates where the column is.

    Column by column, not `to_dict("records")`: pandas' per-row path was the larger half of
    the cost of writing a backfill day (benchmarks/RESULTS.md).
    """
    names = [column.name for column in table.columns if column.name in frame.columns]
    columns = []
    for name in names:
        column = frame[name]
        if isinstance(table.c[name].type, sa.Date):
            column = _as_dates(column)
        values = column.to_numpy(dtype=object, copy=True)
        values[column.isna().to_numpy()] = None
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _as_dates(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.date
    return column.map(lambda value: value.date() if isinstance(value, datetime) else value)


# From this many rows, PostgreSQL (psycopg 3) is written with COPY: 100,000 kr_scores rows
# took 0.6-0.7 s by COPY against 2.8-3.6 s by executemany (pipeline mode) and 3.0 s by
# multi-row INSERTs (measured against the local server). Smaller writes keep executemany, as
# every other backend does (psycopg2's dialect sends those as multi-row INSERTs).
COPY_ROWS = 1_000


def _insert(connection: sa.Connection, table: sa.Table, records: list[dict]) -> None:
    dialect = connection.dialect
    if len(records) < COPY_ROWS or (dialect.name, dialect.driver) != ("postgresql", "psycopg"):
        connection.execute(table.insert(), records)
        return
    names = list(records[0])
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    # the DB-API connection of this SQLAlchemy transaction: COPY is part of the same run
    cursor = connection.connection.dbapi_connection.cursor()
    with cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for record in records:
            copy.write_row([record[name] for name in names])


class Publication:
    """The open publishing transaction of one run (see `publishing`)."""

    def __init__(self, connection: sa.Connection, runs: int):
        self.connection = connection
        self.runs = runs  # the lock count this transaction set: one more per publication
        self.loaded_at = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def read_values(self, since: date | None = None) -> pd.DataFrame:
        return read_values(self.connection, since)

    def change_values(self, deleted: pd.DataFrame, inserted: pd.DataFrame) -> None:
        """Delete `(metric_id, ts)` rows, then insert `(metric_id, ts, value, source)` rows
        stamped with this run's `loaded_at`: the rows a run changed, in two bulk statements."""
        if len(deleted):
            key = metric_values.c
            self.connection.execute(
                metric_values.delete().where(
                    key.metric_id == sa.bindparam("metric_id"), key.ts == sa.bindparam("ts")
                ),
                _records(deleted, metric_values),
            )
        if len(inserted):
            rows = inserted.assign(loaded_at=self.loaded_at)
            _insert(self.connection, metric_values, _records(rows, metric_values))

    def replace_day(self, table: sa.Table, as_of: date, frame: pd.DataFrame) -> None:
        """Replace every row of one as-of date: reruns are idempotent."""
        self.connection.execute(table.delete().where(table.c.as_of == as_of))
        if len(frame):
            _insert(self.connection, table, _records(frame, table))


@contextmanager
def publishing(engine: sa.Engine) -> Iterator[Publication]:
    """One transaction for a whole run, serialized against other runs by the lock row."""
    with engine.begin() as connection:
        connection.execute(warehouse_lock.update().values(runs=warehouse_lock.c.runs + 1))
        runs = connection.execute(sa.select(warehouse_lock.c.runs)).scalar_one()
        yield Publication(connection, runs)
