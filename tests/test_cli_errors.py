"""Every failure says why in one line on stderr, exit 1, never a traceback: wrong warehouse
URLs, a warehouse lacking columns, a full disk, a read-only warehouse, a failed webhook."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import free_port, skip_or_fail
from test_cli import okr
from test_pipeline import write_project

COMMANDS = {
    "run": ["run", "--date", "2026-11-10"],
    "backfill": ["backfill", "--start", "2026-11-09", "--end", "2026-11-10"],
    "status": ["status"],
    "report": ["report"],
}
CLOSED_PORT = free_port()  # nothing listens there
WRONG_URLS = {
    "server down": (
        f"postgresql+psycopg://postgres:pw-Kea-77@127.0.0.1:{CLOSED_PORT}/test",
        f"cannot connect to warehouse postgresql+psycopg://postgres:***@127.0.0.1:{CLOSED_PORT}"
        "/test: connection refused",
    ),
    "postgres scheme": (
        "postgres://postgres:pw-Kea-77@127.0.0.1:5432/test",
        "warehouse postgres://postgres:***@127.0.0.1:5432/test: unknown dialect 'postgres'; "
        "did you mean postgresql://?",
    ),
    "mysql without its driver": (
        "mysql://root:pw-Kea-77@127.0.0.1:3306/test",
        "warehouse mysql://root:***@127.0.0.1:3306/test: its driver MySQLdb is not installed; "
        "use mysql+pymysql://",
    ),
    "port not a number": (
        "postgresql+psycopg://postgres:pw-Kea-77@127.0.0.1:54x2/test",
        "warehouse postgresql+psycopg://postgres:***@127.0.0.1:54x2/test: the port is not a number",
    ),
    "unknown scheme": (
        "mongodb://db.example/okr",
        "warehouse mongodb://db.example/okr: unknown dialect 'mongodb'; "
        "use one of sqlite, postgresql, mysql, mariadb, mssql, oracle",
    ),
}


def assert_one_line(result: subprocess.CompletedProcess, line: str) -> None:
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [line]
    assert result.returncode == 1


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("errors"))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", WRONG_URLS)
def test_a_wrong_warehouse_url_is_one_line_naming_it(project, command, case):
    url, line = WRONG_URLS[case]
    result = okr(*COMMANDS[command], "--warehouse", url, cwd=project)
    assert_one_line(result, line)
    assert "pw-Kea-77" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_that_is_no_database_is_one_line_naming_it(project, command, tmp_path):
    path = tmp_path / "wh.db"
    path.write_text("date,amount\n" * 20)  # a CSV where the warehouse should be
    result = okr(*COMMANDS[command], "--warehouse", f"sqlite:///{path}", cwd=project)
    assert_one_line(
        result, f"warehouse sqlite:///{path}: sqlite3.DatabaseError: file is not a database"
    )


def test_a_warehouse_folder_that_cannot_be_made_is_one_line(project, tmp_path):
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "warehouse"
    url = f"sqlite:///{folder / 'wh.db'}"
    result = okr(*COMMANDS["run"], "--warehouse", url, cwd=project)
    assert_one_line(result, f"warehouse {url}: cannot create its folder {folder}: Not a directory")


# ---------------------------------------------------------------- a warehouse lacking columns


def scored(tmp_path: Path, url: str) -> Path:
    root = write_project(tmp_path / "project")
    result = okr("run", "--date", "2026-11-09", "--warehouse", url, cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def drop_columns(url: str, *columns: str) -> None:
    """ALTER TABLE ... DROP COLUMN, for real, as a hand edit or an older version leaves it."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for column in columns:
            table, name = column.split(".")
            connection.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {name}")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres_url", "mariadb_url"])
def warehouse_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wh.db'}"
    return request.getfixturevalue(request.param)


def test_readers_name_the_columns_lacking_and_a_writer_adds_them(tmp_path, warehouse_url):
    root = scored(tmp_path, warehouse_url)
    drop_columns(warehouse_url, "kr_scores.data_message", "objective_scores.theme")
    lacking = (
        "warehouse table kr_scores lacks column data_message; warehouse table objective_scores "
        "lacks column theme: run `okr-pipeline run` to upgrade the warehouse"
    )
    for reader in ("status", "report"):
        assert_one_line(okr(reader, "--warehouse", warehouse_url, cwd=root), lacking)

    run = okr("run", "--date", "2026-11-10", "--warehouse", warehouse_url, cwd=root)

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == (
        "upgraded the warehouse: added column(s) kr_scores.data_message, objective_scores.theme"
    )
    assert run.stderr == ""
    status = okr("status", "--format", "csv", "--warehouse", warehouse_url, cwd=root)
    assert status.returncode == 0, status.stderr
    # the upgrading run scored 2026-11-10 whole, data_message included; expected = 41 / 92
    assert status.stdout.splitlines()[1] == (
        "2026-11-10,2026-Q4,sell,deals,10 deals,bo@example.com,sales,,10.0,,,0.0,"
        "0.44565217391304346,no_data,source_error,file not found: missing.csv,False,"
        "no_data,no_data: key result deals is no_data"
    )


