"""Broken projects: each case breaks one file of the valid project and names every problem.

The messages are the user interface of `okr-pipeline check`, so each case asserts the exact
lines, in the order they are printed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from okr_pipeline.config import ConfigError, load_project

Edit = Callable[[Path], None]
UNSET = ("OKR_TEST_UNSET_DB_URL", "OKR_TEST_UNSET_OWNER")
Q4 = "okrs/2026-q4.yaml"
PLATFORM = "okrs/2026-q4-platform.yaml"
CHECKINS = "checkins/2026-q4.csv"
KR_TYPES = "increase, decrease, stay_above, stay_below, stay_between, boolean, milestones, rollup"
SOURCE_KINDS = "sql, csv, rest, prometheus, github, jira, targetprocess"
CHECKIN_HEADER = "expected kr_id,date,value[,confidence,note]"


def sub(file: str, old: str, new: str) -> Edit:
    """Replace text that occurs exactly once, so a case cannot silently edit nothing."""

    def edit(root: Path) -> None:
        path = root / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def put(file: str, content: str | bytes) -> Edit:
    def edit(root: Path) -> None:
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return edit


def remove(file: str) -> Edit:
    return lambda root: (root / file).unlink()


CASES = [
    # ------------------------------------------------------------ fields and types
    pytest.param(
        [sub(Q4, "        target: 150000\n", "")],
        [f"{Q4}: objective grow-self-serve › key result mrr: target: field required"],
        id="missing-field",
    ),
    pytest.param(
        [sub(Q4, "baseline: 100000", "baseline: lots")],
        [f"{Q4}: objective grow-self-serve › key result mrr: baseline: expected a number"],
        id="wrong-type",
    ),
    pytest.param(
        [sub(Q4, "    team: growth\n", "    team: growth\n    colour: blue\n")],
        [f"{Q4}: objective grow-self-serve: colour: unknown field 'colour'"],
        id="unknown-key",
    ),
    pytest.param(
        [sub(Q4, "target: 150000", "targt: 150000")],
        # Only the misspelling: `target` is not also reported missing.
        [
            f"{Q4}: objective grow-self-serve › key result mrr: targt: "
            "unknown field 'targt' (did you mean 'target'?)",
        ],
        id="misspelled-field-of-a-key-result",
    ),
    pytest.param(
        [sub("metric_sources/gh.yaml", "kind: github\n", "kind: github\ntimeout_secs: 5\n")],
        [
            "metric_sources/gh.yaml: source gh: timeout_secs: "
            "unknown field 'timeout_secs' (did you mean 'timeout_seconds'?)"
        ],
        id="misspelled-field-of-a-source",
    ),
    pytest.param(
        [sub("metric_sources/events.yaml", "param: page}", "parm: page}")],
        [
            "metric_sources/events.yaml: source events: paginator.parm: "
            "unknown field 'parm' (did you mean 'param'?)"
        ],
        id="misspelled-field-of-a-paginator",
    ),
    pytest.param(
        [sub("metric_sources/events.yaml", "{path: /tickets/count}", "{path: /x, jsn: {}}")],
        [
            "metric_sources/events.yaml: source events › metric open_tickets: request.jsn: "
            "unknown field 'jsn' (did you mean 'json'?)"
        ],
        id="misspelled-alias",
    ),
    pytest.param(
        [sub(Q4, "{name: design, done: true}", "{name: design, don: true}")],
        [
            f"{Q4}: objective grow-self-serve › key result launch › milestone design: don: "
            "unknown field 'don' (did you mean 'done'?)"
        ],
        id="misspelled-field-of-a-milestone",
    ),
    pytest.param(
        [sub("okr_project.yaml", "timezone:", "timezon:")],
        ["okr_project.yaml: timezon: unknown field 'timezon' (did you mean 'timezone'?)"],
        id="misspelled-field-of-the-project-file",
    ),
    pytest.param(
        [sub(Q4, "end: 2026-12-31}", "end: 2026-12-31, archve: true}")],
        [f"{Q4}: cycle: archve: unknown field 'archve' (did you mean 'archived'?)"],
        id="misspelled-field-of-a-cycle",
    ),
    pytest.param(
        [sub(Q4, "id: nps", "id: 42")],
        [f"{Q4}: objective grow-self-serve › key result 42: id: expected a string"],
        id="non-string-id",
    ),
    pytest.param(
        [sub(Q4, "owner: ana@example.com", "owner: {name: ana}")],
        [f"{Q4}: objective grow-self-serve: owner: expected a string"],
        id="mapping-where-a-string-is-expected",
    ),
    pytest.param(
        [sub(Q4, "target: 150000", "target: .nan")],
        [f"{Q4}: objective grow-self-serve › key result mrr: target: expected a finite number"],
        id="not-a-finite-number",
    ),
    pytest.param(
        [sub(PLATFORM, "objectives:\n", "objectives:\n  - just a sentence\n")],
        [f"{PLATFORM}: objective #1: expected a mapping"],
        id="objective-entry-not-a-mapping",
    ),
    pytest.param(
        [
            sub(
                "metric_sources/gh.yaml",
                "metrics:\n  - name: stars\n    stat: stars\n",
                "metrics: {stars: stars}\n",
            )
        ],
        ["metric_sources/gh.yaml: source gh: metrics: expected a list"],
        id="metric-list-is-a-mapping",
    ),
    pytest.param(
        [sub(PLATFORM, "        type: boolean\n", "")],
        [f"{PLATFORM}: objective reliable-platform › key result status-page: type: field required"],
        id="missing-type",
    ),
    # A misspelled union tag (type, kind) is named as such, not just reported missing.
    pytest.param(
        [sub(PLATFORM, "        type: boolean\n", "        tpe: boolean\n")],
        [
            f"{PLATFORM}: objective reliable-platform › key result status-page: tpe: "
            "unknown field 'tpe' (did you mean 'type'?)"
        ],
        id="misspelled-type-of-a-key-result",
    ),
    pytest.param(
        [sub("metric_sources/gh.yaml", "kind: github\n", "knd: github\n")],
        ["metric_sources/gh.yaml: source gh: knd: unknown field 'knd' (did you mean 'kind'?)"],
        id="misspelled-kind-of-a-source",
    ),
    pytest.param(
        [sub("metric_sources/events.yaml", "{type: page_number,", "{typ: page_number,")],
        [
            "metric_sources/events.yaml: source events: paginator.typ: "
            "unknown field 'typ' (did you mean 'type'?)"
        ],
        id="misspelled-type-of-a-paginator",
    ),
    pytest.param(
        [sub(PLATFORM, "type: stay_below", "type: stay_under")],
        [
            f"{PLATFORM}: objective reliable-platform › key result open-tickets: type: "
            f"unknown type 'stay_under'; expected one of: {KR_TYPES}"
        ],
        id="unknown-kr-type",
    ),
    pytest.param(
        [sub("metric_sources/gh.yaml", "kind: github", "kind: gitlab")],
        [
            f"metric_sources/gh.yaml: source gh: kind: unknown kind 'gitlab'; "
            f"expected one of: {SOURCE_KINDS}"
        ],
        id="unknown-source-kind",
    ),
    pytest.param(
        [sub("metric_sources/events.yaml", "type: page_number", "type: pages")],
        [
            "metric_sources/events.yaml: source events: paginator.type: unknown type 'pages'; "
            "expected one of: none, page_number, offset, cursor, next_url, link_header"
        ],
        id="unknown-paginator-type",
    ),
    pytest.param(
        [sub(Q4, "window: trailing_7d", "window: trailing_week")],
        [
            f"{Q4}: objective company-growth › key result signups: window: "
            f'expected "cycle" or "trailing_<N>d", e.g. trailing_7d'
        ],
        id="bad-window",
    ),
    pytest.param(
        [sub("metric_sources/app_db.yaml", "name: app_db", "name: App-DB")],
        # The key results naming app_db.* are unknown too: no source is called app_db now.
        [
            "metric_sources/app_db.yaml: source App-DB: name: "
            "use only lowercase letters, digits and _",
            f"{Q4}: objective company-growth › key result signups: metric: "
            "unknown metric 'app_db.signups'",
            f"{Q4}: objective grow-self-serve › key result active: metric: "
            "unknown metric 'app_db.active_users'",
        ],
        id="bad-source-name",
    ),
    # ------------------------------------------------------------ duplicates
    pytest.param(
        [
            put(
                "metric_sources/app_db_copy.yaml",
                "name: app_db\nkind: sql\nurl: sqlite:///copy.db\n"
                "metrics:\n  - {name: signups, query: SELECT 1}\n",
            )
        ],
        [
            "metric_sources/app_db_copy.yaml: source app_db: name: "
            "duplicate source name, also in metric_sources/app_db.yaml"
        ],
        id="duplicate-source-name",
    ),
    pytest.param(
        [
            sub(
                "metric_sources/app_db.yaml",
                "  - name: active_users\n",
                "  - name: signups\n    query: SELECT 1\n  - name: active_users\n",
            )
        ],
        ["metric_sources/app_db.yaml: source app_db › metric signups: name: duplicate metric name"],
        id="duplicate-metric-name",
    ),
    pytest.param(
        [sub(PLATFORM, "id: reliable-platform", "id: grow-self-serve")],
        # The platform file sorts first (`-` before `.`), so the second copy is in 2026-q4.yaml.
        [
            f"{Q4}: objective grow-self-serve: id: "
            f"duplicate objective id in cycle 2026-Q4, also in {PLATFORM}"
        ],
        id="duplicate-objective-id",
    ),
    pytest.param(
        [sub(Q4, "id: active", "id: mrr")],
        [
            f"{Q4}: objective grow-self-serve › key result mrr: id: "
            "duplicate key result id in cycle 2026-Q4, also in objective grow-self-serve"
        ],
        id="duplicate-kr-id",
    ),
    pytest.param(
        [sub(PLATFORM, "id: open-tickets", "id: signups")],
        [
            f"{Q4}: objective company-growth › key result signups: id: duplicate key result id "
            f"in cycle 2026-Q4, also in objective reliable-platform ({PLATFORM})"
        ],
        id="duplicate-kr-id-across-files-of-a-cycle",
    ),
    pytest.param(
        [sub(Q4, "        target: 150000\n", "        target: 150000\n        target: 160000\n")],
        [f"{Q4}: YAML syntax error at line 31, column 9: duplicate key 'target'"],
        id="duplicate-yaml-key",
    ),
    # ------------------------------------------------------------ references
    pytest.param(
        [sub(Q4, "metric: billing.mrr", "metric: billing.mrrr")],
        [
            f"{Q4}: objective grow-self-serve › key result mrr: metric: "
            "unknown metric 'billing.mrrr' (did you mean 'billing.mrr'?)"
        ],
        id="unknown-metric",
    ),
    pytest.param(
        [sub("metric_sources/billing.yaml", "kind: csv", "kind: csvv")],
        # billing.mrr is not reported unknown as well: its file is broken, not the reference.
        [
            f"metric_sources/billing.yaml: source billing: kind: unknown kind 'csvv'; "
            f"expected one of: {SOURCE_KINDS}"
        ],
        id="reference-into-a-broken-source-file",
    ),
    pytest.param(
        [sub(Q4, "parent: company-growth", "parent: company-grow")],
        [
            f"{Q4}: objective grow-self-serve: parent: unknown objective 'company-grow' "
            "in cycle 2026-Q4 (did you mean 'company-growth'?)"
        ],
        id="unknown-parent",
    ),
    pytest.param(
        [
            sub(
                Q4,
                "    progress_from: both\n",
                "    progress_from: both\n    parent: grow-self-serve\n",
            )
        ],
        [
            f"{Q4}: objective company-growth: parent: "
            "alignment cycle: company-growth → grow-self-serve → company-growth"
        ],
        id="alignment-cycle",
    ),
    pytest.param(
        [
            sub(Q4, "children: [mrr, launch]", "children: [mrr, uptime-rollup]"),
            sub(
                PLATFORM,
                "      - id: status-page\n",
                "      - {id: uptime-rollup, title: Up, type: rollup, children: [revenue]}\n"
                "      - id: status-page\n",
            ),
        ],
        [
            f"{Q4}: objective grow-self-serve › key result revenue: children: "
            "rollup cycle: revenue → uptime-rollup → revenue"
        ],
        id="rollup-cycle",
    ),
    pytest.param(
        [sub(Q4, "children: [mrr, launch]", "children: [mrr, lunch]")],
        [
            f"{Q4}: objective grow-self-serve › key result revenue: children: "
            "unknown key result 'lunch' in cycle 2026-Q4 (did you mean 'launch'?)"
        ],
        id="unknown-rollup-child",
    ),
    pytest.param(
        [sub(PLATFORM, "theme: reliability", "theme: reliabilty")],
        [
            f"{PLATFORM}: objective reliable-platform: theme: unknown theme 'reliabilty'; "
            "cycle 2026-Q4 has themes: self-serve, reliability"
        ],
        id="unknown-theme",
    ),
    pytest.param(
        [
            sub(
                PLATFORM,
                "        type: boolean\n",
                "        type: boolean\n  - id: on-call\n    title: Calm on-call\n"
                "    owner: bo@example.com\n    parent: reliable-platform\n",
            )
        ],
        [f"{PLATFORM}: objective on-call: key_results: no key results to score"],
        id="progress-from-key-results-without-key-results",
    ),
    pytest.param(
        [
            sub(
                PLATFORM,
                "    theme: reliability\n",
                "    theme: reliability\n    progress_from: children\n",
            )
        ],
        [
            f"{PLATFORM}: objective reliable-platform: progress_from: "
            "no child objectives name this one as parent"
        ],
        id="progress-from-children-without-children",
    ),
    # ------------------------------------------------------------ environment
    pytest.param(
        [
            sub(
                "metric_sources/app_db.yaml",
                "url: sqlite:///data/app.db",
                "url: ${OKR_TEST_UNSET_DB_URL}",
            )
        ],
        # Only the variable is reported, not also "expected an SQLAlchemy URL".
        [
            "metric_sources/app_db.yaml: source app_db: url: "
            "environment variable OKR_TEST_UNSET_DB_URL is not set"
        ],
        id="missing-env-var-in-a-source",
    ),
    pytest.param(
        [sub(Q4, "owner: ana@example.com", "owner: ${OKR_TEST_UNSET_OWNER}")],
        [
            f"{Q4}: objective grow-self-serve: owner: "
            "environment variable OKR_TEST_UNSET_OWNER is not set"
        ],
        id="missing-env-var-in-an-objective",
    ),
    # ------------------------------------------------------------ dates and cycles
    pytest.param(
        [sub(Q4, "start: 2026-10-01", "start: 2026-10-32")],
        [f"{Q4}: cycle: start: 2026-10-32 is not a date: day is out of range for month"],
        id="bad-date",
    ),
    pytest.param(
        [sub(Q4, "start: 2026-10-01", "start: 20261001")],
        [f"{Q4}: cycle: start: expected a date as YYYY-MM-DD, not 20261001"],
        id="date-given-as-a-number",
    ),
    pytest.param(
        [sub(Q4, "id: 2026-Q4,", "id: 2026 Q4,")],
        # Not also "unknown theme 'reliability'" in the platform file: the broken file of the
        # cycle may be the one that declares it.
        [f"{Q4}: cycle: id: use letters, digits, _, . and -, starting with a letter or digit"],
        id="bad-cycle-id",
    ),
    pytest.param(
        [sub(Q4, "end: 2026-12-31", "end: 2026-09-30")],
        [f"{Q4}: cycle: end: 2026-09-30 is before start 2026-10-01"],
        id="end-before-start",
    ),
    pytest.param(
        [sub(PLATFORM, "end: 2026-12-31", "end: 2026-12-30")],
        [
            f"{Q4}: cycle: end: 2026-12-31 differs from 2026-12-30 in {PLATFORM}, "
            "the same cycle 2026-Q4"
        ],
        id="same-cycle-id-different-dates",
    ),
    pytest.param(
        [sub(Q4, "{date: 2026-10-31, value: 115000}", "{date: 2027-01-15, value: 115000}")],
        [
            f"{Q4}: objective grow-self-serve › key result mrr › checkpoint 2027-01-15: date: "
            "outside cycle 2026-Q4 (2026-10-01 .. 2026-12-31)"
        ],
        id="checkpoint-outside-the-cycle",
    ),
    # ------------------------------------------------------------ key result rules
    pytest.param(
        [sub(Q4, "baseline: 100\n", "baseline: 500\n")],
        [
            f"{Q4}: objective company-growth › key result signups: target: "
            "equals baseline (500): progress cannot be measured"
        ],
        id="target-equals-baseline",
    ),
    pytest.param(
        [sub(Q4, "baseline: 100\n", "baseline: 600\n")],
        [
            f"{Q4}: objective company-growth › key result signups: target: "
            "an increase key result needs a target above its baseline (600)"
        ],
        id="increase-with-target-below-baseline",
    ),
    pytest.param(
        [sub(Q4, "min: 50", "min: 600")],
        [f"{Q4}: objective grow-self-serve › key result active: max: 500 is below min 600"],
        id="stay-between-min-above-max",
    ),
    pytest.param(
        [sub(Q4, 'done_when: "gh.stars >= 100"', 'done_when: "gh.stars at least 100"')],
        [
            f"{Q4}: objective grow-self-serve › key result launch › milestone live: done_when: "
            f'expected "<source>.<metric> >= <number>" (or >, <=, <, ==)'
        ],
        id="bad-done-when",
    ),
    pytest.param(
        [sub(Q4, 'done_when: "gh.stars >= 100"', 'done_when: "gh.starz >= 100"')],
        [
            f"{Q4}: objective grow-self-serve › key result launch › milestone live: done_when: "
            "unknown metric 'gh.starz' (did you mean 'gh.stars'?)"
        ],
        id="unknown-metric-in-done-when",
    ),
    # ------------------------------------------------------------ source rules
    pytest.param(
        [sub("metric_sources/events.yaml", '    value: "$.total"\n', "")],
        [
            "metric_sources/events.yaml: source events › metric open_tickets: "
            "give `records` (a series) or `value` (a point-in-time reading)"
        ],
        id="rest-metric-without-records-or-value",
    ),
    pytest.param(
        [
            sub(
                "metric_sources/gh.yaml",
                "    stat: stars\n",
                "    stat: stars\n    search: is:pr\n",
            )
        ],
        [
            "metric_sources/gh.yaml: source gh › metric stars: "
            "give exactly one of `search` or `stat`"
        ],
        id="github-metric-with-search-and-stat",
    ),
    pytest.param(
        [sub("metric_sources/app_db.yaml", "url: sqlite:///data/app.db", "url: data/app.db")],
        [
            "metric_sources/app_db.yaml: source app_db: url: expected an SQLAlchemy URL such as "
            '"postgresql://user@host/db" or "sqlite:///data/app.db"'
        ],
        id="sql-url-not-a-url",
    ),
    # ------------------------------------------------------------ okr_project.yaml
    pytest.param(
        [sub("okr_project.yaml", "Europe/Oslo", "Europe/Olso")],
        ["okr_project.yaml: timezone: unknown timezone 'Europe/Olso'"],
        id="unknown-timezone",
    ),
    pytest.param(
        [sub("okr_project.yaml", '"0 2 * * *"', '"0 25 * * *"')],
        ["okr_project.yaml: schedule: invalid hour field '25': expected values 0-23"],
        id="bad-cron-field",
    ),
    pytest.param(
        [sub("okr_project.yaml", '"0 2 * * *"', "nightly")],
        ['okr_project.yaml: schedule: expected a cron expression of 5 fields, e.g. "0 2 * * *"'],
        id="cron-with-wrong-field-count",
    ),
    pytest.param(
        [
            sub(
                "okr_project.yaml",
                "timezone: Europe/Oslo\n",
                "timezone: Europe/Oslo\nnotify:\n"
                "  - {url: https://hooks.example.com/T0/XoXoSecret, on: [always]}\n",
            )
        ],
        # Named by position: a webhook URL is a secret and must not appear in the message.
        [
            "okr_project.yaml: notify #1: on.0: "
            "must be 'status_change', 'data_problem' or 'checkin_due'"
        ],
        id="notification-named-by-position",
    ),
    pytest.param(
        [sub("metric_sources/events.yaml", "type: bearer", "type: oauth")],
        [
            "metric_sources/events.yaml: source events: auth.type: unknown type 'oauth'; "
            "expected one of: bearer, basic, header, query"
        ],
        id="unknown-auth-type",
    ),
    pytest.param(
        [
            sub(
                PLATFORM,
                "        target: 20\n",
                "        target: 20\n        checkpoints: [{date: 2026-11-01, value: 25}]\n",
            )
        ],
        [
            f"{PLATFORM}: objective reliable-platform › key result open-tickets: checkpoints: "
            "unknown field 'checkpoints'"
        ],
        id="field-of-another-kr-type",
    ),
    pytest.param(
        [sub(PLATFORM, "    key_results:\n", "    key_results:\n      - null\n")],
        [f"{PLATFORM}: objective reliable-platform › key result #1: expected a mapping"],
        id="kr-entry-is-null",
    ),
    pytest.param(
        [sub(Q4, "cycle: {id: 2026-Q4, start: 2026-10-01, end: 2026-12-31}\n", "")],
        [f"{Q4}: cycle: field required"],
        id="missing-cycle",
    ),
    pytest.param(
        [
            sub(
                "metric_sources/app_db.yaml",
                "checks: {min: 0, max: 1000000, fresh_within_days: 2}",
                "checks: {min: 10, max: 5, fresh_within_days: -1}",
            )
        ],
        [
            "metric_sources/app_db.yaml: source app_db › metric signups: checks.fresh_within_days: "
            "must be greater than or equal to 0",
            "metric_sources/app_db.yaml: source app_db › metric signups: checks.max: "
            "5 is below min 10",
        ],
        id="bad-checks",
    ),
    # ------------------------------------------------------------ whole files
    pytest.param(
        [sub(Q4, "themes: [self-serve, reliability]", "themes: [self-serve, reliability")],
        [f"{Q4}: YAML syntax error at line 3, column 11: did not find expected ',' or ']'"],
        id="yaml-syntax-error",
    ),
    pytest.param(
        [put(PLATFORM, "")],
        # Nothing else: the platform objectives may hold what the check-ins refer to.
        [f"{PLATFORM}: file is empty"],
        id="empty-file",
    ),
    pytest.param(
        [put("metric_sources/gh.yaml", "- name: gh\n  kind: github\n")],
        ["metric_sources/gh.yaml: expected a mapping of fields at the top, found a list"],
        id="file-is-a-list",
    ),
    pytest.param(
        [put("metric_sources/gh.yaml", b"name: gh\nkind: github\nrepo: acme/\xffapp\n")],
        ["metric_sources/gh.yaml: not UTF-8 text: byte 0xff on line 3"],
        id="non-utf8-bytes",
    ),
    pytest.param(
        [sub(Q4, "baseline: 100000", "baseline: !!int lots")],
        [f"{Q4}: invalid YAML: invalid literal for int() with base 10: 'lots'"],
        id="yaml-explicit-tag-that-fails",
    ),
    pytest.param(
        [put("okr_project.yaml", "Europe/Oslo\n")],
        ["okr_project.yaml: expected a mapping of fields at the top, found a single value (str)"],
        id="file-is-a-single-value",
    ),
    pytest.param(
        [put("okr_project.yaml", "timezone:\tUTC\n\tschedule: x\n")],
        [
            "okr_project.yaml: YAML syntax error at line 2, column 1: "
            "found a tab character that violates indentation"
        ],
        id="yaml-tab-indentation",
    ),
    pytest.param(
        [remove(Q4), remove(PLATFORM), remove(CHECKINS)],
        ["okrs/: no OKR files found (okrs/*.yaml)"],
        id="no-okr-files",
    ),
    # ------------------------------------------------------------ check-ins
    pytest.param(
        [sub(CHECKINS, "nps,", "npx,")],
        [f"{CHECKINS}: line 2: kr_id: unknown key result 'npx' (did you mean 'nps'?)"],
        id="checkin-unknown-kr",
    ),
    pytest.param(
        [sub(CHECKINS, "nps,2026-10-07", "nps,07/10/2026")],
        [f"{CHECKINS}: line 2: date: expected a date as YYYY-MM-DD, not '07/10/2026'"],
        id="checkin-bad-date",
    ),
    pytest.param(
        [sub(CHECKINS, ",42,", ",forty-two,")],
        [f"{CHECKINS}: line 2: value: expected a number, not 'forty-two'"],
        id="checkin-bad-number",
    ),
    pytest.param(
        [sub(CHECKINS, "0.8,", "80,")],
        [f"{CHECKINS}: line 2: confidence: must be between 0 and 1"],
        id="checkin-confidence-out-of-range",
    ),
    pytest.param(
        [sub(CHECKINS, "kr_id,date", "kr,date")],
        [f"{CHECKINS}: header: missing column 'kr_id'; unknown column 'kr'; {CHECKIN_HEADER}"],
        id="checkin-bad-header",
    ),
    pytest.param(
        [sub(CHECKINS, "survey of 120 customers", "survey of 120 customers,late")],
        [f"{CHECKINS}: line 2: 6 fields, expected 5 (kr_id,date,value,confidence,note)"],
        id="checkin-row-with-too-many-fields",
    ),
    pytest.param(
        [put(CHECKINS, "")],
        [
            f"{CHECKINS}: header: file is empty; expected the header "
            "kr_id,date,value[,confidence,note]"
        ],
        id="checkin-empty-file",
    ),
    pytest.param(
        [put("checkins/2026-q4.csv", b"kr_id,date,value\nnps,2026-10-07,4\xe92\n")],
        [f"{CHECKINS}: not UTF-8 text: byte 0xe9 on line 2"],
        id="checkin-non-utf8",
    ),
    pytest.param(
        [sub(CHECKINS, "on pace", '"on pace')],
        [f"{CHECKINS}: line 4: invalid CSV: unexpected end of data"],
        id="checkin-unterminated-quote",
    ),
    pytest.param(
        [sub(CHECKINS, "confidence,note", "value,note")],
        [f"{CHECKINS}: header: repeated column 'value'; {CHECKIN_HEADER}"],
        id="checkin-repeated-column",
    ),
    pytest.param(
        [sub(CHECKINS, "mrr,2026-10-07,,0.7,", ",2026-10-07,inf,nan,")],
        [
            f"{CHECKINS}: line 4: confidence: expected a number, not 'nan'",
            f"{CHECKINS}: line 4: kr_id: must not be empty",
            f"{CHECKINS}: line 4: value: expected a number, not 'inf'",
        ],
        id="checkin-empty-kr-and-non-finite-numbers",
    ),
    # ------------------------------------------------------------ several problems at once
    pytest.param(
        [
            sub(CHECKINS, "nps,2026-10-07,42,0.8", "npx,2026-13-07,x,2"),
            sub(CHECKINS, "mrr,2026-10-07", "mrr,2026-10-7"),
        ],
        [
            f"{CHECKINS}: line 2: confidence: must be between 0 and 1",
            f"{CHECKINS}: line 2: date: 2026-13-07 is not a date: month must be in 1..12",
            f"{CHECKINS}: line 2: kr_id: unknown key result 'npx' (did you mean 'nps'?)",
            f"{CHECKINS}: line 2: value: expected a number, not 'x'",
            f"{CHECKINS}: line 4: date: expected a date as YYYY-MM-DD, not '2026-10-7'",
        ],
        id="every-problem-of-a-file-at-once",
    ),
]


@pytest.mark.parametrize(("edits", "expected"), CASES)
def test_broken_project(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch, edits: list[Edit], expected: list[str]
) -> None:
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for edit in edits:
        edit(project_dir)
    with pytest.raises(ConfigError) as raised:
        load_project(project_dir)
    assert [str(problem) for problem in raised.value.problems] == expected
    assert str(raised.value) == "\n".join(expected)
