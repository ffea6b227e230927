"""The report as a nightly asset: dated pages, latest.html, pruning, and its metadata."""

from __future__ import annotations

from datetime import date

import pytest
from test_pipeline import AS_OF, write_project

from okr_pipeline.orchestration import Names, build_definitions, materialize_day, materialize_days

REPORT_KEY = Names().key("reports", "okr_report")


@pytest.fixture
def project(tmp_path):
    root = write_project(tmp_path / "project")
    (root / "okr_project.yaml").write_text("report: {dir: pages, keep_days: 5}\n")
    return root


def report_metadata(result) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == REPORT_KEY]
    return event.materialization.metadata


def test_the_nightly_run_publishes_the_dated_page_and_latest(project, tmp_path, dagster_instance):
    defs = build_definitions(project, f"sqlite:///{tmp_path / 'wh.db'}")
    result = materialize_day(defs, AS_OF, dagster_instance)

    assert result.success
    pages = project / "pages"
    assert sorted(path.name for path in pages.iterdir()) == ["2026-11-10.html", "latest.html"]
    assert (pages / "latest.html").read_bytes() == (pages / "2026-11-10.html").read_bytes()
    # a web server running as another user can read both pages (mkstemp alone gives 0600)
    assert {(page.stat().st_mode & 0o777) for page in pages.iterdir()} == {0o644}
    assert 'as of <time datetime="2026-11-10">' in (pages / "latest.html").read_text()
    metadata = report_metadata(result)
    assert metadata["path"].value == str(pages / "2026-11-10.html")
    assert metadata["latest"].value is True
    # mrr 150 of 100 -> 200 (0.5) and signups 13 of 30 (0.43) are on track against 41 / 92 =
    # 0.45 expected; deals' source, missing.csv, is gone and it never had a value: no_data
    counts = {key: entry.value for key, entry in metadata.items() if key.startswith("krs_")}
    assert counts == {
        "krs_missed": 0, "krs_off_track": 0, "krs_at_risk": 0, "krs_no_data": 1,
        "krs_not_started": 0, "krs_on_track": 2, "krs_achieved": 0,
    }  # fmt: skip
    assert metadata["at_risk"].value == (
        "| key result | status | why |\n"
        "| --- | --- | --- |\n"
        "| deals (2026-Q4) | no_data | no value observed yet; "
        "source error: file not found: missing.csv |"
    )


def test_a_backfill_writes_its_last_day_and_latest_follows_the_newest_date(
    project, tmp_path, dagster_instance
):
    defs = build_definitions(project, f"sqlite:///{tmp_path / 'wh.db'}")
    pages = project / "pages"

    assert materialize_days(defs, date(2026, 11, 1), date(2026, 11, 10), dagster_instance).success
    assert sorted(path.name for path in pages.iterdir()) == ["2026-11-10.html", "latest.html"]

    # an older day run afterwards gets its page; latest.html stays on the newest date
    assert materialize_day(defs, date(2026, 11, 3), dagster_instance).success
    assert '<time datetime="2026-11-10">' in (pages / "latest.html").read_text()
    assert (pages / "2026-11-03.html").exists()

    # keep_days 5: a run of Nov 12 removes the pages dated before Nov 7
    result = materialize_day(defs, date(2026, 11, 12), dagster_instance)
    assert sorted(path.name for path in pages.iterdir()) == [
        "2026-11-10.html", "2026-11-12.html", "latest.html",
    ]  # fmt: skip
    assert report_metadata(result)["pages_removed"].value == 1
    assert '<time datetime="2026-11-12">' in (pages / "latest.html").read_text()
    assert not list(pages.glob(".*.tmp"))  # nothing half written is left behind
