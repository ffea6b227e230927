"""The warehouse on every backend: same rows everywhere, and a failed publish changes nothing."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from test_pipeline import AS_OF, run_day, write_project

from okr_pipeline import scoreboard, warehouse

SCORED = ["kr_id", "current_value", "attainment", "score", "expected", "status", "data_status"]


def scores(engine) -> pd.DataFrame:
    frame = warehouse.read_table(engine, warehouse.kr_scores, AS_OF)
    return frame[SCORED].sort_values("kr_id").reset_index(drop=True)


@pytest.fixture
def sqlite_url(tmp_path, dagster_instance):
    run_day(
        write_project(tmp_path / "project"), f"sqlite:///{tmp_path / 'wh.db'}", dagster_instance
    )
    return f"sqlite:///{tmp_path / 'wh.db'}"


@pytest.fixture
def sqlite_scores(sqlite_url):
    return scores(warehouse.create_engine(sqlite_url))


@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_a_run_on_a_server_warehouse_matches_sqlite(
    server, request, tmp_path, dagster_instance, sqlite_scores, sqlite_url
):
    url = request.getfixturevalue(server)
    project = write_project(tmp_path / "server")
    engine = run_day(project, url, dagster_instance)
    pd.testing.assert_frame_equal(scores(engine), sqlite_scores)
    engine = run_day(project, url, dagster_instance)  # a rerun replaces, never duplicates
    assert len(warehouse.read_table(engine, warehouse.kr_scores)) == 3
    engine.dispose()
    # `status` reads through the plain DB-API: the same rows from every driver
    assert scoreboard.read_scores(url, None) == scoreboard.read_scores(sqlite_url, None)
    assert scoreboard.read_scores(url, AS_OF).as_of == "2026-11-10"


def test_a_failed_publish_leaves_every_table_as_it_was(tmp_path):
    engine = warehouse.create_engine(f"sqlite:///{tmp_path / 'wh.db'}")
    day = date(2026, 11, 1)
    runs = pd.DataFrame([{"as_of": day, "source": "app", "status": "ok", "rows": 1}])
    with warehouse.publishing(engine) as publication:
        publication.replace_day(warehouse.source_runs, day, runs)

    new = pd.DataFrame(
        {"metric_id": ["app.x"], "ts": pd.to_datetime(["2026-11-01"]), "value": [5.0]}
    )
    with pytest.raises(RuntimeError), warehouse.publishing(engine) as publication:
        publication.change_values(new.iloc[:0], new.assign(source="app"))
        publication.replace_day(warehouse.source_runs, day, runs.assign(status="error"))
        raise RuntimeError("killed half way")

    assert warehouse.read_table(engine, warehouse.metric_values).empty
    assert warehouse.read_table(engine, warehouse.source_runs)["status"].tolist() == ["ok"]


@pytest.mark.parametrize("server", ["sqlite", "postgres_url", "mariadb_url"])
def test_a_large_write_reads_back_the_same_on_every_backend(server, request, tmp_path):
    """Above COPY_ROWS, PostgreSQL is written with COPY; every value must survive it."""
    url = (
        f"sqlite:///{tmp_path / 'wh.db'}" if server == "sqlite" else request.getfixturevalue(server)
    )
    engine = warehouse.create_engine(url)
    day = date(2026, 11, 1)
    records = [
        {
            "as_of": day,
            "metric_id": f"app.m{number:04d}",
            "check": "max",  # a reserved word in SQL, quoted in the COPY column list
            "success": number % 3 != 0,
            "observed": f'max {number} on "{day}", \\ tab\there',
            "message": None if number % 3 else "value\nabove max",
        }
        for number in range(warehouse.COPY_ROWS + 500)
    ]
    with warehouse.publishing(engine) as publication:
        publication.replace_day(warehouse.metric_checks, day, pd.DataFrame(records))
    stored = warehouse.read_table(engine, warehouse.metric_checks, day)
    engine.dispose()
    assert stored.to_dict("records") == records


def _text(length: int, alphabet: str) -> str:
    return (alphabet * (length // len(alphabet) + 1))[:length]


# Every kind of character a user may type: quotes, a backslash, SQL, emoji (4 bytes in UTF-8),
# non-Latin scripts, combining accents.
MIXED = (
    "Ünïcødé \"double\" 'single' `tick` \\ 🚀🎯👩\u200d💻 日本語 Ελληνικά العربية e\u0301; "
    "DROP TABLE x; -- "
)
LONGEST_ID = _text(100, "kr-é日🚀_")  # what `check` accepts for an id, a cycle, a source, a unit
LONGEST_TEXT = _text(500, MIXED)  # titles and notes, and messages as captured


@pytest.mark.parametrize("server", ["sqlite", "postgres_url", "mariadb_url"])
def test_the_longest_text_check_accepts_is_stored_unaltered(server, request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'wh.db'}" if server == "sqlite" else request.getfixturevalue(server)
    )
    metric_id = f"{LONGEST_ID}.{LONGEST_ID}"  # <source>.<metric>: 100 + 1 + 100 = 201
    day = date(2026, 11, 1)
    texts = {
        "kr_scores": {
            **dict(as_of=day, cycle_id=LONGEST_ID, kr_id=LONGEST_ID, objective_id=LONGEST_ID),
            **dict(title=LONGEST_TEXT, owner=LONGEST_ID, team=LONGEST_ID, type="increase"),
            **dict(metric_id=metric_id, unit=LONGEST_ID, status="on_track", data_status="ok"),
            **dict(data_message=LONGEST_TEXT, checkin_note=LONGEST_TEXT),
        },
        "objective_scores": {
            **dict(as_of=day, cycle_id=LONGEST_ID, objective_id=LONGEST_ID, title=LONGEST_TEXT),
            **dict(parent_id=LONGEST_ID, owner=LONGEST_ID, team=LONGEST_ID, theme=LONGEST_ID),
        },
        "source_runs": dict(as_of=day, source=LONGEST_ID, status="error", message=LONGEST_TEXT),
        "metric_checks": {
            **dict(as_of=day, metric_id=metric_id, check="not_null", success=False),
            **dict(observed=LONGEST_TEXT, message=LONGEST_TEXT),
        },
    }
    value = {"metric_id": metric_id, "ts": pd.Timestamp(day), "value": 1.5, "source": LONGEST_ID}
    engine = warehouse.create_engine(url)
    with warehouse.publishing(engine) as publication:
        publication.change_values(pd.DataFrame(), pd.DataFrame([value]))
        for name, row in texts.items():
            publication.replace_day(warehouse.metadata.tables[name], day, pd.DataFrame([row]))

    for name, row in texts.items():
        stored = warehouse.read_table(engine, warehouse.metadata.tables[name], day)
        assert stored[list(row)].to_dict("records") == [row], name
    stored = warehouse.read_table(engine, warehouse.metric_values)
    assert stored[["metric_id", "source"]].to_dict("records") == [
        {"metric_id": metric_id, "source": LONGEST_ID}
    ]
    engine.dispose()
    # `status` reads through the plain DB-API: the same text from every driver
    (kr,) = scoreboard.read_scores(url, day).krs
    assert (kr["kr_id"], kr["title"], kr["data_message"]) == (
        LONGEST_ID,
        LONGEST_TEXT,
        LONGEST_TEXT,
    )


# Numbers a single-precision column (about 7 digits) would change: 12345678.9 -> 12345700.
EXACT = [441335.37, 12345678.9, 0.44565217391304346, 1e300, -2.5e-300]


@pytest.mark.parametrize("server", ["sqlite", "postgres_url", "mariadb_url"])
def test_every_number_reads_back_exactly_on_every_backend(server, request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'wh.db'}" if server == "sqlite" else request.getfixturevalue(server)
    )
    days = [date(2026, 11, day) for day in range(1, len(EXACT) + 1)]
    values = pd.DataFrame(
        {"metric_id": "app.m", "ts": pd.to_datetime(days), "value": EXACT, "source": "app"}
    )
    key = {"as_of": days[0], "cycle_id": "Q4", "objective_id": "o"}
    numbers = [{"current_value": x, "expected": x, "score": x} for x in EXACT]
    krs = pd.DataFrame([{**key, "kr_id": f"k{n}", **row} for n, row in enumerate(numbers)])
    objectives = pd.DataFrame([{**key, "score": EXACT[1]}])
    engine = warehouse.create_engine(url)
    with warehouse.publishing(engine) as publication:
        publication.change_values(pd.DataFrame(), values)
        publication.replace_day(warehouse.kr_scores, days[0], krs)
        publication.replace_day(warehouse.objective_scores, days[0], objectives)

    assert warehouse.read_table(engine, warehouse.metric_values)["value"].tolist() == EXACT
    stored = warehouse.read_table(engine, warehouse.kr_scores, days[0]).sort_values("kr_id")
    for column in ("current_value", "expected", "score"):
        assert stored[column].tolist() == EXACT, column
    objective = warehouse.read_table(engine, warehouse.objective_scores, days[0])
    assert objective["score"].tolist() == [EXACT[1]]
    engine.dispose()


def test_values_written_are_converted_each_as_itself():
    """Dates and booleans are converted once per distinct value; numbers one by one, as
    0.0 and -0.0 compare equal but are not the same number."""
    numbers = np.array([0.0, -0.0, None, 1.5], dtype=object)
    assert warehouse._converted(numbers, repr, sa.Float()).tolist() == ["0.0", "-0.0", None, "1.5"]
    days = np.array([date(2026, 11, 2), None, date(2026, 11, 2)], dtype=object)
    assert warehouse._converted(days, str, sa.Date()).tolist() == ["2026-11-02", None, "2026-11-02"]


NARROWER = {  # how an older version typed these columns
    "postgresql": [
        "ALTER TABLE kr_scores ALTER COLUMN unit TYPE VARCHAR(50)",
        "ALTER TABLE source_runs ALTER COLUMN message TYPE VARCHAR(2000)",
    ],
    "mysql": [
        "ALTER TABLE kr_scores MODIFY COLUMN unit VARCHAR(50)",
        "ALTER TABLE source_runs MODIFY COLUMN message VARCHAR(2000)",
        "ALTER TABLE metric_values MODIFY COLUMN value FLOAT",  # single precision there
    ],
}
WIDENED = {
    "postgresql": "kr_scores.unit, source_runs.message",
    "mysql": "kr_scores.unit, metric_values.value, source_runs.message",
}


@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_a_writer_widens_the_narrower_columns_of_an_older_warehouse(server, request):
    url = request.getfixturevalue(server)
    engine = warehouse.create_engine(url)
    with engine.begin() as connection:
        for statement in NARROWER[engine.dialect.name]:
            connection.exec_driver_sql(statement)
    engine.dispose()

    dialect = engine.dialect.name
    engine, upgraded = warehouse.open_for_writing(url)

    assert upgraded == [f"upgraded the warehouse: widened column(s) {WIDENED[dialect]}"]
    day = date(2026, 11, 1)
    row = {"as_of": day, "cycle_id": "Q4", "kr_id": "k", "objective_id": "o", "unit": LONGEST_ID}
    run = {"as_of": day, "source": "app", "status": "error", "message": _text(2001, MIXED)}
    with warehouse.publishing(engine) as publication:
        publication.replace_day(warehouse.kr_scores, day, pd.DataFrame([row]))
        publication.replace_day(warehouse.source_runs, day, pd.DataFrame([run]))
    assert warehouse.read_table(engine, warehouse.kr_scores)["unit"].tolist() == [LONGEST_ID]
    assert warehouse.read_table(engine, warehouse.source_runs)["message"].tolist() == [
        run["message"]
    ]
    value = {"metric_id": "app.m", "ts": pd.Timestamp(day), "value": 12345678.9, "source": "app"}
    with warehouse.publishing(engine) as publication:
        publication.change_values(pd.DataFrame(), pd.DataFrame([value]))
    assert warehouse.read_table(engine, warehouse.metric_values)["value"].tolist() == [12345678.9]
    engine.dispose()
    engine, upgraded = warehouse.open_for_writing(url)
    engine.dispose()
    assert upgraded == []  # once upgraded, nothing more to do
