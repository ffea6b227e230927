"""A valid project loads into typed models; ${ENV} is substituted and secrets are collected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from okr_pipeline.config import Checkin, ConfigError, lint, load_project
from okr_pipeline.config.models import IncreaseKeyResult, SqlSource

DB_URL = "postgresql://okr:s3cret-pass@db.example.com:5432/app"


def edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_valid_project_loads_into_models(project_dir: Path) -> None:
    project = load_project(project_dir)

    assert project.settings.timezone == "Europe/Oslo"
    assert sorted(project.sources) == ["app_db", "billing", "events", "gh"]
    assert project.source_files["gh"] == "metric_sources/gh.yaml"
    [okrs] = project.cycles
    assert (okrs.cycle.id, okrs.cycle.start, okrs.cycle.end) == (
        "2026-Q4",
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    # Themes of the two files of the cycle are merged; objectives keep file order.
    assert okrs.themes == ("self-serve", "reliability")
    assert [o.id for o in okrs.objectives] == [
        "reliable-platform",
        "company-growth",
        "grow-self-serve",
    ]
    assert okrs.files == {
        "reliable-platform": "okrs/2026-q4-platform.yaml",
        "company-growth": "okrs/2026-q4.yaml",
        "grow-self-serve": "okrs/2026-q4.yaml",
    }
    mrr = okrs.objectives[2].key_results[0]
    assert isinstance(mrr, IncreaseKeyResult)
    assert (mrr.baseline, mrr.target, mrr.checkpoints[0].date) == (
        100000,
        150000,
        date(2026, 10, 31),
    )
    assert okrs.objectives[1].key_results[0].window_days == 7
    assert project.checkins[0] == Checkin(
        "nps", date(2026, 10, 7), 42.0, 0.8, "survey of 120 customers"
    )
    assert project.checkins[2] == Checkin("mrr", date(2026, 10, 7), None, 0.7, "on pace")
    # The bearer token, from ${OKR_TEST_EVENTS_TOKEN} in a flow mapping, is a secret.
    assert project.sources["events"].auth.token == "abcd1234"
    assert project.secrets == frozenset({"abcd1234"})


def test_env_values_are_substituted_and_kept_as_secrets(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_DB_URL", DB_URL)
    monkeypatch.setenv("OKR_TEST_API_HOST", "api.internal.example.com")
    monkeypatch.setenv("OKR_TEST_OWNER", "ana@example.com")
    edit(project_dir, "metric_sources/app_db.yaml", "sqlite:///data/app.db", "${OKR_TEST_DB_URL}")
    edit(
        project_dir,
        "metric_sources/events.yaml",
        "https://api.example.com/v2",
        "https://${OKR_TEST_API_HOST}/v2",
    )
    edit(project_dir, "okrs/2026-q4.yaml", "owner: ana@example.com", "owner: ${OKR_TEST_OWNER}")

    project = load_project(project_dir)

    assert isinstance(project.sources["app_db"], SqlSource)
    assert project.sources["app_db"].url == DB_URL
    assert project.sources["events"].base_url == "https://api.internal.example.com/v2"
    assert project.cycles[0].objectives[2].owner == "ana@example.com"
    # Every env value, the token, and the password inside the SQL URL.
    assert project.secrets == {
        DB_URL,
        "api.internal.example.com",
        "ana@example.com",
        "abcd1234",
        "s3cret-pass",
    }


def test_sql_url_password_written_in_the_file_is_a_secret_and_a_warning(
    project_dir: Path,
) -> None:
    edit(
        project_dir,
        "metric_sources/app_db.yaml",
        "sqlite:///data/app.db",
        "mysql+pymysql://okr:p%40ss%2Fword@db/app",
    )
    project = load_project(project_dir)
    assert "p@ss/word" in project.secrets
    assert [str(warning) for warning in lint(project)] == [
        "metric_sources/app_db.yaml: source app_db: url: holds a password: "
        "put the URL in an environment variable"
    ]


def test_env_references_work_inside_a_yaml_flow_mapping(project_dir: Path) -> None:
    # `{` ends a plain scalar in a flow mapping, so `${X}` there must still parse
    edit(
        project_dir,
        "metric_sources/events.yaml",
        "auth:\n  type: bearer\n  token: ${OKR_TEST_EVENTS_TOKEN}",
        "auth: {type: bearer, token: ${OKR_TEST_EVENTS_TOKEN}}",
    )
    assert load_project(project_dir).sources["events"].auth.token == "abcd1234"


def test_a_token_written_in_the_file_is_a_warning(project_dir: Path) -> None:
    edit(project_dir, "metric_sources/events.yaml", "${OKR_TEST_EVENTS_TOKEN}", "abcd1234")
    assert [str(warning) for warning in lint(load_project(project_dir))] == [
        "metric_sources/events.yaml: source events: auth.token: "
        "write secrets as ${ENV_VAR}, never into the file"
    ]


def test_a_config_error_never_shows_an_env_value(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_TEST_BAD_URL", "not-a-url-Zebra-s3cret")
    edit(project_dir, "metric_sources/app_db.yaml", "sqlite:///data/app.db", "${OKR_TEST_BAD_URL}")
    with pytest.raises(ConfigError) as raised:
        load_project(project_dir)
    text = str(raised.value)
    assert "Zebra" not in text
    assert "metric_sources/app_db.yaml: source app_db: url:" in text


def test_short_env_values_are_not_secrets(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redacting a 2-character value would blank out every such pair of digits in a message."""
    monkeypatch.setenv("OKR_TEST_RETRIES", "3")
    edit(
        project_dir,
        "metric_sources/gh.yaml",
        "kind: github\n",
        "kind: github\nretries: ${OKR_TEST_RETRIES}\n",
    )
    project = load_project(project_dir)
    assert project.sources["gh"].retries == 3
    assert "3" not in project.secrets


