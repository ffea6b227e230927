"""The warehouse tables, the one transaction that publishes a run, and the schema's upkeep.

Everything a run writes (metric values, check results, source runs, KR and objective scores)
is written inside one transaction that first takes the warehouse lock row: a reader never
sees half a run, a killed run leaves the tables as they were, and two runs of the same date
started together are serialized (the later one's rows replace the earlier one's, whole).

Text is stored as it was given on every backend: ids and names in key columns sized for
what `check` accepts, every other text unbounded, and MariaDB tables in utf8mb4 (emoji
included) with a binary collation, so ids differing only in case or accents stay apart.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from okr_pipeline.warehouse_errors import (
    NO_SCORES,
    WarehouseError,
    failure_line,
    password_of,
    shown_url,
    unreachable,
)

log = logging.getLogger(__name__)
metadata = sa.MetaData()
ID = sa.String(100)  # objective, KR, cycle and source ids: `check` accepts up to 100 characters
METRIC_ID = sa.String(201)  # `<source>.<metric>`, each up to 100 characters
# Non-key text of any length; MariaDB's TEXT stops at 64 KiB, its MEDIUMTEXT at 16 MiB.
TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# Every number in double precision. MySQL and MariaDB read a bare FLOAT as single precision
# (about 7 digits: 12345678.9 comes back as 12345700); SQLite and PostgreSQL do not.
NUMBER = sa.Float().with_variant(mysql.DOUBLE(asdecimal=False), "mysql", "mariadb")
# The mysql dialect reads `mysql_` options, the mariadb dialect `mariadb_` ones.
UTF8MB4 = {
    f"{dialect}_{option}": value
    for dialect in ("mysql", "mariadb")
    for option, value in (("charset", "utf8mb4"), ("collate", "utf8mb4_bin"))
}


def _table(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, metadata, *columns, **UTF8MB4)


metric_values = _table(
    "metric_values",
    sa.Column("metric_id", METRIC_ID, primary_key=True),
    sa.Column("ts", sa.Date, primary_key=True),
    sa.Column("source", ID, nullable=False),
    sa.Column("value", NUMBER),
    sa.Column("loaded_at", sa.DateTime, nullable=False),
)
metric_checks = _table(
    "metric_checks",
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("metric_id", METRIC_ID, primary_key=True),
    sa.Column("check", sa.String(40), primary_key=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("observed", TEXT),
    sa.Column("message", TEXT),
)
kr_scores = _table(
    "kr_scores",
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("cycle_id", ID, primary_key=True),
    sa.Column("kr_id", ID, primary_key=True),
    sa.Column("objective_id", ID, nullable=False),
    *(sa.Column(name, TEXT) for name in ("title", "owner", "team", "type", "metric_id", "unit")),
    *(
        sa.Column(name, NUMBER)
        for name in (
            "baseline",
            "target",
            "min",
            "max",
            "current_value",
            "attainment",
            "progress",
            "score",
        )
    ),  # fmt: skip
    sa.Column("grade_band", TEXT),
    sa.Column("expected", NUMBER),
    sa.Column("status", TEXT),
    sa.Column("data_status", TEXT),
    sa.Column("data_message", TEXT),
    sa.Column("last_observed_ts", sa.Date),
    sa.Column("forecast_value", NUMBER),
    sa.Column("forecast_progress", NUMBER),
    sa.Column("weight", NUMBER),
    sa.Column("confidence", NUMBER),
    sa.Column("checkin_note", TEXT),
    sa.Column("last_checkin_date", sa.Date),
    sa.Column("checkin_due", sa.Boolean),
)
objective_scores = _table(
    "objective_scores",
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("cycle_id", ID, primary_key=True),
    sa.Column("objective_id", ID, primary_key=True),
    *(sa.Column(name, TEXT) for name in ("parent_id", "title", "owner", "team", "theme", "kind")),
    sa.Column("score", NUMBER),
    sa.Column("grade_band", TEXT),
    sa.Column("expected", NUMBER),
    sa.Column("status", TEXT),
    sa.Column("status_reason", TEXT),
    sa.Column("success", sa.Boolean),
    sa.Column("kr_count", sa.Integer),
)
source_runs = _table(
    "source_runs",
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("source", ID, primary_key=True),
    sa.Column("status", TEXT, nullable=False),
    sa.Column("rows", sa.Integer),
    sa.Column("seconds", NUMBER),
    sa.Column("message", TEXT),
)
# One row, updated first in every publishing transaction: a portable write lock.
warehouse_lock = _table(
    "okr_warehouse_lock",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("runs", sa.Integer, nullable=False),
)


# ---------------------------------------------------------------- opening and upkeep

DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb", "mssql", "oracle")
# The drivers this package installs, offered when a URL names one that is missing.
INSTALLED_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def _parse(url: str) -> sa.URL:
    try:
        return sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise WarehouseError(
            f"warehouse {shown_url(url)}: not a database URL; "
            "write it as sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
        ) from None
    except ValueError:
        raise WarehouseError(f"warehouse {shown_url(url)}: the port is not a number") from None


def _unknown_dialect(url: str, parsed: sa.URL) -> WarehouseError:
    backend, _, driver = parsed.drivername.partition("+")
    if backend in INSTALLED_DRIVERS:
        return WarehouseError(
            f"warehouse {shown_url(url)}: unknown driver '{driver}' for {backend}; "
            f"use {INSTALLED_DRIVERS[backend]}://"
        )
    close = difflib.get_close_matches(backend, DIALECTS, n=1)
    hint = f"did you mean {close[0]}://?" if close else f"use one of {', '.join(DIALECTS)}"
    return WarehouseError(f"warehouse {shown_url(url)}: unknown dialect '{backend}'; {hint}")


def _missing_driver(url: str, parsed: sa.URL, error: ImportError) -> WarehouseError:
    instead = INSTALLED_DRIVERS.get(parsed.get_backend_name())
    hint = f"use {instead}://" if instead else f"install {error.name} with pip"
    return WarehouseError(
        f"warehouse {shown_url(url)}: its driver {error.name} is not installed; {hint}"
    )


def _driver_message(error: sa.exc.DBAPIError) -> str:
    """The driver's own words: PyMySQL's errors are (code, text) pairs."""
    args = getattr(error.orig, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        return str(args[1])
    return str(error.orig)


def engine_for(url: str) -> sa.Engine:
    """An engine on the warehouse, connected once. A wrong URL, a missing driver or a server
    that is down is a WarehouseError naming the warehouse (password hidden)."""
    parsed = _parse(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database not in (None, "", ":memory:") and not parsed.query.get("uri"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WarehouseError(
                f"warehouse {shown_url(url)}: cannot create its folder {folder}: {error.strerror}"
            ) from None
    try:
        engine = sa.create_engine(
            parsed, connect_args={"timeout": 60} if sqlite else {}, pool_pre_ping=True
        )
    except sa.exc.NoSuchModuleError:
        raise _unknown_dialect(url, parsed) from None
    except ImportError as error:
        raise _missing_driver(url, parsed, error) from None
    if sqlite:
        _sqlite_transactions(engine)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as error:
        engine.dispose()
        raise unreachable(url, _driver_message(error)) from None
    return engine


def _sqlite_transactions(engine: sa.Engine) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so BEGIN IMMEDIATE takes the lock."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# Two runs on a new warehouse race to create it: the loser's CREATE TABLE or lock-row INSERT
# fails (duplicate key, table exists) once the winner made that object, so each failed attempt
# finds at least one more of them in place (one per table, where DDL is not transactional).
SCHEMA_ATTEMPTS = len(metadata.tables) + 2


def _create_tables(engine: sa.Engine) -> None:
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            metadata.create_all(engine)
            with engine.begin() as connection:
                lock_rows = sa.select(sa.func.count()).select_from(warehouse_lock)
                if connection.execute(lock_rows).scalar() == 0:
                    connection.execute(warehouse_lock.insert().values(id=1, runs=0))
            return
        except sa.exc.DBAPIError as error:
            lost_race = isinstance(error, sa.exc.IntegrityError) or "already exists" in str(error)
            if not lost_race or attempt == SCHEMA_ATTEMPTS - 1:
                raise


def _stored_columns(engine: sa.Engine) -> dict[str, dict[str, sa.types.TypeEngine]]:
    """Each existing table's columns and their types, as the database has them."""
    inspector = sa.inspect(engine)
    existing = set(inspector.get_table_names())
    return {
        table.name: {column["name"]: column["type"] for column in inspector.get_columns(table.name)}
        for table in metadata.sorted_tables
        if table.name in existing
    }


