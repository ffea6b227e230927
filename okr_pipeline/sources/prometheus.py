"""`kind: prometheus`: a PromQL expression as a daily series, read with the query-range API.

Follows the Prometheus HTTP API documentation, "Range queries"
(prometheus.io/docs/prometheus/latest/querying/api/#range-queries): GET /api/v1/query_range
with `query`, `start`, `end` (Unix seconds) and `step` answers
{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {...},
"values": [[<unix seconds>, "<value>"], ...]}]}}; errors answer "status": "error" with
`errorType` and `error`.

Each day of the window is evaluated at its end (midnight after it, in the project's timezone),
so a counter's `increase(x[1d])` is that day's total: one query-range call with a daily step
covers every day that has ended. Today has no end yet: when the window includes it, one more
query-range call evaluates it at now. The step is 86400 s, so across a daylight-saving change
the evaluation drifts by the hour the clocks moved; points are mapped to days by their step
index, never by their timestamp, so no day is mislabelled.
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from okr_pipeline.config.models import PrometheusMetric
from okr_pipeline.sources.base import Connector, FetchWindow, SourceError
from okr_pipeline.sources.http import HttpClient

DAY_SECONDS = 86400


def end_of_day(day: date, timezone: str) -> float:
    """Unix seconds of the midnight that ends `day` in the timezone."""
    return datetime.combine(day + timedelta(1), datetime.min.time(), ZoneInfo(timezone)).timestamp()


class PrometheusConnector(Connector):
    def fetch_metric(self, metric: PrometheusMetric, window: FetchWindow) -> pd.DataFrame:
        timezone = self.project.settings.timezone
        days = [window.start + timedelta(n) for n in range((window.end - window.start).days)]
        ended = [day for day in days if day < window.today]
        rows: list[tuple[date, float]] = []
        with HttpClient.for_source(
            self.source,
            self.source.url,
            auth=self.source.auth,
            remaining_seconds=self.remaining_seconds,
            secrets=self.project.secrets,
        ) as client:
            if ended:
                first = end_of_day(ended[0], timezone)
                last = end_of_day(ended[-1], timezone)
                for stamp, value in self._query_range(client, metric.promql, first, last):
                    index = round((stamp - first) / DAY_SECONDS)
                    if 0 <= index < len(ended):
                        rows.append((ended[index], value))
            if window.today in days:
                now = time.time()
                rows.extend(
                    (window.today, value)
                    for _, value in self._query_range(client, metric.promql, now, now)
                )
        return pd.DataFrame(
            {"ts": [pd.Timestamp(day) for day, _ in rows], "value": [value for _, value in rows]}
        )

    @staticmethod
    def _query_range(
        client: HttpClient, promql: str, start: float, end: float
    ) -> list[tuple[float, float]]:
        """(unix seconds, value) of the one series the expression returns."""
        payload, _ = client.request_json(
            client.url_for("/api/v1/query_range"),
            {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": DAY_SECONDS},
        )
        if not isinstance(payload, dict) or payload.get("status") != "success":
            error = payload.get("error") if isinstance(payload, dict) else None
            reason = client.shown(str(error), 200) if error else "no status success in response"
            raise SourceError(f"query_range failed: {reason}")
        return points(one_series(payload, client), client)


def one_series(payload: dict, client: HttpClient) -> list:
    """The `values` of the one series of a matrix answer; [] when there is none."""
    data = payload.get("data")
    if not isinstance(data, dict):
        raise SourceError(f"query_range returned a malformed answer: data is {json_type(data)}")
    result = data.get("result")
    if not isinstance(result, list):
        raise SourceError(
            f"query_range returned a malformed answer: data.result is {json_type(result)}"
        )
    for series in result:
        if not isinstance(series, dict) or not isinstance(series.get("values"), list):
            raise SourceError(
                f"query_range returned a malformed series: {client.shown(str(series), 60)}"
            )
    if len(result) > 1:
        labels = client.shown(", ".join(str(s.get("metric", {})) for s in result[:3]), 200)
        raise SourceError(
            f"promql returns {len(result)} series ({labels}); aggregate it to one, e.g. sum(...)"
        )
    return result[0]["values"] if result else []


def json_type(value: Any) -> str:
    """A JSON value's kind, as an error message names it."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number")


def points(values: list, client: HttpClient) -> list[tuple[float, float]]:
    """(unix seconds, value) pairs. NaN, Prometheus's "no value", is dropped; +Inf and -Inf
    are kept, for the `finite` check to reject the metric's data."""
    pairs = [point(raw, client) for raw in values]
    return [(stamp, value) for stamp, value in pairs if not math.isnan(value)]


def point(raw: Any, client: HttpClient) -> tuple[float, float]:
    """One `[<unix seconds>, "<value>"]` pair of a series."""
    try:
        stamp, value = raw
        stamp, value = float(stamp), float(value)
    except (TypeError, ValueError, OverflowError):
        stamp = math.nan
    if not isinstance(raw, list) or not math.isfinite(stamp):
        raise SourceError(f"query_range returned a malformed point: {client.shown(str(raw), 60)}")
    return stamp, value