def test_a_missing_key_column_stops_every_command(tmp_path, postgres_url):
    root = scored(tmp_path, postgres_url)
    drop_columns(postgres_url, "kr_scores.kr_id")
    line = (
        "warehouse table kr_scores lacks required column kr_id, which cannot be added to the "
        "rows stored; restore the table from a backup, or rename it so that the next run "
        "starts it anew"
    )
    for command in COMMANDS.values():
        assert_one_line(okr(*command, "--warehouse", postgres_url, cwd=root), line)


# ---------------------------------------------------------------- a run that fails for real


def test_a_read_only_warehouse_is_the_root_cause_of_a_failed_run(tmp_path):
    path = tmp_path / "wh.db"
    root = scored(tmp_path, f"sqlite:///{path}")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = okr("run", "--date", "2026-11-10", "--warehouse", read_only, cwd=root)
    assert_one_line(
        result,
        "step score_okrs failed: sqlite3.OperationalError: attempt to write a readonly "
        "database; the warehouse is read-only: give this user write access, or point "
        "--warehouse at a writable one",
    )
    backfill = okr(
        "backfill", "--start", "2026-11-10", "--end", "2026-11-11", "--warehouse", read_only,
        cwd=root,
    )  # fmt: skip
    assert_one_line(
        backfill,
        "backfill stopped after 0 of 2 day(s), the days published are complete; step "
        "score_okrs failed: sqlite3.OperationalError: attempt to write a readonly database; "
        "the warehouse is read-only: give this user write access, or point --warehouse at a "
        "writable one",
    )
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT DISTINCT as_of FROM kr_scores").fetchall() == [("2026-11-09",)]


def test_a_full_disk_is_the_root_cause_of_a_failed_run(tmp_path):
    """The warehouse on a 2 MiB tmpfs filled up, in a mount namespace of its own."""
    unshare = shutil.which("unshare")
    if unshare is None:
        skip_or_fail("unshare (util-linux) is not installed")
    path = tmp_path / "wh.db"
    root = scored(tmp_path, f"sqlite:///{path}")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        'mount -t tmpfs -o size=2m tmpfs "$1" || exit 99\n'
        'cp "$2" "$1/wh.db"\n'
        'dd if=/dev/zero of="$1/filler" bs=4096 2>/dev/null\n'  # until the disk is full
        '"$3" -m okr_pipeline run --date 2026-11-10 --warehouse "sqlite:///$1/wh.db"\n'
        'code=$?; cp "$1/wh.db" "$2"; exit $code\n'
    )
    result = subprocess.run(
        [unshare, "--mount", "sh", "-c", script, "sh", str(disk), str(path), sys.executable],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode == 99 or "unshare:" in result.stderr:
        skip_or_fail(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    assert_one_line(
        result,
        "step score_okrs failed: sqlite3.OperationalError: database or disk is full; the "
        "warehouse's disk is full: free space there (or raise its quota) and run again",
    )
    with sqlite3.connect(path) as db:  # the day before, whole; nothing of the failed day
        assert db.execute("SELECT as_of, count(*) FROM kr_scores GROUP BY 1").fetchall() == [
            ("2026-11-09", 3)
        ]
        assert db.execute("SELECT DISTINCT as_of FROM source_runs").fetchall() == [("2026-11-09",)]


def test_a_failed_webhook_is_named_in_the_summary(tmp_path):
    root = write_project(tmp_path)
    port = free_port()  # closed: nothing listens there
    (root / "okr_project.yaml").write_text(
        f"notify:\n  - url: http://127.0.0.1:{port}/hooks/T0K3N\n    on: [data_problem]\n"
    )
    (root / "missing.csv").write_text("date,amount\n2026-11-02,4\n")
    first = okr("run", "--date", "2026-11-09", cwd=root)  # crm answers: deals data ok
    assert first.returncode == 0, first.stderr
    (root / "missing.csv").unlink()  # crm now fails: deals' data is no longer ok

    second = okr("run", "--date", "2026-11-10", cwd=root)

    assert second.returncode == 0, second.stderr
    # the summary's last lines: the failed webhook, then the report page published
    assert second.stdout.splitlines()[-2] == (
        f"webhook http://127.0.0.1:{port}/*** failed: cannot connect (connection refused)"
    )
    assert second.stdout.splitlines()[-1].startswith("report: ")
    assert "T0K3N" not in second.stdout + second.stderr
