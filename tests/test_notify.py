"""Webhook notifications against loopback HTTP servers: what is posted, and what a
dead, failing or hanging webhook does to the run (nothing: it is reported)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
import time
from datetime import date

import pandas as pd
import pytest
from sources.conftest_http import RawServer, drip
from test_pipeline import write_project
from test_report import scored_warehouse

from okr_pipeline import notify as notify_module
from okr_pipeline.config.models import Notification, ProjectSettings
from okr_pipeline.notify import changes, notify
from okr_pipeline.orchestration import build_definitions, materialize_day

NOV_8, NOV_9 = date(2026, 11, 8), date(2026, 11, 9)
AVAILABILITY_WORSE = {
    "cycle_id": "2026-Q4", "kr_id": "availability", "objective_id": "uptime",
    "title": "Availability above 99.5%", "owner": "ops@example.com", "team": "platform",
    "from": "on_track", "to": "off_track", "score": 0.0, "expected": 1.0,
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def scored(tmp_path):
    """test_report's organisation on Nov 8 and 9: availability drops from 99.9 to 99.1 on
    Nov 9, below its 99.5 floor (on_track -> off_track); nothing else changes."""
    return scored_warehouse(tmp_path, days=(NOV_8, NOV_9))


def with_hooks(project, *hooks: Notification, secrets=()):
    return dataclasses.replace(
        project,
        settings=ProjectSettings(notify=list(hooks)),
        secrets=project.secrets | set(secrets),
    )


def posted(httpserver) -> list[tuple[str, dict]]:
    return [(request.path, request.get_json()) for request, _ in httpserver.log]


def test_the_worsened_key_result_is_posted_to_each_webhook(scored, httpserver):
    engine, project = scored
    httpserver.expect_request("/a", method="POST").respond_with_data("ok")
    httpserver.expect_request("/b", method="POST").respond_with_data("ok")
    hooks = [Notification(url=httpserver.url_for(path)) for path in ("/a", "/b")]
    assert notify(with_hooks(project, *hooks), engine, NOV_9) == []
    body = {
        "text": "OKR update for 2026-11-09 (compared with 2026-11-08)\n"
        "1 key result(s) got worse:\n"
        "• Availability above 99.5% (platform): on_track → off_track",
        "as_of": "2026-11-09",
        "previous_as_of": "2026-11-08",
        "status_changes": [AVAILABILITY_WORSE],
        "data_problems": [],
        "checkins_due": [],  # the organisation has no manual key result
    }
    assert posted(httpserver) == [("/a", body), ("/b", body)]


def test_a_webhook_hears_only_the_changes_it_asked_for(scored, httpserver):
    engine, project = scored
    httpserver.expect_request("/status").respond_with_data("ok")
    hooks = [
        Notification(url=httpserver.url_for("/status"), on=["status_change"]),
        Notification(url=httpserver.url_for("/data"), on=["data_problem"]),
    ]
    assert notify(with_hooks(project, *hooks), engine, NOV_9) == []
    # the data hook has nothing to hear (no data status left ok): nothing is posted to it
    [(path, body)] = posted(httpserver)
    assert path == "/status" and "data_problems" not in body
    assert body["status_changes"] == [AVAILABILITY_WORSE]


def test_no_previous_date_or_no_webhook_posts_nothing(scored, httpserver):
    engine, project = scored
    hook = Notification(url=httpserver.url_for("/a"))
    assert notify(with_hooks(project, hook), engine, NOV_8) == []  # Nov 8 is the first date
    assert notify(project, engine, NOV_9) == []  # no notify: in okr_project.yaml
    assert httpserver.log == []


def test_failing_webhooks_are_reported_redacted_and_do_not_stop_the_others(
    scored, httpserver, monkeypatch
):
    engine, project = scored
    monkeypatch.setattr(notify_module, "TIMEOUT_SECONDS", 0.5)
    httpserver.expect_request("/T000/B000/s3cr3tpath").respond_with_data("boom", status=500)
    httpserver.expect_request("/ok").respond_with_data("ok")
    closed = free_port()
    with socket.socket() as hanging:  # accepts connections, never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen()
        silent = hanging.getsockname()[1]
        failing = httpserver.url_for("/T000/B000/s3cr3tpath")
        hooks = [
            Notification(url=failing),
            Notification(url=f"http://127.0.0.1:{closed}/hook?token=abcd1234"),
            Notification(url=f"http://127.0.0.1:{silent}/hook"),
            Notification(url=httpserver.url_for("/ok")),
        ]
        problems = notify(with_hooks(project, *hooks, secrets=[failing]), engine, NOV_9)
    assert problems == [
        f"webhook http://localhost:{httpserver.port}/*** failed: HTTP 500",
        f"webhook http://127.0.0.1:{closed}/*** failed: cannot connect (connection refused)",
        f"webhook http://127.0.0.1:{silent}/*** failed: no answer within 0.5 s",
    ]
    assert [path for path, _ in posted(httpserver)] == ["/T000/B000/s3cr3tpath", "/ok"]


def dripping_reply(connection, path: str) -> None:
    """Status and headers at once, then a reply of 1,000 bytes, one byte every 0.1 s."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    drip(connection, itertools.repeat(ord(" ")))


