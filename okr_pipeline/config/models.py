"""Typed models of every YAML file a project holds (README, A project).

Pure pydantic: no Dagster, no database driver. Unknown keys are forbidden everywhere, and
the `kind` of a source and the `type` of a key result pick the model (discriminated unions),
so a mistake is reported against the field the user actually wrote.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from okr_pipeline.config.stored_text import ID_LENGTH, Name, Prose, Title

SLUG = r"^[a-z0-9_]+$"
ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
WINDOW = re.compile(r"^(cycle|trailing_([1-9][0-9]*)d)$")
DONE_WHEN = re.compile(
    r"^\s*(?P<metric>[^\s<>=]+)\s*(?P<op>>=|<=|>|<|==)\s*"
    r"(?P<number>-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*$"
)
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# SQLAlchemy's own URL grammar (sqlalchemy.engine.url._parse_url) down to the port, so that
# check reads a URL as the run will: dialect+driver://user:password@host:port/database
ASSET_KEY = r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$"  # a Dagster asset key, parts joined by /
SQL_URL = re.compile(
    r"^[A-Za-z][\w+]*://"
    r"(?:[^:/]*(?::[^@]*)?@)?"
    r"(?:(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?)?"
)


def _iso_date(value: object) -> object:
    """Dates only as YYYY-MM-DD: a number is not read as a Unix timestamp, nor 20261001 as ISO."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"{value.strip()} is not a date: {error}") from None
    shown = f", not {value!r}" if isinstance(value, str | int | float) else ""
    raise ValueError(f"expected a date as YYYY-MM-DD{shown}")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- metric sources


class Checks(Strict):
    """Validation rules of one metric, run with Great Expectations on every fetch."""

    not_null: bool = True
    min: float | None = None
    max: float | None = None
    fresh_within_days: int | None = Field(default=None, ge=0)
    unique_ts: bool = True
    non_decreasing: bool = False

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, value: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min")
        if value is not None and low is not None and value < low:
            raise ValueError(f"{value:g} is below min {low:g}")
        return value


class MetricBase(Strict):
    name: str = Field(pattern=SLUG, max_length=ID_LENGTH)
    unit: Name | None = None
    description: Prose | None = None
    checks: Checks = Checks()


class SourceBase(Strict):
    name: str = Field(pattern=SLUG, max_length=ID_LENGTH)
    timeout_seconds: float = Field(default=30, gt=0)  # each request or query, start to end
    retries: int = Field(default=2, ge=0, le=10)
    deadline_minutes: float = Field(default=10, gt=0)  # the whole source: metrics, pages, retries
    # Upstream Dagster assets the source reads (`analytics/fct_orders`): lineage, and a
    # refresh of the scores when one of them is materialized.
    deps: list[Annotated[str, Field(pattern=ASSET_KEY)]] = []

    def metric_ids(self) -> list[str]:
        return [f"{self.name}.{metric.name}" for metric in self.metrics]  # type: ignore[attr-defined]


class SqlMetric(MetricBase):
    query: str = Field(min_length=1)


class SqlSource(SourceBase):
    kind: Literal["sql"]
    url: str = Field(min_length=1)
    metrics: list[SqlMetric] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _looks_like_url(cls, url: str) -> str:
        # The value itself is never echoed: it usually holds a password.
        match = SQL_URL.match(url)
        if not match:
            raise ValueError(
                'expected an SQLAlchemy URL such as "postgresql://user@host/db" '
                'or "sqlite:///data/app.db"'
            )
        port = match["port"]
        if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
            raise ValueError(
                "the port of this URL is not a number from 1 to 65535 "
                "(the URL is not shown: it may hold a password)"
            )
        return url


class CsvMetric(MetricBase):
    ts: str = "ts"
    value: str = "value"
    filter: dict[str, str | int | float | bool] = {}


class CsvSource(SourceBase):
    kind: Literal["csv"]
    path: str = Field(min_length=1)
    metrics: list[CsvMetric] = Field(min_length=1)


class BearerAuth(Strict):
    type: Literal["bearer"]
    token: str = Field(min_length=1)


class BasicAuth(Strict):
    type: Literal["basic"]
    username: str = Field(min_length=1)
    password: str