def _missing_columns(engine: sa.Engine) -> dict[sa.Table, list[sa.Column]]:
    """The columns each existing table lacks (dropped by hand, or added by a later version)."""
    missing = {}
    for name, stored in _stored_columns(engine).items():
        table = metadata.tables[name]
        lacking = [column for column in table.columns if column.name not in stored]
        if lacking:
            missing[table] = lacking
    return missing


# How a server widens a column in place. SQLite enforces no length, so it needs none.
WIDEN = {
    "postgresql": "ALTER TABLE {table} ALTER COLUMN {name} TYPE {type}",
    "mysql": "ALTER TABLE {table} MODIFY COLUMN {specification}",
    "mariadb": "ALTER TABLE {table} MODIFY COLUMN {specification}",
}


def _narrower(wanted: sa.types.TypeEngine, stored: sa.types.TypeEngine | None) -> bool:
    """A text column shorter than this version's (`unit` was VARCHAR(50)), or a number in
    single precision (an older version's FLOAT on MySQL and MariaDB)."""
    if isinstance(wanted, sa.String) and isinstance(stored, sa.String):
        return stored.length is not None and (
            wanted.length is None or stored.length < wanted.length
        )
    return isinstance(wanted, sa.Float) and isinstance(stored, mysql.FLOAT)