def dripping_head(connection, path: str) -> None:
    """The status line and a header that never ends, one byte every 0.1 s."""
    drip(connection, itertools.chain(b"HTTP/1.1 200 OK\r\nX-Pad: ", itertools.repeat(ord("a"))))


@pytest.mark.parametrize("answer", [dripping_reply, dripping_head], ids=["reply", "headers"])
def test_a_dripping_webhook_is_cut_at_the_deadline(scored, httpserver, monkeypatch, answer):
    engine, project = scored
    monkeypatch.setattr(notify_module, "TIMEOUT_SECONDS", 1)
    httpserver.expect_request("/ok").respond_with_data("ok")
    with RawServer(answer) as webhook:
        hooks = [
            Notification(url=f"{webhook.url}/hook"),
            Notification(url=httpserver.url_for("/ok")),
        ]
        started = time.monotonic()
        problems = notify(with_hooks(project, *hooks), engine, NOV_9)
        seconds = time.monotonic() - started

    assert problems == [f"webhook {webhook.url}/*** failed: no answer within 1 s"]
    assert seconds < 5  # 1 s for the dripping hook; unbounded, it would never end
    assert [path for path, _ in posted(httpserver)] == ["/ok"]  # the next hook still heard


def endless_reply(connection, path: str) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    while True:
        connection.sendall(chunk)


def test_an_endless_reply_is_read_no_further_than_a_few_kb(scored):
    engine, project = scored
    with RawServer(endless_reply) as webhook:
        hook = Notification(url=f"{webhook.url}/hook")
        started = time.monotonic()
        problems = notify(with_hooks(project, hook), engine, NOV_9)
        seconds = time.monotonic() - started

    assert problems == []  # posted: only the status of the reply matters
    assert seconds < 5  # the reply never ends; reading it whole would never return
    [request] = webhook.requests
    body = json.loads(request.partition(b"\r\n\r\n")[2])
    assert body["status_changes"] == [AVAILABILITY_WORSE]


def test_changes_lists_worse_statuses_and_data_that_left_ok():
    columns = ["cycle_id", "kr_id", "status", "data_status"]
    extra = {"objective_id": "o", "title": "t", "owner": None, "team": "x", "score": 0.5,
             "expected": 0.5, "data_message": "late"}  # fmt: skip
    before = pd.DataFrame(
        [
            ("C", "better", "at_risk", "ok"),
            ("C", "worse", "not_started", "ok"),
            ("C", "stale", "on_track", "ok"),
            ("C", "still_bad", "on_track", "stale"),
            ("C", "same", "missed", "ok"),
        ],
        columns=columns,
    )
    now = pd.DataFrame(
        [
            ("C", "better", "on_track", "ok"),
            ("C", "worse", "no_data", "ok"),  # not_started < no_data in severity
            ("C", "stale", "on_track", "stale"),
            ("C", "still_bad", "on_track", "invalid"),  # was not ok: not news
            ("C", "same", "missed", "ok"),
            ("C", "new", "missed", "source_error"),  # not scored before: not compared
        ],
        columns=columns,
    ).assign(**extra)
    worse, broken = changes(now, before)
    assert [(c["kr_id"], c["from"], c["to"]) for c in worse] == [
        ("worse", "not_started", "no_data")
    ]
    assert [(p["kr_id"], p["from"], p["to"], p["message"]) for p in broken] == [
        ("stale", "ok", "stale", "late")
    ]


def test_slack_text_shows_titles_as_typed():
    change = {**AVAILABILITY_WORSE, "title": "<!channel> R&D <b>"}
    text = notify_module.message(NOV_9, NOV_8, {"status_changes": [change]})["text"]
    assert "• &lt;!channel&gt; R&amp;D &lt;b&gt; (platform): on_track → off_track" in text