class HeaderAuth(Strict):
    type: Literal["header"]
    name: str = Field(min_length=1)
    value: str = Field(min_length=1)


class QueryAuth(Strict):
    type: Literal["query"]
    name: str = Field(min_length=1)
    value: str = Field(min_length=1)


Auth = Annotated[BearerAuth | BasicAuth | HeaderAuth | QueryAuth, Field(discriminator="type")]


def _jsonpath(expression: str) -> str:
    """A JSONPath checked when the config loads, so `check` names a typo before any run."""
    from jsonpath_ng.exceptions import JSONPathError
    from jsonpath_ng.ext import parse

    try:
        parse(expression)
    except JSONPathError as error:
        raise ValueError(f"not a JSONPath ({error})") from None
    return expression


class NoPaginator(Strict):
    type: Literal["none"]


class PageNumberPaginator(Strict):
    type: Literal["page_number"]
    param: str = "page"
    start: int = 1


class OffsetPaginator(Strict):
    type: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, gt=0)


class CursorPaginator(Strict):
    type: Literal["cursor"]
    cursor_path: str
    param: str = "cursor"

    _cursor_path = field_validator("cursor_path")(_jsonpath)


class NextUrlPaginator(Strict):
    type: Literal["next_url"]
    path: str

    _path = field_validator("path")(_jsonpath)


class LinkHeaderPaginator(Strict):
    type: Literal["link_header"]


Paginator = Annotated[
    NoPaginator
    | PageNumberPaginator
    | OffsetPaginator
    | CursorPaginator
    | NextUrlPaginator
    | LinkHeaderPaginator,
    Field(discriminator="type"),
]


class RestRequest(Strict):
    path: str = ""
    params: dict[str, str | int | float | bool] = {}
    method: Literal["GET", "POST"] = "GET"
    json_body: dict | None = Field(default=None, alias="json")


class RestMetric(MetricBase):
    request: RestRequest = RestRequest()
    records: str | None = None
    ts: str | None = None
    value: str | None = None
    per_day: Literal["sum", "last", "max", "min", "mean", "count"] = "sum"

    @field_validator("records")
    @classmethod
    def _records_path(cls, expression: str | None) -> str | None:
        return None if expression is None else _jsonpath(expression)

    @field_validator("value")
    @classmethod
    def _value_path(cls, expression: str | None, info: ValidationInfo) -> str | None:
        """Without `records`, `value` is a JSONPath into the response; with them, a field."""
        if expression is None or info.data.get("records") is not None:
            return expression
        return _jsonpath(expression)

    @model_validator(mode="after")
    def _records_or_reading(self) -> RestMetric:
        if self.records is None and self.value is None:
            raise ValueError("give `records` (a series) or `value` (a point-in-time reading)")
        if self.records is not None and self.ts is None:
            raise ValueError("`records` needs `ts`, the record field holding the date")
        return self

    @property
    def point_in_time(self) -> bool:
        return self.records is None


class HttpSourceBase(SourceBase):
    """What every API source shares: a cap on each response's size, counted unpacked."""

    max_response_mb: float = Field(default=100, gt=0)


class RestSource(HttpSourceBase):
    kind: Literal["rest"]
    base_url: str = Field(min_length=1)
    auth: Auth | None = None
    headers: dict[str, str] = {}
    paginator: Paginator = NoPaginator(type="none")
    max_pages: int = Field(default=1000, gt=0)
    metrics: list[RestMetric] = Field(min_length=1)


class PrometheusMetric(MetricBase):
    promql: str = Field(min_length=1)


class PrometheusSource(HttpSourceBase):
    kind: Literal["prometheus"]
    url: str = Field(min_length=1)
    auth: Auth | None = None
    metrics: list[PrometheusMetric] = Field(min_length=1)


class GithubMetric(MetricBase):
    search: str | None = None
    stat: Literal["stars", "forks", "open_issues"] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> GithubMetric:
        if (self.search is None) == (self.stat is None):
            raise ValueError("give exactly one of `search` or `stat`")
        return self