def _narrow_columns(engine: sa.Engine) -> list[tuple[sa.Table, sa.Column]]:
    """Columns an older version made narrower than this one (see `_narrower`)."""
    if engine.dialect.name not in WIDEN:
        return []
    narrow = []
    for name, stored in _stored_columns(engine).items():
        table = metadata.tables[name]
        for column in table.columns:
            if _narrower(column.type, stored.get(column.name)):
                narrow.append((table, column))
    return narrow


def _listed(missing: dict[sa.Table, list[sa.Column]], what: str) -> str:
    return "; ".join(
        f"warehouse table {table.name} lacks {what}{'s' if len(columns) > 1 else ''} "
        + ", ".join(column.name for column in columns)
        for table, columns in missing.items()
    )


def _refuse_required(missing: dict[sa.Table, list[sa.Column]]) -> None:
    """Key and not-null columns cannot be added to rows already stored: no command goes on."""
    required = {
        table: needed
        for table, columns in missing.items()
        if (needed := [c for c in columns if c.primary_key or not c.nullable])
    }
    if required:
        raise WarehouseError(
            _listed(required, "required column")
            + ", which cannot be added to the rows stored; restore the table from a backup, "
            "or rename it so that the next run starts it anew"
        )


def check_schema(engine: sa.Engine) -> None:
    """For readers: a warehouse with scores whose tables have every column, or a
    WarehouseError saying which table lacks which column and what to do."""
    if not sa.inspect(engine).has_table(kr_scores.name):
        raise WarehouseError(NO_SCORES)
    missing = _missing_columns(engine)
    _refuse_required(missing)
    if missing:
        raise WarehouseError(
            _listed(missing, "column") + ": run `okr-pipeline run` to upgrade the warehouse"
        )


def upgrade_schema(engine: sa.Engine) -> list[str]:
    """For writers: create missing tables, add missing nullable columns and widen text and
    number columns an older version made narrower (how a warehouse of an older version gets
    the new ones); returns the one line that says what changed, if anything did."""
    _create_tables(engine)
    missing = _missing_columns(engine)
    _refuse_required(missing)
    added = [(table, column) for table, columns in missing.items() for column in columns]
    narrow = _narrow_columns(engine)
    if not (added or narrow):
        return []
    dialect = engine.dialect
    compiler = dialect.ddl_compiler(dialect, None)
    with engine.begin() as connection:
        for table, column in added:
            connection.exec_driver_sql(
                f"ALTER TABLE {dialect.identifier_preparer.format_table(table)} "
                f"ADD COLUMN {compiler.get_column_specification(column)}"
            )
        for table, column in narrow:
            connection.exec_driver_sql(
                WIDEN[dialect.name].format(
                    table=dialect.identifier_preparer.format_table(table),
                    name=dialect.identifier_preparer.format_column(column),
                    type=column.type.compile(dialect=dialect),
                    specification=compiler.get_column_specification(column),
                )
            )
    changes = [
        f"{verb} column(s) {', '.join(f'{table.name}.{column.name}' for table, column in pairs)}"
        for verb, pairs in (("added", added), ("widened", narrow))
        if pairs
    ]
    return [f"upgraded the warehouse: {'; '.join(changes)}"]