def test_a_run_in_which_one_key_result_worsens_posts_exactly_that(
    tmp_path, dagster_instance, httpserver, monkeypatch
):
    """End to end through the real Definitions: MRR is restated from 150 to 110 between two
    nightly runs, so its status drops; the second webhook answers 500 and the run succeeds."""
    project = write_project(tmp_path)
    monkeypatch.setenv("OKR_TEST_HOOK", httpserver.url_for("/services/T1/B1/XYZ"))
    (project / "okr_project.yaml").write_text(
        "notify:\n"
        "  - url: ${OKR_TEST_HOOK}\n"
        f"  - url: {httpserver.url_for('/down')}\n"
        "    on: [status_change]\n"
    )
    httpserver.expect_request("/services/T1/B1/XYZ", method="POST").respond_with_data("ok")
    httpserver.expect_request("/down").respond_with_data("down", status=500)
    url = f"sqlite:///{tmp_path / 'wh.db'}"

    def run(day: date):
        result = materialize_day(build_definitions(project, url), day, dagster_instance)
        assert result.success
        [scores] = [
            m
            for m in result.asset_materializations_for_node("score_okrs")
            if m.asset_key.path == ["warehouse", "kr_scores"]
        ]
        return scores.metadata["notify_problems"].value

    assert run(date(2026, 11, 10)) == []  # the first date: nothing to compare with
    assert httpserver.log == []
    csv = (project / "finance.csv").read_text()
    (project / "finance.csv").write_text(csv.replace("2026-11-01,mrr,150", "2026-11-01,mrr,110"))
    problems = run(date(2026, 11, 11))

    assert problems == [f"webhook http://localhost:{httpserver.port}/*** failed: HTTP 500"]
    assert [path for path, _ in posted(httpserver)] == ["/services/T1/B1/XYZ", "/down"]
    # MRR: (110 - 100) / (200 - 100) = 0.1 against 42 / 92 = 0.457 expected on Nov 11:
    # gap 0.357 > 0.25 -> off_track (on_track on Nov 10 at 0.5). signups stays on_track
    # (13/30 = 0.433, gap 0.023); deals has no data on both days (its file is missing).
    assert posted(httpserver)[0][1] == {
        "text": "OKR update for 2026-11-11 (compared with 2026-11-10)\n"
        "1 key result(s) got worse:\n"
        "• MRR from 100 to 200 (growth): on_track → off_track",
        "as_of": "2026-11-11",
        "previous_as_of": "2026-11-10",
        "status_changes": [
            {
                "cycle_id": "2026-Q4",
                "kr_id": "mrr",
                "objective_id": "grow",
                "title": "MRR from 100 to 200",
                "owner": "ana@example.com",
                "team": "growth",
                "from": "on_track",
                "to": "off_track",
                "score": 0.1,
                "expected": pytest.approx(42 / 92),
            }
        ],
        "data_problems": [],
        "checkins_due": [],
    }


def test_a_check_in_reminder_is_posted_once_per_due_period(tmp_path, dagster_instance, httpserver):
    """A manual key result checked in on Nov 1 falls due on Nov 8 (7 days, the default).
    Nights of Nov 8 and 9 post the reminder once; a check-in on Nov 10 starts a new period,
    due again on Nov 17."""
    project = write_project(tmp_path)
    okrs = project / "okrs" / "q4.yaml"
    okrs.write_text(
        okrs.read_text()
        + "      - {id: nps, title: NPS from the survey, owner: bo@example.com, metric: manual,\n"
        "         type: increase, baseline: 20, target: 40}\n"
    )
    (project / "checkins").mkdir()
    checkins = project / "checkins" / "q4.csv"
    checkins.write_text("kr_id,date,value\nnps,2026-11-01,25\n")
    (project / "okr_project.yaml").write_text(
        f"notify:\n  - url: {httpserver.url_for('/hook')}\n    on: [checkin_due]\n"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    url = f"sqlite:///{tmp_path / 'wh.db'}"

    def night(day: date) -> list[dict]:
        before = len(httpserver.log)
        assert materialize_day(build_definitions(project, url), day, dagster_instance).success
        return [body for _, body in posted(httpserver)[before:]]

    assert night(date(2026, 11, 7)) == []  # Nov 7 - Nov 1 = 6 days: not due yet
    (reminder,) = night(date(2026, 11, 8))  # 7 days: due
    assert reminder["checkins_due"] == [
        {
            "cycle_id": "2026-Q4", "kr_id": "nps", "objective_id": "sell",
            "title": "NPS from the survey", "owner": "bo@example.com", "team": "sales",
            "last_checkin_date": "2026-11-01",
        }
    ]  # fmt: skip
    assert reminder["text"] == (
        "OKR update for 2026-11-08 (compared with 2026-11-07)\n"
        "1 check-in(s) due:\n"
        "• NPS from the survey (nps): bo@example.com, last check-in 2026-11-01"
    )
    assert night(date(2026, 11, 9)) == []  # still due, same period: no second reminder
    checkins.write_text("kr_id,date,value\nnps,2026-11-01,25\nnps,2026-11-10,27\n")
    assert night(date(2026, 11, 10)) == []  # checked in today: not due
    assert night(date(2026, 11, 16)) == []  # 6 days after Nov 10
    (again,) = night(date(2026, 11, 17))  # 7 days after Nov 10: a new period
    assert again["checkins_due"][0]["last_checkin_date"] == "2026-11-10"