def test_notify_on_is_a_key_and_webhook_url_a_secret(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """YAML 1.1 would read `on:` as the boolean True; the loader keeps it the key `on`."""
    monkeypatch.setenv("OKR_TEST_WEBHOOK", "https://hooks.example.com/T0/B1/xyz")
    (project_dir / "okr_project.yaml").write_text(
        "notify:\n  - url: ${OKR_TEST_WEBHOOK}\n    on: [data_problem]\n", encoding="utf-8"
    )
    project = load_project(project_dir)
    [notification] = project.settings.notify
    assert (notification.url, notification.on) == (
        "https://hooks.example.com/T0/B1/xyz",
        ["data_problem"],
    )
    assert "https://hooks.example.com/T0/B1/xyz" in project.secrets


def test_empty_project_file_means_defaults(project_dir: Path) -> None:
    (project_dir / "okr_project.yaml").write_text("# all defaults\n", encoding="utf-8")
    settings = load_project(project_dir).settings
    assert (settings.timezone, settings.schedule, settings.notify) == ("UTC", "0 2 * * *", [])


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_project(tmp_path / "nowhere")
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path / 'nowhere'}: project directory not found"
    ]


def test_problems_are_sorted_naturally_and_deduplicated(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Line 10 after line 9, and the same mistake twice in one place is printed once."""
    monkeypatch.delenv("OKR_TEST_UNSET_A", raising=False)
    rows = "".join(f"npx,2026-10-{day:02d},1,,\n" for day in range(1, 11))
    (project_dir / "checkins" / "2026-q4.csv").write_text(
        "kr_id,date,value,confidence,note\n" + rows, encoding="utf-8"
    )
    edit(
        project_dir,
        "metric_sources/app_db.yaml",
        "url: sqlite:///data/app.db",
        "url: ${OKR_TEST_UNSET_A}${OKR_TEST_UNSET_A}",
    )
    with pytest.raises(ConfigError) as raised:
        load_project(project_dir)
    unknown = "kr_id: unknown key result 'npx' (did you mean 'nps'?)"
    assert [str(p) for p in raised.value.problems] == [
        *(f"checkins/2026-q4.csv: line {line}: {unknown}" for line in range(2, 12)),
        "metric_sources/app_db.yaml: source app_db: url: "
        "environment variable OKR_TEST_UNSET_A is not set",
    ]


def test_cron_accepts_lists_ranges_steps_and_names(project_dir: Path) -> None:
    edit(project_dir, "okr_project.yaml", '"0 2 * * *"', '"*/15 1-3,22 1 jan-jun mon-fri"')
    assert load_project(project_dir).settings.schedule == "*/15 1-3,22 1 jan-jun mon-fri"