def _database_failure(url: str, error: sa.exc.DBAPIError) -> WarehouseError:
    kind = f"{type(error.orig).__module__}.{type(error.orig).__name__}"
    secrets = {password_of(url)} - {None}
    return WarehouseError(
        f"warehouse {shown_url(url)}: {failure_line(kind, _driver_message(error), secrets)}"
    )


@contextmanager
def _opening(url: str, engine: sa.Engine) -> Iterator[None]:
    """A failure while opening disposes of the engine; a driver's error becomes one line."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        engine.dispose()
        raise _database_failure(url, error) from None
    except WarehouseError:
        engine.dispose()
        raise


def open_for_writing(url: str) -> tuple[sa.Engine, list[str]]:
    """The engine of `run` and `backfill`, schema upgraded, and what the upgrade did."""
    engine = engine_for(url)
    with _opening(url, engine):
        return engine, upgrade_schema(engine)


def open_for_reading(url: str) -> sa.Engine:
    """The engine of `status` and `report`, on a warehouse they can read every column of."""
    engine = engine_for(url)
    with _opening(url, engine):
        check_schema(engine)
    return engine


def create_engine(url: str) -> sa.Engine:
    """`open_for_writing` for the Dagster resource and scripts: what it added is logged."""
    engine, upgraded = open_for_writing(url)
    for line in upgraded:
        log.warning(line)
    return engine


# ---------------------------------------------------------------- reading


def read_values(connection: sa.Connection, since: date | None = None) -> pd.DataFrame:
    """Stored metric series as (metric_id, ts, value), ts as midnight datetime64.

    A +-Infinity that an older version stored reads as no value (NaN): no run accepts one
    now, and scoring skips a NaN as it skips a null. The row stays, so a new fetch of its
    day replaces it."""
    query = sa.select(metric_values.c.metric_id, metric_values.c.ts, metric_values.c.value)
    if since is not None:
        query = query.where(metric_values.c.ts >= since)
    frame = pd.DataFrame(connection.execute(query).fetchall(), columns=["metric_id", "ts", "value"])
    values = frame["value"].astype("float64")
    return frame.astype({"metric_id": "object"}).assign(
        ts=pd.to_datetime(frame["ts"]).astype("datetime64[ns]"),
        value=values.where(~np.isinf(values)),
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


def scored_range(engine: sa.Engine) -> tuple[date | None, date | None]:
    """The first and the last as-of date in kr_scores ((None, None) before any run)."""
    as_of = kr_scores.c.as_of
    with engine.connect() as connection:
        first, last = connection.execute(sa.select(sa.func.min(as_of), sa.func.max(as_of))).one()
    return first, last


def latest_as_of(engine: sa.Engine) -> date | None:
    return scored_range(engine)[1]


def has_scores(engine: sa.Engine, as_of: date) -> bool:
    with engine.connect() as connection:
        query = sa.select(kr_scores.c.as_of).where(kr_scores.c.as_of == as_of).limit(1)
        return connection.execute(query).first() is not None


# ---------------------------------------------------------------- writing


def _columns(frame: pd.DataFrame, table: sa.Table) -> dict[str, np.ndarray]:
    """The frame's columns of `table`, as Python values: NaN/NaT as None, datetimes as dates
    where the column is a date. Column by column, not `to_dict("records")`: pandas' per-row
    path was the larger half of the cost of writing a backfill day (benchmarks/RESULTS.md)."""
    columns = {}
    for column in table.columns:
        if column.name not in frame.columns:
            continue
        values = frame[column.name]
        if isinstance(column.type, sa.Date):
            values = _as_dates(values)
        python = values.to_numpy(dtype=object, copy=True)
        python[values.isna().to_numpy()] = None
        columns[column.name] = python
    return columns


def _as_dates(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column.dt.date
    return column.map(lambda value: value.date() if isinstance(value, datetime) else value)


# From this many rows, PostgreSQL (psycopg 3) is written with COPY: 100,000 kr_scores rows
# took 0.6-0.7 s by COPY against 2.8-3.6 s by executemany (pipeline mode) and 3.0 s by
# multi-row INSERTs (measured against the local server).
COPY_ROWS = 1_000
# Drivers that batch an executemany themselves (sqlite3 in C, PyMySQL as multi-row INSERTs)
# get the rows straight from the columns: SQLAlchemy's own per-row parameter handling was
# two thirds of the time a 10,000-KR backfill spent writing SQLite (benchmarks/RESULTS.md).
# Other drivers keep SQLAlchemy's executemany (psycopg2's dialect turns it into multi-row
# INSERTs).
BATCHING_DRIVERS = {("sqlite", "pysqlite"), ("mysql", "pymysql"), ("mariadb", "pymysql")}


def _execute_rows(
    connection: sa.Connection, statement: sa.Executable, table: sa.Table, frame: pd.DataFrame
) -> None:
    """Run `statement` (an insert into `table`, or a delete by its key) once per row of
    `frame`, in the connection's transaction."""
    columns = _columns(frame, table)
    names = list(columns)
    dialect = connection.dialect
    driver = (dialect.name, dialect.driver)
    copying = isinstance(statement, sa.Insert) and len(frame) >= COPY_ROWS
    if copying and driver == ("postgresql", "psycopg"):
        quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
        # the DB-API connection of this SQLAlchemy transaction: COPY is part of the same run
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as writer:
            for row in zip(*columns.values(), strict=True):
                writer.write_row(row)
    elif driver in BATCHING_DRIVERS:
        compiled = statement.compile(dialect=dialect, column_keys=names)
        for name in names:  # what SQLAlchemy would do to each value (SQLite's dates as text)
            convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                columns[name] = _converted(columns[name], convert, table.c[name].type)
        if compiled.positiontup:  # qmark or format: tuples in the statement's order
            ordered = [columns[name] for name in compiled.positiontup]
            rows = list(zip(*ordered, strict=True))
        else:  # pyformat: one dict per row
            rows = _dicts(columns)
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.executemany(str(compiled), rows)
        finally:
            cursor.close()
    else:
        connection.execute(statement, _dicts(columns))


