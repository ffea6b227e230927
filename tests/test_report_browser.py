"""The report in a real headless Chromium, opened from disk: counts, filters, escaping.

Debian's `chromium` package driven by Playwright's Python client (never `playwright
install`: the browser is the system's). Skipped without them, failed under
OKR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import skip_or_fail
from test_report import HOSTILE, scored_warehouse

from okr_pipeline.report import write_report

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    """The report opened from a file URL, with every console error and dialog recorded."""
    engine, project = scored_warehouse(tmp_path)
    path = write_report(engine, project, None, tmp_path / "report.html")
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.problems = []  # console errors, uncaught exceptions, dialogs (alert would be one)
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("dialog", lambda dialog: (page.problems.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    yield page
    context.close()


def counts(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "[data-count]", "els => Object.fromEntries(els.map(e => [e.dataset.count, e.textContent]))"
    )


def visible_krs(page) -> list[str]:
    return page.eval_on_selector_all(
        ".kr", "els => els.filter(e => e.offsetParent !== null).map(e => e.id)"
    )


def test_counts_team_filter_escaping_and_a_screenshot(page):
    # on_track: mrr and signups; at_risk: deals (2/10 vs 45% pace); off_track: availability
    assert counts(page) == {
        "missed": "0", "off_track": "1", "at_risk": "1", "no_data": "0",
        "not_started": "0", "on_track": "2", "achieved": "0", "data": "1",
    }  # fmt: skip
    assert page.inner_text("#shown") == "4 of 4 key results"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

    # the hostile title is text on the page, and the only script is the report's own
    assert page.inner_text("#kr-2026-Q4-signups .kr-title") == HOSTILE
    assert page.eval_on_selector_all("script", "els => els.length") == 1

    page.select_option("#team-filter", "sales")
    assert visible_krs(page) == ["kr-2026-Q4-deals"]
    assert counts(page) == {
        "missed": "0", "off_track": "0", "at_risk": "1", "no_data": "0",
        "not_started": "0", "on_track": "0", "achieved": "0", "data": "1",
    }  # fmt: skip
    assert page.inner_text("#shown") == "1 of 4 key results"
    # the company objective above the sales objective stays, as context; reliability goes
    assert page.is_visible("#obj-2026-Q4-company-growth")
    assert page.is_visible("#obj-2026-Q4-sales-pipeline")
    assert not page.is_visible("#obj-2026-Q4-uptime")
    risks = page.eval_on_selector_all(
        ".risk", "els => els.filter(e => e.offsetParent !== null).map(e => e.innerText)"
    )
    assert len(risks) == 1 and "10 deals" in risks[0]
    assert page.evaluate("location.hash") == "#team=sales"
    assert page.problems == []


def test_status_and_owner_filters_and_a_shared_link(page):
    page.click("button[data-status-filter='off_track']")
    assert visible_krs(page) == ["kr-2026-Q4-availability"]
    page.click("#clear-filters")
    assert len(visible_krs(page)) == 4
    page.select_option("#owner-filter", "<b>eve</b>")
    assert visible_krs(page) == ["kr-2026-Q4-signups"]
    # a link with the filter in its hash opens filtered
    page.goto(page.url.split("#")[0] + "#team=platform")
    page.reload()
    assert visible_krs(page) == ["kr-2026-Q4-availability"]
    assert page.input_value("#team-filter") == "platform"
    assert page.problems == []


def open_at(browser, path: Path, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(path.as_uri())
    return context, page


def test_on_a_phone_nothing_is_wider_than_the_screen(browser, tmp_path):
    engine, project = scored_warehouse(tmp_path)
    path = write_report(engine, project, None, tmp_path / "report.html")
    context, page = open_at(browser, path, 390, 844)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        widest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('.kr, .risk, .panel, table, svg')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        assert widest <= 390
        # the sticky filter bar takes at most a tenth of the screen: 844 / 10
        assert page.evaluate("document.querySelector('.filters').offsetHeight") <= 84.4
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-phone.png"))
    finally:
        context.close()


def test_on_a_wide_screen_key_results_sit_side_by_side(browser, tmp_path):
    engine, project = scored_warehouse(tmp_path)
    path = write_report(engine, project, None, tmp_path / "report.html")
    context, page = open_at(browser, path, 1400, 900)
    try:

        def box(selector: str) -> dict:
            return page.eval_on_selector(selector, "e => e.getBoundingClientRect().toJSON()")

        mrr, signups = box("#kr-2026-Q4-mrr"), box("#kr-2026-Q4-signups")
        assert mrr["top"] == signups["top"] and signups["left"] >= mrr["right"]
        # the two company objectives, growth and reliability, are in different themes; the
        # KR cards fill the row instead of one card per row
        assert mrr["width"] < 1400 / 3
    finally:
        context.close()