class GithubSource(HttpSourceBase):
    kind: Literal["github"]
    repo: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    token: str | None = None
    url: str = "https://api.github.com"
    metrics: list[GithubMetric] = Field(min_length=1)


class JiraMetric(MetricBase):
    jql: str = Field(min_length=1)


class JiraSource(HttpSourceBase):
    kind: Literal["jira"]
    url: str = Field(min_length=1)
    username: str = Field(min_length=1)
    token: str = Field(min_length=1)
    metrics: list[JiraMetric] = Field(min_length=1)


class TargetprocessMetric(MetricBase):
    entity: str = Field(min_length=1)
    where: str | None = None


class TargetprocessSource(HttpSourceBase):
    kind: Literal["targetprocess"]
    url: str = Field(min_length=1)
    token: str = Field(min_length=1)
    metrics: list[TargetprocessMetric] = Field(min_length=1)


Source = Annotated[
    SqlSource
    | CsvSource
    | RestSource
    | PrometheusSource
    | GithubSource
    | JiraSource
    | TargetprocessSource,
    Field(discriminator="kind"),
]


class SourceFile(BaseModel):
    """Wrapper so one source file validates through the `kind` discriminator."""

    source: Source


# ---------------------------------------------------------------- objectives and KRs


class Cycle(Strict):
    id: str = Field(pattern=ID, max_length=ID_LENGTH)
    start: IsoDate
    end: IsoDate
    at_risk_margin: float = Field(default=0.10, ge=0, le=1)
    off_track_margin: float = Field(default=0.25, ge=0, le=1)
    grace_days: int = Field(default=30, ge=0)
    archived: bool = False

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"{end} is before start {start}")
        return end

    @field_validator("off_track_margin")
    @classmethod
    def _margins_ordered(cls, margin: float, info: ValidationInfo) -> float:
        at_risk = info.data.get("at_risk_margin")
        if at_risk is not None and margin < at_risk:
            raise ValueError(f"{margin:g} is below at_risk_margin {at_risk:g}")
        return margin


class Checkpoint(Strict):
    date: IsoDate
    value: float


class Milestone(Strict):
    name: Name = Field(min_length=1)
    weight: float = Field(default=1, gt=0)
    done: bool | None = None
    done_when: str | None = None

    @field_validator("done_when")
    @classmethod
    def _parse(cls, text: str | None) -> str | None:
        if text is not None and not DONE_WHEN.match(text):
            raise ValueError('expected "<source>.<metric> >= <number>" (or >, <=, <, ==)')
        return text

    @model_validator(mode="after")
    def _one_of(self) -> Milestone:
        if self.done is not None and self.done_when is not None:
            raise ValueError("give `done` or `done_when`, not both")
        return self

    def condition(self) -> tuple[str, str, float] | None:
        """(metric_id, operator, threshold) of `done_when`, or None for a manual milestone."""
        match = DONE_WHEN.match(self.done_when or "")
        if not match:
            return None
        return match["metric"], match["op"], float(match["number"])


class KeyResultBase(Strict):
    id: str = Field(pattern=ID, max_length=ID_LENGTH)
    title: Title
    owner: Name | None = None
    weight: float = Field(default=1, gt=0)
    aggregation: Literal["last", "sum", "mean", "min", "max", "count"] = "last"
    window: str = "cycle"
    unit: Name | None = None
    # a check-in is due after this many days without one (manual KRs: the project default)
    checkin_every_days: int | None = Field(default=None, gt=0)

    @field_validator("window")
    @classmethod
    def _window(cls, text: str) -> str:
        if not WINDOW.match(text):
            raise ValueError('expected "cycle" or "trailing_<N>d", e.g. trailing_7d')
        return text

    @property
    def window_days(self) -> int | None:
        """Length of a trailing window in days; None for the whole cycle."""
        match = WINDOW.match(self.window)
        return int(match[2]) if match and match[2] else None


class MeasuredKeyResult(KeyResultBase):
    metric: str = Field(pattern=r"^(manual|[a-z0-9_]+\.[a-z0-9_]+)$")


class IncreaseKeyResult(MeasuredKeyResult):
    type: Literal["increase"]
    baseline: float | None = None
    target: float
    checkpoints: list[Checkpoint] = []