def _converted(
    values: np.ndarray, convert: Callable[[Any], Any], kind: sa.types.TypeEngine
) -> np.ndarray:
    """`convert` applied to the values, None left alone. A day's rows share a few dates and
    two booleans, so other values are converted once per distinct value: converting every
    one was a tenth of writing a 10,000-KR backfill day. Numbers are converted one by one,
    as numbers that compare equal may differ (0.0 and -0.0)."""
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return np.array([None if value is None else convert(value) for value in values], object)
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    converted = np.array([convert(value) for value in distinct] + [None], dtype=object)
    return converted[codes]


def _dicts(columns: dict[str, np.ndarray]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


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
            by_key = metric_values.delete().where(
                key.metric_id == sa.bindparam("metric_id"), key.ts == sa.bindparam("ts")
            )
            _execute_rows(self.connection, by_key, metric_values, deleted)
        if len(inserted):
            rows = inserted.assign(loaded_at=self.loaded_at)
            _execute_rows(self.connection, metric_values.insert(), metric_values, rows)

    def replace_day(self, table: sa.Table, as_of: date, frame: pd.DataFrame) -> None:
        """Replace every row of one as-of date: reruns are idempotent."""
        self.connection.execute(table.delete().where(table.c.as_of == as_of))
        if len(frame):
            _execute_rows(self.connection, table.insert(), table, frame)


@contextmanager
def publishing(engine: sa.Engine) -> Iterator[Publication]:
    """One transaction for a whole run, serialized against other runs by the lock row."""
    with engine.begin() as connection:
        connection.execute(warehouse_lock.update().values(runs=warehouse_lock.c.runs + 1))
        runs = connection.execute(sa.select(warehouse_lock.c.runs)).scalar_one()
        yield Publication(connection, runs)
