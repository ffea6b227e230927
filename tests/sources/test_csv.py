"""The csv connector: filters, the window, and every file mistake as a recorded error.

The file `data/sales.csv` of each test project, around a window of 2026-10-01 .. 2026-10-04
(end exclusive):

    date        region  amount  active  plan
    2026-09-30  north   100     true    1      before the window
    2026-10-01  north   1.5     true    1
    2026-10-01  south   2       false   2
    2026-10-02  north   4       TRUE    1.0
    2026-10-03  north   8       yes     2
    2026-10-04  north   16      true    1      the end date itself: excluded
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from .conftest_http import error, fetch, values, window, write_project

SALES = """\
date,region,amount,active,plan
2026-09-30,north,100,true,1
2026-10-01,north,1.5,true,1
2026-10-01,south,2,false,2
2026-10-02,north,4,TRUE,1.0
2026-10-03,north,8,yes,2
2026-10-04,north,16,true,1
"""
OCTOBER_1_TO_3 = window(date(2026, 10, 1), date(2026, 10, 4))


def csv_project(root: Path, metrics: str, data: str = SALES, settings: str | None = None) -> Path:
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "sales.csv").write_text(data)
    source = f"name: sales\nkind: csv\npath: data/sales.csv\nmetrics:\n{metrics}"
    return write_project(root, source, settings=settings)


def one_metric(filter_: str = "", ts: str = "date", value: str = "amount") -> str:
    return f"  - {{name: m, ts: {ts}, value: {value}{', filter: ' + filter_ if filter_ else ''}}}\n"


def test_filter_and_window(tmp_path: Path):
    csv_project(tmp_path, one_metric("{region: north}"))
    # north rows: 09-30 is before the start and 10-04 is the (exclusive) end: 1.5, 4, 8 remain
    assert values(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == {
        "2026-10-01": 1.5,
        "2026-10-02": 4.0,
        "2026-10-03": 8.0,
    }


def test_without_filter_every_row_in_the_window(tmp_path: Path):
    csv_project(tmp_path, one_metric())
    (metric,) = fetch(tmp_path, "sales", OCTOBER_1_TO_3).metrics
    # four rows inside the window, two of them on 10-01: no aggregation in the connector
    assert list(metric.series["value"]) == [1.5, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        # true, TRUE and yes are true: 10-01 north 1.5, 10-02 4, 10-03 8
        ("{active: true}", {"2026-10-01": 1.5, "2026-10-02": 4.0, "2026-10-03": 8.0}),
        ("{active: false}", {"2026-10-01": 2.0}),
        # the number 1 matches "1" and "1.0" (10-01 north, 10-02), not "2"
        ("{plan: 1}", {"2026-10-01": 1.5, "2026-10-02": 4.0}),
        ("{region: south, plan: 2}", {"2026-10-01": 2.0}),
    ],
)
def test_filters_compare_booleans_and_numbers_by_value(tmp_path: Path, filter_, expected):
    csv_project(tmp_path, one_metric(filter_))
    assert values(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == expected


def test_timestamps_become_local_dates(tmp_path: Path):
    """Naive text is local time; text with an offset is converted to the project's zone."""
    data = (
        "date,amount\n"
        "2026-10-01 23:30:00,1\n"  # local already: 10-01
        "2026-10-01T23:30:00Z,2\n"  # 01:30 on 10-02 in Oslo (UTC+2)
        "2026-10-03T23:30:00+02:00,4\n"  # 10-03 in Oslo
        "2026-10-03T22:30:00Z,8\n"  # 00:30 on 10-04 in Oslo: after the window
    )
    csv_project(tmp_path, one_metric(), data, settings="timezone: Europe/Oslo\n")
    assert values(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == {
        "2026-10-01": 1.0,
        "2026-10-02": 2.0,
        "2026-10-03": 4.0,
    }


def test_missing_file(tmp_path: Path):
    csv_project(tmp_path, one_metric())
    (tmp_path / "data" / "sales.csv").unlink()
    result = fetch(tmp_path, "sales", OCTOBER_1_TO_3)
    assert error(result, "m") == "file not found: data/sales.csv"
    assert result.status == "error"


def test_a_directory_instead_of_a_file(tmp_path: Path):
    csv_project(tmp_path, one_metric())
    (tmp_path / "data" / "sales.csv").unlink()
    (tmp_path / "data" / "sales.csv").mkdir()
    assert error(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == (
        "cannot read data/sales.csv: Is a directory"
    )


def test_missing_columns_are_named_and_other_metrics_still_load(tmp_path: Path):
    metrics = (
        "  - {name: wrong, ts: day, value: revenue, filter: {country: NO}}\n"
        "  - {name: right, ts: date, value: amount, filter: {region: south}}\n"
    )
    csv_project(tmp_path, metrics)
    result = fetch(tmp_path, "sales", OCTOBER_1_TO_3)
    assert error(result, "wrong") == "data/sales.csv has no column day, revenue, country"
    assert values(result, "right") == {"2026-10-01": 2.0}


def test_bad_date(tmp_path: Path):
    csv_project(tmp_path, one_metric(), SALES + "2026-10-0x,north,3,true,1\n")
    assert (
        error(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m")
        == "data/sales.csv, line 8: date is not a date"
    )


def test_non_numeric_value_names_file_line_and_column_never_the_cell(tmp_path: Path):
    csv_project(tmp_path, one_metric(), SALES + "2026-10-02,north,12abc,true,1\n")
    # SALES holds a header and six rows: the appended row is line 8
    assert error(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == (
        "data/sales.csv, line 8: amount is not a number"
    )


def test_an_empty_cell_is_a_missing_value_not_an_error(tmp_path: Path):
    """A blank is left to the not_null check, which rejects the metric with its reason."""
    csv_project(tmp_path, one_metric(), "date,amount\n2026-10-01,\n2026-10-02,4\n")
    (metric,) = fetch(tmp_path, "sales", OCTOBER_1_TO_3).metrics
    assert metric.error is None
    assert metric.series["value"].isna().tolist() == [True, False]


def test_a_file_that_is_not_csv(tmp_path: Path):
    csv_project(tmp_path, one_metric(), "")
    assert error(fetch(tmp_path, "sales", OCTOBER_1_TO_3), "m") == (
        "cannot parse data/sales.csv: No columns to parse from file"
    )