class DecreaseKeyResult(MeasuredKeyResult):
    type: Literal["decrease"]
    baseline: float | None = None
    target: float
    checkpoints: list[Checkpoint] = []


class StayAboveKeyResult(MeasuredKeyResult):
    type: Literal["stay_above"]
    target: float


class StayBelowKeyResult(MeasuredKeyResult):
    type: Literal["stay_below"]
    target: float


class StayBetweenKeyResult(MeasuredKeyResult):
    type: Literal["stay_between"]
    min: float
    max: float

    @field_validator("max")
    @classmethod
    def _max_above_min(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min")
        if low is not None and value < low:
            raise ValueError(f"{value:g} is below min {low:g}")
        return value


class BooleanKeyResult(MeasuredKeyResult):
    type: Literal["boolean"]


class MilestonesKeyResult(KeyResultBase):
    type: Literal["milestones"]
    milestones: list[Milestone] = Field(min_length=1)


class RollupKeyResult(KeyResultBase):
    type: Literal["rollup"]
    children: list[Name] = Field(min_length=1)


KeyResult = Annotated[
    IncreaseKeyResult
    | DecreaseKeyResult
    | StayAboveKeyResult
    | StayBelowKeyResult
    | StayBetweenKeyResult
    | BooleanKeyResult
    | MilestonesKeyResult
    | RollupKeyResult,
    Field(discriminator="type"),
]


class Objective(Strict):
    id: str = Field(pattern=ID, max_length=ID_LENGTH)
    title: Title
    owner: Name | None = None
    team: Name | None = None
    stakeholders: list[Name] = []
    parent: Name | None = None
    theme: Name | None = None
    kind: Literal["aspirational", "committed"] = "aspirational"
    progress_from: Literal["key_results", "children", "both"] = "key_results"
    weight: float = Field(default=1, gt=0)
    key_results: list[KeyResult] = []


class OkrFile(Strict):
    cycle: Cycle
    themes: list[Name] = []
    objectives: list[Objective] = Field(min_length=1)


# ---------------------------------------------------------------- okr_project.yaml


class Notification(Strict):
    url: str = Field(min_length=1)
    on: list[Literal["status_change", "data_problem", "checkin_due"]] = [
        "status_change",
        "data_problem",
        "checkin_due",
    ]


class ReportSettings(Strict):
    """Where the nightly run publishes the report: `latest.html` and `<as_of>.html`."""

    dir: str = Field(default=".okr/reports", min_length=1)
    keep_days: int = Field(default=400, ge=1)  # dated pages older than this are removed


class ProjectSettings(Strict):
    timezone: str = "UTC"
    schedule: str = "0 2 * * *"
    notify: list[Notification] = []
    report: ReportSettings = ReportSettings()
    checkin_every_days: int = Field(default=7, gt=0)  # for manual KRs that set none

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown timezone {name!r}") from None
        return name

    @field_validator("schedule")
    @classmethod
    def _cron(cls, text: str) -> str:
        fields = text.split()
        if len(fields) != len(CRON_FIELDS):
            raise ValueError('expected a cron expression of 5 fields, e.g. "0 2 * * *"')
        for part, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
            if not _cron_field_ok(part.lower(), low, high, names):
                raise ValueError(f"invalid {name} field {part!r}: expected values {low}-{high}")
        return text


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, WEEKDAYS),
)
CRON_TERM = re.compile(r"^(?:\*|(?P<low>\w+)(?:-(?P<high>\w+))?)(?:/(?P<step>[0-9]+))?$")


def _cron_field_ok(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """One cron field: comma-separated `*`, `a` or `a-b`, each with an optional `/step`."""
    first = 1 if names == MONTHS else 0

    def number(word: str) -> int | None:
        if word.isdigit():
            return int(word)
        return names.index(word) + first if word in names else None

    for term in text.split(","):
        match = CRON_TERM.match(term)
        if not match:
            return False
        bounds = [number(match[key]) for key in ("low", "high") if match[key] is not None]
        if any(value is None or not low <= value <= high for value in bounds):
            return False
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            return False
        if match["step"] is not None and int(match["step"]) == 0:
            return False
    return True
